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
        .stack_size(agent_audit::script::THREAD_STACK)
        .build_global();
    // The command itself too (a single-agent report calls its hooks on this thread).
    let ran = std::thread::Builder::new()
        .name("agent-audit".into())
        .stack_size(agent_audit::script::THREAD_STACK)
        .spawn(move || commands::run(cli))
        .map(|t| t.join());
    let result = match ran {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => {
            eprintln!("error: cannot start the command's thread");
            return ExitCode::from(70);
        }
    };
    match result {
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
