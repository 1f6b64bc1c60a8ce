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

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::html::{
    color_style, escape, page_end, page_start, pct, px, report_footer, report_header, status_color,
    text_px, warnings_section,
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
fn no_data_segment(s: &mut String, uncovered: i64, day: i64) {
    if uncovered > 0 {
        segment(
            s,
            "No data",
            None,
            (uncovered, day),
            NO_DATA_STYLE,
            "seg nodata hatch",
        );
    }
}

/// One segment of a stacked bar: focusable, with a tooltip and an accessible name.
fn segment(
    s: &mut String,
    name: &str,
    n: Option<usize>,
    (ms, whole): (i64, i64),
    style: &str,
    class: &str,
) {
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
    let _ = write!(
        s,
        "<span class=\"{class}\" tabindex=\"0\" style=\"width:{}%;{style}\" title=\"{t}\" aria-label=\"{t}\">\
<span class=\"bl\" aria-hidden=\"true\">{}</span><span class=\"tip\" aria-hidden=\"true\"><strong>{}</strong><br>\
{} ({} s)<br>{share}% of the day</span></span>",
        pct(ms, whole),
        escape(&label),
        escape(name),
        format_hms(ms),
        format_seconds(ms),
        t = escape(&title),
    );
}

/// The summary page: the day as stacked bars (by status, and productive / non-productive),
/// then the table of statuses and the totals.
pub fn write_html<W: Write>(summary: &DaySummary, report: &Report, mut out: W) -> io::Result<()> {
    let mut s = page_start(&format!(
        "Time in status \u{2014} {} \u{2014} {} ({})",
        summary.agent, summary.date, summary.timezone
    ));
    let t = &summary.totals;
    s.push_str(&report_header(
        report,
        "Time in status",
        &[("Covered", format_hms(t.covered_ms))],
    ));
    let day = summary.day_ms;
    let uncovered = (day - t.covered_ms).max(0);
    s.push_str(
        "<main>\n<section aria-labelledby=\"bar-h\">\n<h2 id=\"bar-h\">The day by status</h2>\n\
<p class=\"hint\">The whole day from 00:00 to 24:00, each status's time side by side (not in \
time order: the audit report has the timeline). Point at a part or reach it with \
<kbd>Tab</kbd> for its time.</p>\n<div class=\"stack\" role=\"group\" aria-label=\"Time in each status\">",
    );
    for (i, st) in summary.statuses.iter().enumerate() {
        let color = status_color(&st.status, report.status(&st.status));
        segment(
            &mut s,
            &st.status,
            Some(i + 1),
            (st.duration_ms, day),
            &color_style(&color),
            "seg",
        );
    }
    no_data_segment(&mut s, uncovered, day);
    s.push_str("</div>\n<ul class=\"legend\" aria-label=\"Legend\">\n");
    for (i, st) in summary.statuses.iter().enumerate() {
        let color = status_color(&st.status, report.status(&st.status));
        let _ = writeln!(
            s,
            "<li><span class=\"sw\" data-n=\"{}\" style=\"{}\" aria-hidden=\"true\"></span>{} \
<span class=\"sub\">{}</span></li>",
            i + 1,
            color_style(&color),
            escape(&st.status),
            format_hms(st.duration_ms)
        );
    }
    if uncovered > 0 {
        let _ = writeln!(
            s,
            "<li><span class=\"sw hatch\" style=\"{NO_DATA_STYLE}\" aria-hidden=\"true\"></span>No data \
<span class=\"sub\">{}</span></li>",
            format_hms(uncovered)
        );
    }
    s.push_str("</ul>\n");

    s.push_str(
        "<h2 id=\"class-h\">Productive and non-productive</h2>\n<div class=\"stack\" role=\"group\" \
aria-labelledby=\"class-h\">",
    );
    for ((name, color), ms) in
        CLASS_COLORS
            .iter()
            .zip([t.productive_ms, t.non_productive_ms, t.unclassified_ms])
    {
        if ms > 0 {
            segment(&mut s, name, None, (ms, day), &color_style(color), "seg");
        }
    }
    no_data_segment(&mut s, uncovered, day);
    s.push_str("</div>\n</section>\n");

    let _ = write!(
        s,
        "<section aria-labelledby=\"status-h\">\n<h2 id=\"status-h\">Time in each status</h2>\n\
<div class=\"scroll\" role=\"region\" aria-labelledby=\"status-h\" tabindex=\"0\">\n<table class=\"statuses\">\n\
<caption>Sums of the audit's rows for {} on {} ({})</caption>\n\
<thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Counts as</th><th scope=\"col\">Online</th>\
<th scope=\"col\" class=\"num\">Duration</th><th scope=\"col\" class=\"num\">Duration (s)</th>\
<th scope=\"col\" class=\"num\">Share of covered</th></tr></thead>\n<tbody>\n",
        escape(&summary.agent),
        escape(&summary.date),
        escape(&summary.timezone)
    );
    for (i, st) in summary.statuses.iter().enumerate() {
        let color = status_color(&st.status, report.status(&st.status));
        let online = if st.online_ms == st.duration_ms {
            "yes"
        } else if st.online_ms == 0 {
            "no (offline)"
        } else {
            "partly"
        };
        let _ = writeln!(
            s,
            "<tr data-status=\"{name}\"><td><span class=\"sw\" data-n=\"{}\" style=\"{}\" aria-hidden=\"true\"></span>{name}</td>\
<td>{}</td><td>{online}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}%</td></tr>",
            i + 1,
            color_style(&color),
            counts_as(st.productive),
            format_hms(st.duration_ms),
            format_seconds(st.duration_ms),
            share(st.duration_ms, t.covered_ms),
            name = escape(&st.status),
        );
    }
    s.push_str("</tbody>\n</table>\n</div>\n</section>\n");

    s.push_str(
        "<section aria-labelledby=\"totals-h\">\n<h2 id=\"totals-h\">Totals</h2>\n\
<div class=\"scroll\" role=\"region\" aria-labelledby=\"totals-h\" tabindex=\"0\">\n<table class=\"totals\">\n\
<caption>Productive, non-productive and unclassified add up to the covered time</caption>\n\
<thead><tr><th scope=\"col\">Total</th><th scope=\"col\" class=\"num\">Duration</th>\
<th scope=\"col\" class=\"num\">Duration (s)</th><th scope=\"col\" class=\"num\">Share of covered</th>\
<th scope=\"col\">What it counts</th></tr></thead>\n<tbody>\n",
    );
    let explain = [
        "statuses defined with productive = true",
        "statuses defined with productive = false",
        "statuses without the productive attribute, or not defined",
        "every status that is not an OFFLINE-type status",
        "the After contact work status",
        "the part of the day the data covers",
    ];
    for ((name, ms), what) in t.named().into_iter().zip(explain) {
        let _ = writeln!(
            s,
            "<tr data-total=\"{name}\"><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{}%</td><td>{what}</td></tr>",
            capitalize(name),
            format_hms(ms),
            format_seconds(ms),
            share(ms, t.covered_ms),
        );
    }
    s.push_str("</tbody>\n</table>\n</div>\n</section>\n");
    s.push_str(&warnings_section(&summary.warnings));
    s.push_str("</main>\n");
    s.push_str(&page_end(&report_footer(report)));
    out.write_all(s.as_bytes())?;
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
