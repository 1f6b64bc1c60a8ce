//! The time-in-status summary (SPEC §5, `--kind summary`): for one agent and one local day,
//! the time spent in each status and the day's totals, in CSV, JSON and HTML.
//!
//! This module owns the computation and its three renderers. A summary is computed from a
//! built [`Report`] — the very rows the audit prints — never from the events, so each
//! status's time is exactly the sum of its audit rows. Totals:
//!
//! - **productive**, **non-productive**, **unclassified**: by the `productive` attribute of
//!   the status's definition (`true`, `false`, absent or undefined status); they add up to
//!   the covered time;
//! - **online**: rows whose label is not from an OFFLINE-type status;
//! - **after contact work**: rows labelled `After contact work`;
//! - **covered**: every row, the part of the day the data covers.

use std::io::{self, Write};

use serde::Serialize;

use maud::{Markup, html};

use super::html::{
    color_style, page, pct, px, report_footer, report_header, status_color, text_px,
    warnings_section,
};
use super::{Report, format_hms, format_seconds};

/// The label whose time is the after contact work total.
pub const AFTER_CONTACT_WORK: &str = "After contact work";

/// One status's time in the day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusTime {
    pub status: String,
    pub duration_ms: i64,
    /// The definition's `productive` attribute; `None`: unclassified.
    pub productive: Option<bool>,
    /// The part of `duration_ms` in rows that are not from an OFFLINE-type status.
    pub online_ms: i64,
}

/// The day's totals, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub productive_ms: i64,
    pub non_productive_ms: i64,
    pub unclassified_ms: i64,
    pub online_ms: i64,
    pub after_contact_work_ms: i64,
    pub covered_ms: i64,
}

/// One agent's day, summed by status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaySummary {
    pub agent: String,
    pub date: String,
    pub timezone: String,
    /// The length of the local day (23, 24 or 25 hours).
    pub day_ms: i64,
    /// In the report's status order (display order, then first appearance).
    pub statuses: Vec<StatusTime>,
    pub totals: Totals,
    pub warnings: Vec<String>,
}

/// Sums `report`'s rows by status.
pub fn compute(report: &Report) -> DaySummary {
    let mut statuses: Vec<StatusTime> = report
        .statuses
        .iter()
        .map(|s| StatusTime {
            status: s.label.clone(),
            duration_ms: 0,
            productive: s.productive,
            online_ms: 0,
        })
        .collect();
    let mut totals = Totals::default();
    for row in &report.rows {
        let ms = row.duration_ms();
        let i = match statuses.iter().position(|s| s.status == row.status) {
            Some(i) => i,
            // Every label of the rows is in `report.statuses`; this only guards the sum.
            None => {
                statuses.push(StatusTime {
                    status: row.status.clone(),
                    duration_ms: 0,
                    productive: None,
                    online_ms: 0,
                });
                statuses.len() - 1
            }
        };
        let entry = &mut statuses[i];
        entry.duration_ms += ms;
        match entry.productive {
            Some(true) => totals.productive_ms += ms,
            Some(false) => totals.non_productive_ms += ms,
            None => totals.unclassified_ms += ms,
        }
        if !row.offline {
            entry.online_ms += ms;
            totals.online_ms += ms;
        }
        if row.status == AFTER_CONTACT_WORK {
            totals.after_contact_work_ms += ms;
        }
        totals.covered_ms += ms;
    }
    DaySummary {
        agent: report.agent.login.clone(),
        date: report.window.date.format("%Y-%m-%d").to_string(),
        timezone: report.window.tz.name().to_string(),
        day_ms: report.window.len_ms(),
        statuses,
        totals,
        warnings: report.warnings.clone(),
    }
}

impl Totals {
    /// The totals with their CSV names, in print order.
    pub fn named(&self) -> [(&'static str, i64); 6] {
        [
            ("productive", self.productive_ms),
            ("non-productive", self.non_productive_ms),
            ("unclassified", self.unclassified_ms),
            ("online", self.online_ms),
            ("after contact work", self.after_contact_work_ms),
            ("covered", self.covered_ms),
        ]
    }
}

/// `Agent login,Date,Time zone,Status,Duration,Duration (s)`: one row per status, then one
/// row per total with `Total: productive` (…) as its status.
pub fn write_csv<W: Write>(summary: &DaySummary, out: W) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record([
        "Agent login",
        "Date",
        "Time zone",
        "Status",
        "Duration",
        "Duration (s)",
    ])?;
    let mut line = |status: &str, ms: i64| {
        let neutralise = super::csv::neutralise;
        w.write_record([
            neutralise(&summary.agent).as_ref(),
            summary.date.as_str(),
            summary.timezone.as_str(),
            neutralise(status).as_ref(),
            format_hms(ms).as_str(),
            format_seconds(ms).as_str(),
        ])
    };
    for s in &summary.statuses {
        line(&s.status, s.duration_ms)?;
    }
    for (name, ms) in summary.totals.named() {
        line(&format!("Total: {name}"), ms)?;
    }
    w.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    agent: &'a str,
    date: &'a str,
    timezone: &'a str,
    statuses: Vec<JsonStatus<'a>>,
    totals: Totals,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonStatus<'a> {
    status: &'a str,
    duration_ms: i64,
    productive: Option<bool>,
}

/// `{"agent", "date", "timezone", "statuses": [{"status", "duration_ms", "productive"}],
/// "totals": {"productive_ms", …, "covered_ms"}, "warnings"}`, pretty-printed.
pub fn write_json<W: Write>(summary: &DaySummary, mut out: W) -> io::Result<()> {
    let doc = JsonSummary {
        agent: &summary.agent,
        date: &summary.date,
        timezone: &summary.timezone,
        statuses: summary
            .statuses
            .iter()
            .map(|s| JsonStatus {
                status: &s.status,
                duration_ms: s.duration_ms,
                productive: s.productive,
            })
            .collect(),
        totals: summary.totals,
        warnings: &summary.warnings,
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Nominal width in CSS pixels of the stacked bars, to decide which labels fit inside.
const BAR_PX: f64 = 900.0;

/// The colours of the productive / non-productive / unclassified bar.
const CLASS_COLORS: [(&str, &str); 3] = [
    ("Productive", "#2166ac"),
    ("Non-productive", "#f4a582"),
    ("Unclassified", "#d9d9d9"),
];

fn counts_as(productive: Option<bool>) -> &'static str {
    match productive {
        Some(true) => "productive",
        Some(false) => "non-productive",
        None => "unclassified",
    }
}

/// Colours of the hatched "No data" part of a bar: time the day had but the events did not cover.
const NO_DATA_STYLE: &str = "--c:#f0f0f0;--t:#000";

/// The "No data" segment closing a bar, when part of the day is uncovered.
fn no_data_segment(uncovered: i64, day: i64) -> Markup {
    html! {
        @if uncovered > 0 {
            (segment("No data", None, (uncovered, day), NO_DATA_STYLE, "seg nodata hatch"))
        }
    }
}

/// One segment of a stacked bar: focusable, with a tooltip and an accessible name.
fn segment(
    name: &str,
    n: Option<usize>,
    (ms, whole): (i64, i64),
    style: &str,
    class: &str,
) -> Markup {
    let width_px = px(ms, whole, BAR_PX);
    let share = pct(ms, whole);
    let share = share.trim_end_matches('0').trim_end_matches('.');
    let full = match n {
        Some(n) => format!("{n} {name} {}", format_hms(ms)),
        None => format!("{name} {}", format_hms(ms)),
    };
    let short = n.map(|n| n.to_string()).unwrap_or_default();
    let label = if width_px >= text_px(&full) {
        full
    } else if width_px >= text_px(&short) {
        short
    } else {
        String::new()
    };
    let title = format!(
        "{name}: {} ({} s), {share}% of the day",
        format_hms(ms),
        format_seconds(ms)
    );
    html! {
        span class=(class) tabindex="0" style={ "width:" (pct(ms, whole)) "%;" (style) }
            title=(title) aria-label=(title) {
            span.bl aria-hidden="true" { (label) }
            span.tip aria-hidden="true" {
                strong { (name) } br;
                (format_hms(ms)) " (" (format_seconds(ms)) " s)" br;
                (share) "% of the day"
            }
        }
    }
}

/// The summary page: the day as stacked bars (by status, and productive / non-productive),
/// then the table of statuses and the totals.
pub fn write_html<W: Write>(summary: &DaySummary, report: &Report, mut out: W) -> io::Result<()> {
    let title = format!(
        "Time in status \u{2014} {} \u{2014} {} ({})",
        summary.agent, summary.date, summary.timezone
    );
    let t = &summary.totals;
    let day = summary.day_ms;
    let uncovered = (day - t.covered_ms).max(0);
    let color_of = |status: &str| status_color(status, report.status(status));
    let classes = CLASS_COLORS
        .iter()
        .zip([t.productive_ms, t.non_productive_ms, t.unclassified_ms])
        .filter(|(_, ms)| *ms > 0);
    let explain = [
        "statuses defined with productive = true",
        "statuses defined with productive = false",
        "statuses without the productive attribute, or not defined",
        "every status that is not an OFFLINE-type status",
        "the After contact work status",
        "the part of the day the data covers",
    ];
    let body = html! {
        (report_header(report, "Time in status", &[("Covered", html! { (format_hms(t.covered_ms)) })]))
        main {
            section aria-labelledby="bar-h" {
                h2 #bar-h { "The day by status" }
                p.hint {
                    "The whole day from 00:00 to 24:00, each status's time side by side (not in time order: the audit report has the timeline). Point at a part or reach it with "
                    kbd { "Tab" } " for its time."
                }
                div.stack role="group" aria-label="Time in each status" {
                    @for (i, st) in summary.statuses.iter().enumerate() {
                        (segment(&st.status, Some(i + 1), (st.duration_ms, day), &color_style(&color_of(&st.status)), "seg"))
                    }
                    (no_data_segment(uncovered, day))
                }
                ul.legend aria-label="Legend" {
                    @for (i, st) in summary.statuses.iter().enumerate() {
                        li {
                            span.sw data-n=(i + 1) style=(color_style(&color_of(&st.status))) aria-hidden="true" {}
                            (st.status) " " span.sub { (format_hms(st.duration_ms)) }
                        }
                    }
                    @if uncovered > 0 {
                        li {
                            span.sw.hatch style=(NO_DATA_STYLE) aria-hidden="true" {}
                            "No data " span.sub { (format_hms(uncovered)) }
                        }
                    }
                }
                h2 #class-h { "Productive and non-productive" }
                div.stack role="group" aria-labelledby="class-h" {
                    @for ((name, color), ms) in classes {
                        (segment(name, None, (ms, day), &color_style(color), "seg"))
                    }
                    (no_data_segment(uncovered, day))
                }
            }
            section aria-labelledby="status-h" {
                h2 #status-h { "Time in each status" }
                div.scroll role="region" aria-labelledby="status-h" tabindex="0" {
                    table.statuses {
                        caption { "Sums of the audit's rows for " (summary.agent) " on " (summary.date) " (" (summary.timezone) ")" }
                        thead { tr {
                            th scope="col" { "Status" } th scope="col" { "Counts as" }
                            th scope="col" { "Online" } th.num scope="col" { "Duration" }
                            th.num scope="col" { "Duration (s)" } th.num scope="col" { "Share of covered" }
                        } }
                        tbody {
                            @for (i, st) in summary.statuses.iter().enumerate() {
                                tr data-status=(st.status) {
                                    td {
                                        span.sw data-n=(i + 1) style=(color_style(&color_of(&st.status))) aria-hidden="true" {}
                                        (st.status)
                                    }
                                    td { (counts_as(st.productive)) }
                                    td {
                                        @if st.online_ms == st.duration_ms { "yes" }
                                        @else if st.online_ms == 0 { "no (offline)" }
                                        @else { "partly" }
                                    }
                                    td.num { (format_hms(st.duration_ms)) }
                                    td.num { (format_seconds(st.duration_ms)) }
                                    td.num { (share(st.duration_ms, t.covered_ms)) "%" }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="totals-h" {
                h2 #totals-h { "Totals" }
                div.scroll role="region" aria-labelledby="totals-h" tabindex="0" {
                    table.totals {
                        caption { "Productive, non-productive and unclassified add up to the covered time" }
                        thead { tr {
                            th scope="col" { "Total" } th.num scope="col" { "Duration" }
                            th.num scope="col" { "Duration (s)" } th.num scope="col" { "Share of covered" }
                            th scope="col" { "What it counts" }
                        } }
                        tbody {
                            @for ((name, ms), what) in t.named().into_iter().zip(explain) {
                                tr data-total=(name) {
                                    th scope="row" { (capitalize(name)) }
                                    td.num { (format_hms(ms)) }
                                    td.num { (format_seconds(ms)) }
                                    td.num { (share(ms, t.covered_ms)) "%" }
                                    td { (what) }
                                }
                            }
                        }
                    }
                }
            }
            (warnings_section(&summary.warnings))
        }
        footer { (report_footer(report)) }
    };
    out.write_all(page(&title, body).as_bytes())?;
    out.flush()
}

/// A share with one decimal, `0.0` of nothing.
fn share(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0.0".to_string();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
