//! The report as CSV (SPEC §5): one row per segment in the window, in time order.
//!
//! The column set and the header names are configurable; the default is
//! `Agent login,Status,Start time,End time,Duration,Duration (s),Flags`.

use std::io::{self, Write};

use super::Report;
use super::columns::ColumnSpec;

/// A cell as the CSV writes it: text that a spreadsheet would run as a formula (it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return: a login or a status name from the
/// events can) gets a leading `'`, as OWASP's CSV injection advice says; the CSV writer
/// quotes it when needed. No value of ours starts so (times, durations and flags do not).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes the report as CSV.
pub fn write<W: Write>(report: &Report, columns: &[ColumnSpec], out: W) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|c| neutralise(&c.header).into_owned()))?;
    for row in &report.rows {
        w.write_record(columns.iter().map(|c| {
            let cell = c.column.value(report, row);
            neutralise(&cell).into_owned()
        }))?;
    }
    // The writer's Drop would flush too, but would throw the error away.
    w.flush()?;
    Ok(())
}
