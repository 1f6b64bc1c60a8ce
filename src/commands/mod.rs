//! One module per subcommand: each turns validated arguments into library calls and prints
//! what the user must see. `main` maps the result to an exit code.

pub mod authorize;
pub mod check;
pub mod report;
pub mod run;
pub mod statuses;

use crate::access::{Decision, Request};
use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::generation::Generation;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Report(args) => report::run(&args),
        Command::Statuses(args) => statuses::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Authorize(args) => authorize::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Watch(args) => crate::watch::run(&args),
    }
}

/// Decides a request and records the decision; a decision that cannot be recorded fails.
pub fn decide(
    generation: &Generation,
    request: &Request,
    command: &str,
) -> Result<Decision, Error> {
    let decision = generation.access.decide(request);
    generation
        .decision_log
        .record(&decision, command, &generation.hash)
        .map_err(|source| Error::DecisionLog {
            path: generation
                .decision_log
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        })?;
    Ok(decision)
}

/// At most this many skipped-record messages are printed; the rest are counted.
const MAX_PRINTED_PROBLEMS: usize = 100;

/// Prints the records and regions the input had to skip, and remarks about whole files.
pub fn print_input_problems(ingested: &crate::ingest::Ingested) {
    for p in ingested.problems.iter().take(MAX_PRINTED_PROBLEMS) {
        eprintln!("warning: {p}");
    }
    if ingested.problems.len() > MAX_PRINTED_PROBLEMS {
        eprintln!(
            "warning: ... and {} more malformed records",
            ingested.problems.len() - MAX_PRINTED_PROBLEMS
        );
    }
    for note in &ingested.notes {
        eprintln!("note: {note}");
    }
}
