//! One module per subcommand: each turns validated arguments into library calls and prints
//! what the user must see. `main` maps the result to an exit code.

pub mod check;
pub mod report;
pub mod statuses;

use crate::cli::{Cli, Command};
use crate::error::Error;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Report(args) => report::run(&args),
        Command::Statuses(args) => statuses::run(&args),
        Command::Check(args) => check::run(&args),
    }
}
