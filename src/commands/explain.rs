//! `agent-audit explain`: the row covering an instant, traced back to its events and rules.

use std::io::Write;

use crate::access::Request;
use crate::classify::classify;
use crate::cli::ExplainArgs;
use crate::error::Error;
use crate::explain::{self, ExplainFormat};
use crate::generation::Generation;
use crate::input;
use crate::store::ReadError;
use crate::time::parse_instant;

pub fn run(args: &ExplainArgs) -> Result<(), Error> {
    let generation = Generation::load(args.config.as_deref()).map_err(Error::Config)?;
    let tz = args.timezone.unwrap_or(chrono_tz::Tz::UTC);
    let (at, note) = parse_instant(&args.at, tz).map_err(Error::Usage)?;
    if let Some(note) = &note {
        eprintln!("note: {note}");
    }
    let sources = input::expand(&args.events).map_err(ReadError::from)?;
    let store = super::report::read_for_agent(&sources, &args.agent, false)?;
    super::print_input_problems(&store, false);

    let agent = store.find_agent(&args.agent)?;
    let date = at.in_zone(tz).date_naive();
    let request = Request::for_agent(args.requester.as_deref(), agent, date, tz);
    let decision = generation.decide(&request, "explain")?;
    if !decision.allowed {
        return Err(Error::Denied(Box::new(decision)));
    }

    let labels = classify(&store, &generation.classifier);
    let mut explanation = explain::explain(
        &store,
        &labels,
        &generation.classifier,
        generation.config.stale_after_ms,
        agent,
        at,
        tz,
    )?;
    explanation.configuration = generation.hash.clone();
    explanation.notes.extend(note);
    let text = match args.format {
        ExplainFormat::Text => explain::to_text(&explanation),
        ExplainFormat::Json => explain::to_json(&explanation).map_err(|e| Error::Write {
            path: "<stdout>".to_string(),
            source: e.into(),
        })?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Write {
            path: "<stdout>".to_string(),
            source,
        })
}
