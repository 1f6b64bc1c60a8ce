//! `agent-audit report`: one agent, one local day, one time zone.

use std::io::Write;

use crate::catalog::{Catalog, CatalogName};
use crate::cli::{Format, ReportArgs};
use crate::error::Error;
use crate::ingest::{IngestError, IngestOptions, Ingested, ingest};
use crate::input;
use crate::reduce::{DEFAULT_STALE_AFTER_MS, reduce};
use crate::report::{self, Report};
use crate::time::Window;

/// At most this many skipped-record messages are printed; the rest are counted.
const MAX_PRINTED_PROBLEMS: usize = 100;

pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let catalog = Catalog::builtin(CatalogName::default()).map_err(Error::Config)?;
    let window = Window::local_day(args.date, args.timezone)
        .ok_or_else(|| Error::Usage(format!("date `{}` is out of range", args.date)))?;
    let sources = input::expand(&args.events).map_err(IngestError::from)?;
    let ingested = ingest(
        &sources,
        &catalog,
        &IngestOptions {
            strict: args.strict,
        },
    )?;
    print_input_problems(&ingested);

    let report = audit(
        &ingested,
        &catalog,
        &args.agent,
        window,
        DEFAULT_STALE_AFTER_MS,
    )?;
    let mut bytes = Vec::new();
    let written = match args.format {
        Format::Csv => report::csv::write(&report, &report::csv::default_columns(), &mut bytes),
        Format::Json => report::json::write(&report, &mut bytes),
    };
    let out_name = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdout>".to_string());
    let write_error = |source| Error::Write {
        path: out_name.clone(),
        source,
    };
    written.map_err(write_error)?;
    match &args.out {
        Some(path) => report::save_atomically(path, &bytes).map_err(write_error)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .map_err(write_error)?;
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The report of the agent whose login (or ARN) is `agent`, for `window`.
pub fn audit(
    ingested: &Ingested,
    catalog: &Catalog,
    agent: &str,
    window: Window,
    stale_after_ms: i64,
) -> Result<Report, Error> {
    let agent = ingested.find_agent(agent)?;
    let timeline = reduce(&agent.events, &ingested.classes, stale_after_ms);
    let mut report = report::build(agent, &timeline, &ingested.classes, catalog, window);
    if ingested.stats.problems > 0 {
        report.warnings.push(format!(
            "{} malformed record(s) or region(s) in the input were skipped (listed on stderr)",
            ingested.stats.problems
        ));
    }
    Ok(report)
}

fn print_input_problems(ingested: &Ingested) {
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
