//! `agent-audit report`: one agent, one local day, one time zone.

use std::io::Write;

use crate::cli::ReportArgs;
use agent_audit::access::log::Asked;
use agent_audit::engine::{Engine, ReportQuery};
use agent_audit::error::Error;
use agent_audit::report::Format;

pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let engine = Engine::open_for_agent(
        args.config.as_deref(),
        &args.events,
        &args.agent,
        args.strict,
    )?;
    super::print_input_problems(engine.store(), false);
    let query = ReportQuery {
        agent: &args.agent,
        date: args.date,
        timezone: args.timezone,
        kind: args.kind,
        format: args.format,
    };
    let rendered = engine.report(args.requester.as_deref(), &query, &Asked::by("report"))?;
    // Under --strict, a day that no event of the agent reaches is not a report.
    if args.strict && rendered.report.coverage.outside_events() {
        print_warnings(&rendered.report);
        eprintln!(
            "error: --strict: no event of `{}` reaches {}; nothing was written",
            agent_audit::diagnostic::terminal_safe(&rendered.report.agent.login),
            args.date
        );
        return Err(Error::Shown(1));
    }
    let out_name = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdout>".to_string());
    let write_error = |source| Error::Write {
        path: out_name.clone(),
        source,
    };
    let bytes = &rendered.bytes;
    match &args.out {
        // A local `--out` must name an existing directory; an S3 key needs none.
        Some(path) if agent_audit::s3::is_s3(path) => {
            agent_audit::output::write_atomically(path, bytes, &engine.generation().config.s3)
                .map_err(write_error)?
        }
        Some(path) => agent_audit::report::save_atomically(path, bytes).map_err(write_error)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(write_error)?;
        }
    }
    let report = &rendered.report;
    print_warnings(report);
    // JSON and HTML state the coverage in the report itself; a CSV has no room for it.
    if args.format == Format::Csv
        && let Some(note) = report
            .coverage
            .partial_note(&report.agent.login, &report.window)
    {
        eprintln!("warning: {note}");
    }
    Ok(())
}

/// The report's warnings on standard error, made safe for a terminal.
fn print_warnings(report: &agent_audit::report::Report) {
    for w in &report.warnings {
        eprintln!("warning: {}", agent_audit::diagnostic::terminal_safe(w));
    }
}
