//! `agent-audit explain`: the row covering an instant, traced back to its events and rules.

use std::io::Write;

use crate::cli::ExplainArgs;
use agent_audit::access::log::Asked;
use agent_audit::engine::Engine;
use agent_audit::error::Error;
use agent_audit::explain::{self, ExplainFormat};
use agent_audit::time::parse_instant;

pub fn run(args: &ExplainArgs) -> Result<(), Error> {
    let tz = args.timezone.unwrap_or(chrono_tz::Tz::UTC);
    let (at, note) = parse_instant(&args.at, tz).map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(note) = &note {
        eprintln!("note: {note}");
    }
    let engine = Engine::open_for_agent(args.config.as_deref(), &args.events, &args.agent, false)?;
    super::print_input_problems(engine.store(), false);
    let mut explanation = engine.explain(
        args.requester.as_deref(),
        &args.agent,
        at,
        tz,
        &Asked::by("explain"),
    )?;
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
