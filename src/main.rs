//! The `agent-audit` binary: parse arguments, call the library's engine, print what the
//! user must see, map the outcome to an exit code. No report logic lives here: the library
//! (`agent_audit`) does that, so tests, benchmarks and `serve` call the same code.

mod cli;
mod commands;
mod serve;
mod watching;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Interrupted (Ctrl-C, SIGTERM), remove the temporary files being written first.
    // `serve` writes none: it stops gracefully on the signal itself.
    if !matches!(cli.command, cli::Command::Serve(_)) {
        agent_audit::tempfiles::remove_on_signals();
    }
    // Script engines recurse on the native stack: give the worker threads room (untouched
    // pages cost nothing) so scripts never need a stack segment of their own.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .build_global();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.needs_printing() {
                // Messages quote logins, file names and input: never let them steer the
                // terminal.
                let message = e.to_string();
                eprintln!(
                    "error: {}",
                    agent_audit::diagnostic::terminal_safe(&message)
                );
            }
            ExitCode::from(e.exit_code())
        }
    }
}
