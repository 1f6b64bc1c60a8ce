//! The report as one self-contained HTML page (SPEC §5), and the pieces every HTML page of
//! the project shares: the page, status colours, the style sheet, the page header.
//!
//! This module owns the audit page (a timeline of the day with one lane per status and one
//! block per row, then the same table as the CSV, then the warnings) and the batch index
//! page. The summary page (`summary.rs`) is drawn with the helpers here.
//!
//! A page needs nothing but itself: the CSS is inline, there is no script, no font, no
//! image and no address of any kind, so it opens the same offline, from a mail attachment
//! or from an archive. Pages are `maud` templates, checked when the library is compiled: every
//! value spliced into one (status labels, logins, names, warnings) is escaped unless it is
//! marked as markup, so none can be forgotten; colours are used only when they are `#rrggbb`. Statuses never depend on colour alone: each has a lane with its name, an
//! index number shown on its blocks, and the rows' flags are text badges as well as
//! patterns on the blocks.

use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Timelike};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::columns::{Column, ColumnSpec};
use super::{Flags, Report, Row, StatusInfo, format_hms, format_seconds};
use crate::catalog::definition::is_hex_color;
use crate::time::{Timestamp, Window};

/// `s` percent-encoded for a relative URL path: every byte but unreserved characters and
/// `/` is encoded (an attribute escapes it again, which leaves it as it is).
pub fn url_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Colours for labels the catalogue gives none: readable, distinct from one another, and
/// always the same for the same label.
/// None of them is, or is close to, a colour of the shipped catalogues.
const PALETTE: [&str; 9] = [
    "#01665e", "#dfc27d", "#8e0152", "#b15928", "#6a3d9a", "#ffff99", "#b2df8a", "#c51b7d",
    "#543005",
];

/// The colour of `label`: its definition's `color`, otherwise one of [`PALETTE`] chosen by a
/// hash of the label (FNV-1a), so a label keeps its colour from one report to the next.
pub fn status_color(label: &str, info: Option<&StatusInfo>) -> String {
    if let Some(c) = info.and_then(|i| i.color.as_deref())
        && is_hex_color(c)
    {
        return c.to_ascii_lowercase();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let i = usize::try_from(hash % PALETTE.len() as u64).unwrap_or(0);
    PALETTE[i].to_string()
}

/// Black or white, whichever contrasts more with the `#rrggbb` background (WCAG relative
/// luminance).
pub fn text_color(background: &str) -> &'static str {
    let channel = |i: usize| -> f64 {
        let v = background
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, |v| f64::from(v) / 255.0);
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with black: (l + 0.05) / 0.05; with white: 1.05 / (l + 0.05).
    if (l + 0.05) * (l + 0.05) >= 0.05 * 1.05 {
        "#000"
    } else {
        "#fff"
    }
}

/// The shared style sheet: system fonts, high-contrast text, tables that scroll sideways on
/// a phone, the timeline's lanes, blocks, patterns and tooltips.
const CSS: &str = r#"
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--soft:#f3f3f3;--lane:18rem}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
.page{max-width:80rem;margin:0 auto;padding:1.25rem 1.25rem 3rem}
h1{font-size:1.6rem;margin:.1rem 0 .6rem;line-height:1.2}
.sub{font-weight:400;color:var(--muted)}
h2{font-size:1.15rem;margin:2rem 0 .5rem}
.kicker{margin:0;text-transform:uppercase;letter-spacing:.06em;font-size:.78rem;font-weight:600;color:var(--muted)}
.meta{display:flex;flex-wrap:wrap;gap:.4rem 1.6rem;margin:0;padding:.7rem .9rem;background:var(--soft);border:1px solid var(--line);border-radius:6px}
.meta div{min-width:8rem}
.meta dt{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.meta dd{margin:0;font-weight:600;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.hint{color:var(--muted);margin:.2rem 0 .6rem;font-size:.9rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px}
.scroll:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
.tl{min-width:70rem;padding:.4rem .5rem .4rem 0;position:relative}
.lane{display:flex;align-items:stretch;min-height:2rem;border-bottom:1px solid #e6e6e6}
.lane:last-child{border-bottom:0}
.lh{position:sticky;left:0;z-index:10;flex:none;width:var(--lane);display:flex;align-items:center;gap:.45rem;padding:.15rem .6rem;background:#fff;border-right:1px solid var(--line);font-size:.88rem}
.lh .ln{flex:1 1 auto;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-weight:600}
.lh .lt{flex:none;font-variant-numeric:tabular-nums;color:var(--muted);font-size:.8rem}
.track{position:relative;flex:1 1 auto;min-height:2rem;background-image:repeating-linear-gradient(to right,#e4e4e4 0 1px,transparent 1px calc(100% / var(--hours)))}
.axis{min-height:1.6rem;border-bottom:1px solid var(--line)}
.axis .track{background:none}
.tick{position:absolute;top:.25rem;transform:translateX(-50%);font-size:.75rem;color:var(--muted);font-variant-numeric:tabular-nums;white-space:nowrap}
.tick.first{transform:none}.tick.last{transform:translateX(-100%)}
.overview .lh{font-weight:600}
.ob{position:absolute;top:.3rem;bottom:.3rem;min-width:2px;background-color:var(--c)}
.b{position:absolute;top:.3rem;bottom:.3rem;min-width:3px;border-radius:2px;background-color:var(--c);color:var(--t);text-decoration:none;box-shadow:inset 0 0 0 1px rgba(0,0,0,.28)}
.b:hover,.b:focus{z-index:15}
.b:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
.bl{display:block;overflow:hidden;white-space:nowrap;font-size:.75rem;font-weight:600;line-height:1.4rem;padding:0 .3rem}
.tip{display:none;position:absolute;top:100%;left:0;margin-top:.35rem;z-index:30;min-width:15rem;padding:.45rem .6rem;border-radius:5px;background:#1b1b1b;color:#fff;font-size:.8rem;line-height:1.45;white-space:nowrap;box-shadow:0 3px 10px rgba(0,0,0,.3)}
.tip.r{left:auto;right:0}
.tip.up{top:auto;bottom:100%;margin:0 0 .35rem}
.tip strong{font-size:.88rem}
.tip .lin{color:#cfcfcf;font-size:.74rem}
.b:hover .tip,.b:focus .tip{display:block}
.gap,.hatch{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.75) 0 2px,rgba(0,0,0,.5) 2px 3.5px,transparent 3.5px 8px)}
.b.open{border:2px dashed #000}
.b.continued{border-top-left-radius:0;border-bottom-left-radius:0;border-left:4px double #000}
.b.truncated{border-top-right-radius:0;border-bottom-right-radius:0;border-right:4px double #000}
.sw{display:inline-flex;align-items:center;justify-content:center;flex:none;min-width:1.45rem;height:1.25rem;padding:0 .2rem;border-radius:3px;background:var(--c);color:var(--t);font-size:.72rem;font-weight:700;box-shadow:inset 0 0 0 1px rgba(0,0,0,.3);vertical-align:middle}
.sw[data-n]::before{content:attr(data-n)}
td .sw{margin-right:.4rem}
.flags{list-style:none;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;padding:0;margin:.6rem 0 0;font-size:.85rem;color:var(--muted)}
.flags li{display:flex;align-items:center;gap:.4rem}
.sample{display:inline-block;width:2.2rem;height:1rem;background-color:#8fb3d9}
.flag{display:inline-block;margin:0 .25rem .1rem 0;padding:0 .45rem;border:1px solid #6b6b6b;border-radius:999px;background:#f5f5f5;color:#1a1a1a;font-size:.78rem;font-weight:600;white-space:nowrap}
.flag.gap{background-color:#e9e9e9}
table{border-collapse:collapse;width:100%;font-size:.88rem}
caption{text-align:left;padding:.5rem .7rem;color:var(--muted);font-size:.85rem}
th,td{padding:.35rem .7rem;border-top:1px solid #e1e1e1;text-align:left;white-space:nowrap;vertical-align:middle}
thead th{background:var(--soft);border-top:0;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:#333}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.time{font-variant-numeric:tabular-nums}
td.note{white-space:normal;min-width:18rem;overflow-wrap:anywhere}
tbody tr:nth-child(even){background-color:#fafafa}
tbody tr:target{background:#fff3b0;outline:3px solid #1a56db;outline-offset:-3px}
tfoot th,tfoot td{border-top:2px solid #999;font-weight:600}
.stack{display:flex;height:2.6rem;margin:.3rem 0;border:1px solid #888;border-radius:4px;background:#fff;position:relative}
.seg{position:relative;flex:0 1 auto;min-width:3px;background-color:var(--c);color:var(--t);box-shadow:inset -1px 0 0 rgba(255,255,255,.8)}
.seg:hover,.seg:focus{z-index:15}
.seg:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
.seg .bl{line-height:2.5rem}
.seg:hover .tip,.seg:focus .tip{display:block}
.nodata{background-color:#f0f0f0;color:#333}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.35rem 1.1rem;padding:0;margin:.5rem 0 0;font-size:.88rem}
.legend li{display:flex;align-items:center;gap:.4rem}
.status-written{background:#dff3e1;border-color:#2e7d32}
.status-denied{background:#fde2cf;border-color:#b45309}
.status-failed{background:#fbd5d5;border-color:#b91c1c}
.warnings li{margin:.2rem 0;overflow-wrap:anywhere}
footer{margin-top:2.5rem;padding-top:.8rem;border-top:1px solid var(--line);color:var(--muted);font-size:.8rem}
.empty{padding:1rem;color:var(--muted)}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){.page{padding:.75rem}.meta div{min-width:45%}:root{--lane:10.5rem}.lh .lt{display:none}}
@media print{.scroll{overflow:visible;border:0}.tl{min-width:0;padding-bottom:.4rem}.tip{display:none!important}}
@media (forced-colors:active){.b,.seg,.sw,.ob{forced-color-adjust:none}}
"#;

/// What every report page's body starts and ends with, around the report itself.
/// Where a page's own content starts and ends: what [`Embedded`] takes out of a page.
const BODY_START: &str = "<body><div class=\"page\">";
const BODY_END: &str = "</div></body></html>";

/// A whole page: doctype, head with `title` and the style sheet, then `body` inside
/// `<div class="page">`, ending in a line break like any text file.
pub(crate) fn page(title: &str, body: Markup) -> String {
    let mut page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "agent-audit " (env!("CARGO_PKG_VERSION")) };
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { div.page { (body) } }
        }
    }
    .into_string();
    page.push('\n');
    page
}

/// An HTML report (of [`write`] or the summary's) for a page of someone else's: the style
/// sheet it needs, and what its own page has inside `<div class="page">` (the report's
/// header, main part and footer, escaped as in the file).
pub struct Embedded {
    pub css: &'static str,
    pub body: String,
}

impl Embedded {
    /// The parts of `page`, a report page this module wrote.
    pub fn of(page: &str) -> Option<Embedded> {
        let start = page.find(BODY_START)? + BODY_START.len();
        let end = page.rfind(BODY_END)?;
        Some(Embedded {
            css: CSS,
            body: page.get(start..end)?.to_string(),
        })
    }
}

/// The footer of a report page.
pub(crate) fn report_footer(report: &Report) -> Markup {
    html! {
        "Made by agent-audit " (env!("CARGO_PKG_VERSION")) " from the agent event stream"
        @if !report.configuration.is_empty() {
            ", configuration " code { (report.configuration) }
        }
        ". Times are local to " (report.window.tz.name())
        "; durations are truncated to the second (" code { "HH:MM:SS" }
        ") or exact to the millisecond (seconds)."
    }
}

/// `24-hour day`, `25-hour day`, or `23 h 30 min day` where a zone moves by half an hour.
pub fn day_length(window: &Window) -> String {
    let minutes = window.len_ms() / 60_000;
    if minutes % 60 == 0 {
        format!("{}-hour day", minutes / 60)
    } else {
        format!("{} h {} min day", minutes / 60, minutes % 60)
    }
}

/// `UTC−05:00`, or `UTC−04:00 → UTC−05:00` on a day the clocks change.
fn offsets(window: &Window) -> String {
    let at = |t: Timestamp| {
        let off = t.in_zone(window.tz).format("%:z").to_string();
        format!("UTC{}", off.replacen('-', "\u{2212}", 1))
    };
    let first = at(window.start);
    let last = at(Timestamp(window.end.0 - 1));
    if first == last {
        first
    } else {
        format!("{first} \u{2192} {last}")
    }
}

/// The page header of a report: what it is (`kind`), whose day, which zone and
/// configuration; `extra` items go before the events.
pub(crate) fn report_header(report: &Report, kind: &str, extra: &[(&str, Markup)]) -> Markup {
    let w = &report.window;
    let login = &report.agent.login;
    let name = report.agent.full_name();
    let mut items: Vec<(&str, Markup)> = vec![
        ("Agent login", html! { (login) }),
        (
            "Agent name",
            html! { @if name.is_empty() { "\u{2014}" } @else { (name) } },
        ),
        (
            "Date",
            html! {
                (w.date.format("%Y-%m-%d")) " "
                span.sub { "(" (w.date.format("%A")) ")" }
            },
        ),
        ("Time zone", html! { (w.tz.name()) " (" (offsets(w)) ")" }),
        ("Day", html! { (day_length(w)) }),
    ];
    items.extend(extra.iter().cloned());
    items.push(("Events", coverage_line(report)));
    items.push((
        "Configuration",
        html! {
            @if report.configuration.is_empty() { "\u{2014}" }
            @else { code { (report.configuration) } }
        },
    ));
    html! {
        header {
            p.kicker { (kind) }
            h1 {
                (login)
                @if !name.is_empty() { " " span.sub { (name) } }
            }
            dl.meta {
                @for (dt, dd) in &items {
                    div { dt { (dt) } dd { (dd) } }
                }
            }
        }
    }
}

/// The header's line on coverage (SPEC §5): how many of the agent's events fall in the
/// day, and the span of all of them, so a reader sees which rows the events show and which
/// are inferred.
fn coverage_line(report: &Report) -> Markup {
    let c = &report.coverage;
    let tz = report.window.tz;
    html! {
        @match c.events_in_window {
            0 => "none on this day: every row is inferred",
            n => { (n) " on this day" },
        }
        @if let (Some(first), Some(last)) = (c.first_event, c.last_event) {
            " "
            span.sub {
                "(the agent's events run from " (first.format_local(tz)) " to "
                (last.format_local(tz)) ")"
            }
        }
    }
}

/// The warnings section, if any.
pub(crate) fn warnings_section(warnings: &[String]) -> Markup {
    html! {
        @if !warnings.is_empty() {
            section.warnings aria-labelledby="warnings-h" {
                h2 #warnings-h { "Warnings" }
                ul { @for w in warnings { li { (w) } } }
            }
        }
    }
}

/// A percentage of `whole` with four decimals, for CSS positions and widths.
pub(crate) fn pct(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0".to_string();
    }
    let v = part as f64 * 100.0 / whole as f64;
    format!("{:.4}", v.clamp(0.0, 100.0))
}

/// A status's colour and the text colour on it, as CSS custom properties.
pub(crate) fn color_style(color: &str) -> String {
    format!("--c:{color};--t:{}", text_color(color))
}

/// The nominal width in CSS pixels of the narrowest timeline track; labels are put inside
/// blocks only where they fit at this width.
const TRACK_PX: f64 = 800.0;

/// Roughly how wide `text` is at the blocks' font size.
pub(crate) fn text_px(text: &str) -> f64 {
    text.chars().count() as f64 * 7.2 + 10.0
}

/// The width in nominal pixels of `part` of `whole` on a track `track_px` wide.
pub(crate) fn px(part: i64, whole: i64, track_px: f64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 * track_px / whole as f64
    }
}

/// A time of day of the report, `HH:MM:SS.mmm` with the offset, and `(next day)` when it is
/// the midnight that ends the day.
fn time_of_day(t: Timestamp, window: &Window) -> String {
    let local: DateTime<Tz> = t.in_zone(window.tz);
    let mut s = local.format("%H:%M:%S%.3f%:z").to_string();
    if local.date_naive() != window.date {
        s.push_str(" (next day)");
    }
    s
}

/// The row's flags as text badges, a space between two.
fn flag_badges(flags: Flags) -> Markup {
    html! {
        @for (i, n) in flags.names().iter().enumerate() {
            @if i > 0 { " " }
            span class={ "flag " (n) } { (n) }
        }
    }
}

/// What the flags mean, shown under the timeline.
fn flag_key() -> Markup {
    html! {
        ul.flags aria-label="What the marks on the blocks mean" {
            li {
                span.sample.hatch aria-hidden="true" {}
                span { span.flag.gap { "gap" } " hatched: the events stop for a while inside the row, the status is inferred across the silence" }
            }
            li {
                span.sample style="border-left:4px double #000" aria-hidden="true" {}
                span { span.flag { "continued" } " began before this day" }
            }
            li {
                span.sample style="border-right:4px double #000" aria-hidden="true" {}
                span { span.flag { "truncated" } " goes on after this day, or the data ends in it" }
            }
            li {
                span.sample style="border:2px dashed #000" aria-hidden="true" {}
                span { span.flag { "open" } " the data ends while the agent is logged in" }
            }
        }
    }
}

/// The hour marks of the axis: every hour from the window's start, labelled with the local
/// time (every second hour on a long day), the last one `24:00`.
fn axis(window: &Window) -> Markup {
    let len = window.len_ms();
    let hours = len / 3_600_000;
    let step = if hours > 12 { 2 } else { 1 };
    // No mark so close to the end that its label would run into `24:00`.
    let marks = (0..)
        .take_while(|h| h * 3_600_000 < len)
        .filter(|h| h % step == 0 && len - h * 3_600_000 >= step * 3_600_000);
    html! {
        @for h in marks {
            @let local = Timestamp(window.start.0 + h * 3_600_000).in_zone(window.tz);
            span class=(if h == 0 { "tick first" } else { "tick" })
                style={ "left:" (pct(h * 3_600_000, len)) "%" } {
                (format!("{:02}:{:02}", local.hour(), local.minute()))
            }
        }
        span.tick.last style="left:100%" { "24:00" }
    }
}

/// The audit page: header, timeline, table, warnings.
pub fn write<W: Write>(report: &Report, columns: &[ColumnSpec], mut out: W) -> io::Result<()> {
    let title = format!(
        "Agent activity audit \u{2014} {} \u{2014} {} ({})",
        report.agent.login,
        report.window.date.format("%Y-%m-%d"),
        report.window.tz.name()
    );
    let covered: i64 = report.rows.iter().map(Row::duration_ms).sum();
    let rows = html! {
        (report.rows.len()) " " span.sub { "covering " (format_hms(covered)) }
    };
    let body = html! {
        (report_header(report, "Agent activity audit", &[("Rows", rows)]))
        main {
            (timeline(report))
            (table(report, columns))
            (warnings_section(&report.warnings))
        }
        footer { (report_footer(report)) }
    };
    out.write_all(page(&title, body).as_bytes())?;
    out.flush()
}

/// The index (1-based, as shown) of each label, in the report's status order.
fn index_of(report: &Report, label: &str) -> usize {
    report
        .statuses
        .iter()
        .position(|s| s.label == label)
        .map_or(0, |i| i + 1)
}

fn timeline(report: &Report) -> Markup {
    let w = &report.window;
    let len = w.len_ms();
    let hours = len as f64 / 3_600_000.0;
    // Tooltips open downwards where at least three lanes follow, else upwards where there is
    // room above; where there is neither, the timeline gets room below for them.
    let lanes = report.statuses.len();
    let opens_up = |i: usize| lanes - 1 - i < 4 && i >= 3;
    // A tooltip is about 8.7rem tall (six lines); a lane is 2.05rem.
    let pad = (0..lanes)
        .filter(|&i| !opens_up(i))
        .map(|i| 8.7 - (lanes - 1 - i) as f64 * 2.05)
        .fold(0.4_f64, f64::max);
    html! {
        section aria-labelledby="timeline-h" {
            h2 #timeline-h { "Timeline" }
            p.hint {
                "The " (day_length(w)) " from 00:00 to 24:00, one lane per status, one block per row of the table. Point at a block or reach it with "
                kbd { "Tab" } " for its details; " kbd { "Enter" } " goes to its row in the table."
            }
            div.scroll {
                div.tl data-day-ms=(len) data-hours=(format_hours(len))
                    style=(format!("--hours:{hours};padding-bottom:{pad:.2}rem")) {
                    div.lane.axis aria-hidden="true" {
                        div.lh { "Local time" }
                        div.track { (axis(w)) }
                    }
                    @if report.rows.is_empty() {
                        p.empty { "No rows for this day." }
                    } @else {
                        // The whole day in one strip, for the eye only: the lanes below
                        // carry the details.
                        div.lane.overview aria-hidden="true" {
                            div.lh { "All statuses" }
                            div.track {
                                @for row in &report.rows {
                                    span class=(if row.flags.contains(Flags::GAP) { "ob gap" } else { "ob" })
                                        style={
                                            "left:" (pct(row.start.0 - w.start.0, len)) "%;width:"
                                            (pct(row.duration_ms(), len)) "%;--c:"
                                            (status_color(&row.status, report.status(&row.status)))
                                        }
                                        title=(block_title(row, w)) {}
                                }
                            }
                        }
                    }
                    @for (i, info) in report.statuses.iter().enumerate() {
                        (lane(report, i + 1, info, opens_up(i)))
                    }
                }
            }
            (flag_key())
        }
    }
}

/// The lane of the `n`th status: its swatch, name and total, and a block per row.
fn lane(report: &Report, n: usize, info: &StatusInfo, up: bool) -> Markup {
    let color = status_color(&info.label, Some(info));
    let total: i64 = report
        .rows
        .iter()
        .filter(|r| r.status == info.label)
        .map(Row::duration_ms)
        .sum();
    let lane_title = if info.defined {
        info.label.clone()
    } else {
        format!("{} (not defined in the catalogue)", info.label)
    };
    html! {
        div.lane role="group" aria-label=(info.label) {
            div.lh {
                span.sw data-n=(n) style=(color_style(&color)) aria-hidden="true" {}
                span.ln title=(lane_title) { (info.label) }
                span.lt title="time in this status" { (format_hms(total)) }
            }
            div.track {
                @for (i, row) in report.rows.iter().enumerate() {
                    @if row.status == info.label {
                        (block(report, (i + 1, n), row, &color, up))
                    }
                }
            }
        }
    }
}

/// `24`, `25`, `23.5`.
fn format_hours(len_ms: i64) -> String {
    let minutes = len_ms / 60_000;
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{}", minutes as f64 / 60.0)
    }
}

/// `Available: 08:00:04.645-05:00 – 08:12:30.045-05:00, 00:12:25 (745.400 s), gap`.
fn block_title(row: &Row, window: &Window) -> String {
    let mut t = format!(
        "{}: {} \u{2013} {}, {} ({} s)",
        row.status,
        time_of_day(row.start, window),
        time_of_day(row.end, window),
        format_hms(row.duration_ms()),
        format_seconds(row.duration_ms())
    );
    let flags = row.flags.names();
    if !flags.is_empty() {
        t.push_str(", ");
        t.push_str(&flags.join(", "));
    }
    t
}

/// One row as a block of its status's lane: a link to its table row, with a tooltip shown
/// on hover and on keyboard focus.
fn block(
    report: &Report,
    (row_number, n): (usize, usize),
    row: &Row,
    color: &str,
    up: bool,
) -> Markup {
    let w = &report.window;
    let len = w.len_ms();
    let offset = row.start.0 - w.start.0;
    let width_px = px(row.duration_ms(), len, TRACK_PX);
    let with_name = format!("{n} {}", row.status);
    let label = if width_px >= text_px(&with_name) {
        with_name
    } else if width_px >= text_px(&n.to_string()) {
        n.to_string()
    } else {
        String::new()
    };
    let mut classes = String::from("b");
    for f in row.flags.names() {
        classes.push(' ');
        classes.push_str(f);
    }
    let title = block_title(row, w);
    // The accessible name starts with the text the block shows (WCAG 2.5.3, label in name):
    // its status's number, and the name where it fits.
    let name = if label.is_empty() {
        title.clone()
    } else {
        format!("{n} {title}")
    };
    // Tooltips of blocks in the right part of the day open leftwards.
    let mut tip_side = String::from("tip");
    if offset * 5 > len * 3 {
        tip_side.push_str(" r");
    }
    if up {
        tip_side.push_str(" up");
    }
    html! {
        a class=(classes) id={ "b" (row_number) } href={ "#r" (row_number) } data-row=(row_number)
            data-status=(row.status)
            style={ "left:" (pct(offset, len)) "%;width:" (pct(row.duration_ms(), len)) "%;" (color_style(color)) }
            title=(title) aria-label=(name) {
            span.bl aria-hidden="true" { (label) }
            span class=(tip_side) aria-hidden="true" {
                strong { (row.status) } br;
                (time_of_day(row.start, w)) " \u{2192} " (time_of_day(row.end, w)) br;
                (format_hms(row.duration_ms())) " (" (format_seconds(row.duration_ms())) " s)"
                @if row.flags != Flags::default() { br; (flag_badges(row.flags)) }
                // Lineage (SPEC §3.8): what the row was built from, in every block's details.
                br;
                span.lin {
                    (row.events) " event(s), first EventId "
                    (row.first_event_id.as_deref().unwrap_or("(none)")) br;
                    "rule " (row.rule)
                }
            }
        }
    }
}

/// The CSV's table: the same columns, headers and cell text (through [`Column::value`]),
/// with a colour swatch before the status and the flags as badges.
fn table(report: &Report, columns: &[ColumnSpec]) -> Markup {
    html! {
        section aria-labelledby="rows-h" {
            h2 #rows-h { "Rows" }
            div.scroll role="region" aria-labelledby="rows-h" tabindex="0" {
                table.rows {
                    caption {
                        (report.rows.len()) " row(s), in time order; times in "
                        (report.window.tz.name())
                    }
                    thead { tr {
                        @for c in columns {
                            th scope="col" class=[is_numeric(c.column).then_some("num")] { (c.header) }
                        }
                    } }
                    tbody {
                        @for (i, row) in report.rows.iter().enumerate() {
                            (table_row(report, columns, i + 1, row))
                        }
                    }
                }
            }
        }
    }
}

fn table_row(report: &Report, columns: &[ColumnSpec], number: usize, row: &Row) -> Markup {
    let mut classes: Vec<&str> = row.flags.names();
    if row.offline {
        classes.push("offline");
    }
    let class = (!classes.is_empty()).then(|| classes.join(" "));
    html! {
        tr id={ "r" (number) } data-status=(row.status) class=[class] {
            @for c in columns {
                @let value = c.column.value(report, row);
                @match c.column {
                    Column::Status => {
                        td {
                            span.sw data-n=(index_of(report, &row.status))
                                style=(color_style(&status_color(&row.status, report.status(&row.status))))
                                aria-hidden="true" {}
                            (value)
                        }
                    }
                    Column::Flags => { td { (flag_badges(row.flags)) } }
                    Column::StartTime | Column::EndTime => { td.time { (value) } }
                    other if is_numeric(other) => { td.num { (value) } }
                    _ => { td { (value) } }
                }
            }
        }
    }
}

fn is_numeric(c: Column) -> bool {
    matches!(c, Column::Duration | Column::DurationSeconds)
}

/// One report of a batch, for the index page.
#[derive(Clone, Debug)]
pub struct IndexItem<'a> {
    pub agent: &'a str,
    pub date: &'a str,
    pub timezone: &'a str,
    pub kind: &'a str,
    /// `written`, `denied` or `failed`.
    pub status: &'a str,
    /// The report's path relative to the index page, when it was written.
    pub href: Option<String>,
    /// Why it was denied or failed, or its warnings.
    pub note: String,
}

/// The index page of a batch: every report with its agent, day, zone, kind and what became
/// of it, the written ones linked.
pub fn index(configuration: &str, items: &[IndexItem<'_>]) -> String {
    let count = |status: &str| items.iter().filter(|i| i.status == status).count();
    let body = html! {
        header {
            p.kicker { "agent-audit batch" }
            h1 { "Agent activity reports" }
            dl.meta {
                div { dt { "Reports" } dd { (items.len()) } }
                div { dt { "Written" } dd { (count("written")) } }
                div { dt { "Denied" } dd { (count("denied")) } }
                div { dt { "Failed" } dd { (count("failed")) } }
                div { dt { "Configuration" } dd { code { (configuration) } } }
            }
        }
        main {
            section aria-labelledby="reports-h" {
                h2 #reports-h { "Reports" }
                div.scroll role="region" aria-labelledby="reports-h" tabindex="0" {
                    table {
                        caption { "By agent, date, time zone and kind; the manifest.json beside this page has the same list" }
                        thead { tr {
                            th scope="col" { "Agent" } th scope="col" { "Date" }
                            th scope="col" { "Time zone" } th scope="col" { "Kind" }
                            th scope="col" { "Status" } th scope="col" { "Report" }
                            th scope="col" { "Notes" }
                        } }
                        tbody {
                            @for item in items {
                                tr {
                                    td { (item.agent) } td { (item.date) } td { (item.timezone) }
                                    td { (item.kind) }
                                    td { span class={ "flag status-" (item.status) } { (item.status) } }
                                    td {
                                        @match &item.href {
                                            Some(href) => a href=(url_path(href)) { (href) },
                                            None => "\u{2014}",
                                        }
                                    }
                                    td.note { (item.note) }
                                }
                            }
                        }
                    }
                }
            }
        }
        footer {
            "Made by agent-audit " (env!("CARGO_PKG_VERSION")) ", configuration "
            code { (configuration) } "."
        }
    };
    page("Agent activity reports", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_page_is_the_page_without_its_document() {
        let page = page("t", html! { header { "h" } footer { "f" } });
        let e = Embedded::of(&page).unwrap();
        assert_eq!(e.body, "<header>h</header><footer>f</footer>");
        assert_eq!(e.css, CSS);
        assert!(Embedded::of("<p>not a report page</p>").is_none());
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        assert_eq!(
            url_path("jdoe/2026-11-02_America-New_York.html"),
            "jdoe/2026-11-02_America-New_York.html"
        );
        assert_eq!(url_path("a b/#?%\"<é"), "a%20b/%23%3F%25%22%3C%C3%A9");
    }

    #[test]
    fn colours_come_from_the_definition_or_a_stable_palette() {
        let info = StatusInfo {
            label: "Available".into(),
            defined: true,
            color: Some("#2CA02C".into()),
            productive: Some(true),
            display_order: Some(1),
        };
        assert_eq!(status_color("Available", Some(&info)), "#2ca02c");
        let bad = StatusInfo {
            color: Some("red;background:url(x)".into()),
            ..info
        };
        let fallback = status_color("Available", Some(&bad));
        assert!(PALETTE.contains(&fallback.as_str()));
        assert_eq!(status_color("Lunch", None), status_color("Lunch", None));
    }

    #[test]
    fn text_is_black_on_light_and_white_on_dark() {
        assert_eq!(text_color("#ffffff"), "#000");
        assert_eq!(text_color("#2ca02c"), "#000");
        assert_eq!(text_color("#404040"), "#fff");
        assert_eq!(text_color("#1f77b4"), "#fff");
    }
}
