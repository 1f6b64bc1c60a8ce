//! The report as one JSON document (SPEC §5):
//! `{"agent", "date", "timezone", "rows": [{"status", "start", "end", "duration_ms",
//! "flags"}], "warnings"}`.

use std::io::{self, Write};

use serde::Serialize;

use super::Report;

#[derive(Serialize)]
struct JsonReport<'a> {
    agent: &'a str,
    date: String,
    timezone: &'a str,
    rows: Vec<JsonRow<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonRow<'a> {
    status: &'a str,
    start: String,
    end: String,
    duration_ms: i64,
    flags: Vec<&'static str>,
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write<W: Write>(report: &Report, mut out: W) -> io::Result<()> {
    let tz = report.window.tz;
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
            })
            .collect(),
        warnings: &report.warnings,
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}
