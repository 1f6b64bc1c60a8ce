//! The `agent-audit` binary: parse arguments, call the library's engine, print what the
//! user must see, map the outcome to an exit code. No report logic lives here: the library
//! (`agent_audit`) does that, so tests, benchmarks and `serve` call the same code.

mod cli;
mod commands;
mod render;
mod serve;
mod watching;

use std::process::ExitCode;

use clap::Parser;

/// Whether a panic is `print!`'s on a closed standard output (`agent-audit … | head`):
/// the reader has all it wanted, which is no error to report.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout") && message.contains("os error 32")
}

fn main() -> ExitCode {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default_hook(info);
        }
    }));
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
        // As a program killed by SIGPIPE exits, for the shell (128 + 13), and silently.
        Ok(Err(panic)) if is_broken_pipe(panic.as_ref()) => return ExitCode::from(141),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => {
            eprintln!("error: cannot start the command's thread");
            return ExitCode::from(70);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(agent_audit::error::Error::Write { path, source })
            if path == "<stdout>" && source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::from(141)
        }
        Err(e) => {
            if e.needs_printing() {
                eprintln!("{}", render::error(&e));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
