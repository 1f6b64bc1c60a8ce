//! One module per subcommand: each turns validated arguments into library calls and prints
//! what the user must see. `main` maps the result to an exit code.

pub mod authorize;
pub mod check;
pub mod explain;
pub mod merge;
pub mod report;
pub mod run;
pub mod statuses;
pub mod verify;
pub mod watch;

use crate::cli::{Cli, Command};
use agent_audit::error::Error;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Report(args) => report::run(&args),
        Command::Statuses(args) => statuses::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Authorize(args) => authorize::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Verify(args) => verify::out_dir(&args),
        Command::VerifyLog(args) => verify::log(&args),
        Command::Serve(args) => crate::serve::run(match (&args.file, args.demo) {
            (Some(_), false) if args.listen.is_some() => {
                return Err(Error::Usage(
                    "`--listen` is for `serve --demo`; with a SERVE.toml, its `listen` key says where to listen".into(),
                ));
            }
            (Some(file), false) => crate::serve::Serving::File(file),
            (None, true) => crate::serve::Serving::Demo(
                args.listen
                    .unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 8080))),
            ),
            _ => {
                return Err(Error::Usage(
                    "`serve` takes a SERVE.toml, or `--demo` (and no SERVE.toml)".into(),
                ));
            }
        }),
    }
}

/// At most this many skipped-record messages are printed; the rest are counted.
const MAX_PRINTED_PROBLEMS: usize = 100;

/// Prints the records and regions the input had to skip, and remarks about whole files;
/// `quiet`, only how many were skipped.
pub fn print_input_problems(store: &agent_audit::store::Store, quiet: bool) {
    if quiet {
        if store.problems.total() > 0 {
            eprintln!(
                "warning: {} malformed record(s) or region(s) skipped (run without --quiet to list them)",
                store.problems.total()
            );
        }
        return;
    }
    let safe = agent_audit::diagnostic::terminal_safe;
    let kept = store.problems.kept();
    for p in kept.iter().take(MAX_PRINTED_PROBLEMS) {
        eprintln!("warning: {}", safe(&p.to_string()));
    }
    let more = store.problems.total() - kept.len().min(MAX_PRINTED_PROBLEMS) as u64;
    if more > 0 {
        eprintln!("warning: ... and {more} more malformed records");
    }
    for note in &store.notes {
        eprintln!("note: {}", safe(note));
    }
}

/// The `[s3]` settings of `--config` (the defaults without one), for the commands that
/// only read or write an `s3://` output (`merge`, `verify`).
pub fn s3_settings(config: Option<&std::path::Path>) -> Result<agent_audit::s3::Settings, Error> {
    let Some(config) = config else {
        return Ok(agent_audit::s3::Settings::default());
    };
    let generation =
        agent_audit::generation::Generation::load(Some(config)).map_err(Error::Config)?;
    Ok(generation.config.s3.clone())
}
