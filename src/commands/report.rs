//! `agent-audit report`: one agent, one local day, one time zone.

use std::io::Write;

use crate::access::Request;
use crate::catalog::Catalog;
use crate::classify::{Labels, classify};
use crate::cli::ReportArgs;
use crate::error::Error;
use crate::generation::Generation;
use crate::input;
use crate::reduce::reduce;
use crate::report::{self, Report};
use crate::store::{ReadError, ReadOptions, Store};
use crate::time::Window;

pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let generation = Generation::load(args.config.as_deref()).map_err(Error::Config)?;
    let window = Window::local_day(args.date, args.timezone)
        .ok_or_else(|| Error::Usage(format!("date `{}` is out of range", args.date)))?;
    crate::s3::configure(&generation.config.s3);
    let sources = input::expand(&args.events).map_err(ReadError::from)?;
    let store = read_for_agent(&sources, &args.agent, args.strict)?;
    super::print_input_problems(&store, false);

    let agent = store.find_agent(&args.agent)?;
    let request = Request::for_agent(args.requester.as_deref(), agent, args.date, args.timezone);
    let decision = generation.decide(&request, "report")?;
    if !decision.allowed {
        return Err(Error::Denied(Box::new(decision)));
    }

    let labels = classify(&store, &generation.classifier);
    let catalog = &generation.classifier.catalog;
    let stale_after = generation.config.stale_after_ms;
    let mut report = audit(&store, &labels, catalog, &args.agent, window, stale_after)?;
    report.configuration = generation.hash.clone();
    let rendered = report::render(&report, args.kind, args.format, &generation.config.columns);
    let out_name = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<stdout>".to_string());
    let write_error = |source| Error::Write {
        path: out_name.clone(),
        source,
    };
    let bytes = rendered.map_err(write_error)?;
    match &args.out {
        // A local `--out` must name an existing directory; an S3 key needs none.
        Some(path) if crate::s3::is_s3(path) => {
            crate::output::write_atomically(path, &bytes).map_err(write_error)?
        }
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
        eprintln!("warning: {}", crate::diagnostic::terminal_safe(w));
    }
    // JSON and HTML state the coverage in the report itself; a CSV has no room for it.
    if args.format == crate::cli::Format::Csv
        && let Some(note) = report
            .coverage
            .partial_note(&report.agent.login, &report.window)
    {
        eprintln!("warning: {note}");
    }
    Ok(())
}

/// Reads what one agent's report needs. Two quick passes find the agent's ARN (records that
/// mention its quoted login) and then parse only the records that mention that ARN; every
/// other agent's records are passed over unparsed. When the login is not found that way
/// (or cannot be searched for literally), everything is read, so the error can name the
/// closest logins. With `strict`, every record is parsed (and checked) in one pass.
pub fn read_for_agent(
    sources: &[input::Source],
    agent: &str,
    strict: bool,
) -> Result<Store, Error> {
    let quoted = |s: &str| format!("\"{s}\"").into_bytes();
    // Standard input, a FIFO or `<(…)` cannot be read twice.
    let rereadable = sources.iter().all(input::Source::is_rereadable);
    let literal = rereadable
        && !strict
        && !agent.is_empty()
        && !agent.contains(['"', '\\'])
        && agent.is_ascii();
    let options = |only_containing| ReadOptions {
        strict,
        only_containing,
        ..ReadOptions::default()
    };
    if literal {
        let arns: Vec<Vec<u8>> = if agent.starts_with("arn:") {
            vec![quoted(agent)]
        } else {
            let first = Store::read(sources, &options(vec![quoted(agent)]))?;
            first
                .agents
                .iter()
                .filter(|a| a.profile.login == agent)
                .map(|a| quoted(&a.arn))
                .collect()
        };
        if !arns.is_empty() {
            let found = Store::read(sources, &options(arns))?;
            if found.find_agent(agent).is_ok() {
                return Ok(found);
            }
        }
    }
    Ok(Store::read(sources, &options(Vec::new()))?)
}

/// The report of the agent whose login (or ARN) is `agent`, for `window`.
pub fn audit(
    store: &Store,
    labels: &Labels,
    catalog: &Catalog,
    agent: &str,
    window: Window,
    stale_after_ms: i64,
) -> Result<Report, Error> {
    let agent = store.find_agent(agent)?;
    let timeline = reduce(store, agent, labels, stale_after_ms);
    report::for_agent(agent, &timeline, store, &labels.classes, catalog, window)
        .map_err(Error::Script)
}
