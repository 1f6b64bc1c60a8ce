//! The report as one JSON document (SPEC §5):
//! `{"agent", "date", "timezone", "rows": [{"status", "start", "end", "duration_ms",
//! "flags", "events", "first_event_id", "rule", …}], "warnings", "coverage"}`: every row
//! carries its lineage (SPEC §3.8). Rows also carry the extra columns the configuration
//! asks for (`channel`, `contact_id`, `agent_name`, `hierarchy_N`), keyed by column name.

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use super::columns::ColumnSpec;

#[derive(Serialize)]
struct JsonReport<'a> {
    agent: &'a str,
    date: String,
    timezone: &'a str,
    rows: Vec<JsonRow<'a>>,
    warnings: &'a [String],
    coverage: JsonCoverage,
}

/// SPEC §5: the span of the agent's events, whatever the window, and how many fall in it.
#[derive(Serialize)]
struct JsonCoverage {
    first_event: Option<String>,
    last_event: Option<String>,
    events_in_window: usize,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    status: &'a str,
    start: String,
    end: String,
    duration_ms: i64,
    flags: Vec<&'static str>,
    /// Lineage (SPEC §3.8), in every row.
    events: usize,
    first_event_id: Option<&'a str>,
    rule: &'a str,
    /// The configuration's extra columns; an empty cell is `null`.
    #[serde(flatten)]
    columns: serde_json::Map<String, serde_json::Value>,
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write<W: Write>(report: &Report, columns: &[ColumnSpec], mut out: W) -> io::Result<()> {
    let tz = report.window.tz;
    let extra: Vec<&ColumnSpec> = columns
        .iter()
        .filter(|c| !c.column.in_every_json_row())
        .collect();
    let coverage = &report.coverage;
    let doc = JsonReport {
        agent: &report.agent.login,
        date: report.window.date.format("%Y-%m-%d").to_string(),
        timezone: tz.name(),
        rows: report
            .rows
            .iter()
            .map(|r| JsonRow {
                status: &r.status,
                start: r.start.format_local(tz),
                end: r.end.format_local(tz),
                duration_ms: r.duration_ms(),
                flags: r.flags.names(),
                events: r.events,
                first_event_id: r.first_event_id.as_deref(),
                rule: &r.rule,
                columns: extra
                    .iter()
                    .map(|c| {
                        let value = c.column.value(report, r);
                        let value = if value.is_empty() {
                            serde_json::Value::Null
                        } else {
                            serde_json::Value::String(value)
                        };
                        (c.column.key(), value)
                    })
                    .collect(),
            })
            .collect(),
        warnings: &report.warnings,
        coverage: JsonCoverage {
            first_event: coverage.first_event.map(|t| t.format_local(tz)),
            last_event: coverage.last_event.map(|t| t.format_local(tz)),
            events_in_window: coverage.events_in_window,
        },
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}
