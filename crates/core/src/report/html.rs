//! The report as one self-contained HTML page (SPEC §5), and the pieces every HTML page of
//! the project shares: escaping, status colours, the style sheet, the page header.
//!
//! This module owns the audit page (a timeline of the day with one lane per status and one
//! block per row, then the same table as the CSV, then the warnings) and the batch index
//! page. The summary page (`summary.rs`) is drawn with the helpers here.
//!
//! A page needs nothing but itself: the CSS is inline, there is no script, no font, no
//! image and no address of any kind, so it opens the same offline, from a mail attachment
//! or from an archive. Every string that comes from the data or the configuration (status
//! labels, logins, names, warnings) goes through [`escape`]; colours are used only when they
//! are `#rrggbb`. Statuses never depend on colour alone: each has a lane with its name, an
//! index number shown on its blocks, and the rows' flags are text badges as well as
//! patterns on the blocks.

use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Timelike};
use chrono_tz::Tz;

use super::columns::{Column, ColumnSpec};
use super::{Flags, Report, Row, StatusInfo, format_hms, format_seconds};
use crate::catalog::definition::is_hex_color;
use crate::time::{Timestamp, Window};

/// `s` with `& < > " '` replaced by character references: safe in element content and in
/// quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `s` percent-encoded for a relative URL path: every byte but unreserved characters and
/// `/` is encoded (the result still needs [`escape`] for an attribute, which leaves it as
/// it is).
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
const BODY_START: &str = "<body>\n<div class=\"page\">\n";
const BODY_END: &str = "</div>\n</body>\n</html>\n";

/// The start of a page: doctype, head with `title` (escaped here) and the style sheet.
pub(crate) fn page_start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"agent-audit {}\">\n<title>{}</title>\n<style>{CSS}</style>\n\
</head>\n{BODY_START}",
        env!("CARGO_PKG_VERSION"),
        escape(title)
    )
}

/// The end of a page, with a footer line (already HTML).
pub(crate) fn page_end(footer: &str) -> String {
    format!("<footer>{footer}</footer>\n{BODY_END}")
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
pub(crate) fn report_footer(report: &Report) -> String {
    let configuration = if report.configuration.is_empty() {
        String::new()
    } else {
        format!(
            ", configuration <code>{}</code>",
            escape(&report.configuration)
        )
    };
    format!(
        "Made by agent-audit {} from the agent event stream{configuration}. Times are local \
to {}; durations are truncated to the second (<code>HH:MM:SS</code>) or exact to the \
millisecond (seconds).",
        env!("CARGO_PKG_VERSION"),
        escape(report.window.tz.name())
    )
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

fn agent_name(report: &Report) -> String {
    report.agent.full_name()
}

/// The page header of a report: what it is (`kind`), whose day, which zone and
/// configuration.
pub(crate) fn report_header(report: &Report, kind: &str, extra: &[(&str, String)]) -> String {
    let w = &report.window;
    let login = &report.agent.login;
    let name = agent_name(report);
    let mut h = String::new();
    let _ = write!(
        h,
        "<header>\n<p class=\"kicker\">{}</p>\n<h1>{}{}</h1>\n<dl class=\"meta\">\n",
        escape(kind),
        escape(login),
        if name.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"sub\">{}</span>", escape(&name))
        }
    );
    let mut items: Vec<(&str, String)> = vec![
        ("Agent login", escape(login)),
        (
            "Agent name",
            if name.is_empty() {
                "\u{2014}".to_string()
            } else {
                escape(&name)
            },
        ),
        (
            "Date",
            format!(
                "{} <span class=\"sub\">({})</span>",
                w.date.format("%Y-%m-%d"),
                w.date.format("%A")
            ),
        ),
        (
            "Time zone",
            format!("{} ({})", escape(w.tz.name()), offsets(w)),
        ),
        ("Day", escape(&day_length(w))),
    ];
    items.extend(extra.iter().cloned());
    items.push(("Events", coverage_line(report)));
    items.push((
        "Configuration",
        if report.configuration.is_empty() {
            "\u{2014}".to_string()
        } else {
            format!("<code>{}</code>", escape(&report.configuration))
        },
    ));
    for (dt, dd) in items {
        let _ = writeln!(h, "<div><dt>{dt}</dt><dd>{dd}</dd></div>");
    }
    h.push_str("</dl>\n</header>\n");
    h
}

/// The header's line on coverage (SPEC §5): how many of the agent's events fall in the
/// day, and the span of all of them, so a reader sees which rows the events show and which
/// are inferred.
fn coverage_line(report: &Report) -> String {
    let c = &report.coverage;
    let tz = report.window.tz;
    let span = match (c.first_event, c.last_event) {
        (Some(first), Some(last)) => format!(
            " <span class=\"sub\">(the agent's events run from {} to {})</span>",
            escape(&first.format_local(tz)),
            escape(&last.format_local(tz))
        ),
        _ => String::new(),
    };
    let count = match c.events_in_window {
        0 => "none on this day: every row is inferred".to_string(),
        n => format!("{n} on this day"),
    };
    format!("{count}{span}")
}

/// The warnings section, if any.
pub(crate) fn warnings_section(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<section class=\"warnings\" aria-labelledby=\"warnings-h\">\n\
<h2 id=\"warnings-h\">Warnings</h2>\n<ul>\n",
    );
    for w in warnings {
        let _ = writeln!(s, "<li>{}</li>", escape(w));
    }
    s.push_str("</ul>\n</section>\n");
    s
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

fn flag_badges(flags: Flags) -> String {
    flags
        .names()
        .iter()
        .map(|n| format!("<span class=\"flag {n}\">{n}</span>"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the flags mean, shown under the timeline.
const FLAG_KEY: &str = "<ul class=\"flags\" aria-label=\"What the marks on the blocks mean\">\n\
<li><span class=\"sample hatch\" aria-hidden=\"true\"></span><span><span class=\"flag gap\">gap</span> \
hatched: the events stop for a while inside the row, the status is inferred across the silence</span></li>\n\
<li><span class=\"sample\" style=\"border-left:4px double #000\" aria-hidden=\"true\"></span><span><span class=\"flag\">continued</span> \
began before this day</span></li>\n\
<li><span class=\"sample\" style=\"border-right:4px double #000\" aria-hidden=\"true\"></span><span><span class=\"flag\">truncated</span> \
goes on after this day, or the data ends in it</span></li>\n\
<li><span class=\"sample\" style=\"border:2px dashed #000\" aria-hidden=\"true\"></span><span><span class=\"flag\">open</span> \
the data ends while the agent is logged in</span></li>\n</ul>\n";

/// The hour marks of the axis: every hour from the window's start, labelled with the local
/// time (every second hour on a long day), the last one `24:00`.
fn axis(window: &Window) -> String {
    let len = window.len_ms();
    let hours = len / 3_600_000;
    let step = if hours > 12 { 2 } else { 1 };
    let mut s = String::new();
    let mut h = 0;
    while h * 3_600_000 < len {
        // No mark so close to the end that its label would run into `24:00`.
        if h % step == 0 && len - h * 3_600_000 >= step * 3_600_000 {
            let t = Timestamp(window.start.0 + h * 3_600_000);
            let local = t.in_zone(window.tz);
            let class = if h == 0 { "tick first" } else { "tick" };
            let _ = write!(
                s,
                "<span class=\"{class}\" style=\"left:{}%\">{:02}:{:02}</span>",
                pct(h * 3_600_000, len),
                local.hour(),
                local.minute()
            );
        }
        h += 1;
    }
    s.push_str("<span class=\"tick last\" style=\"left:100%\">24:00</span>");
    s
}

/// The audit page: header, timeline, table, warnings.
pub fn write<W: Write>(report: &Report, columns: &[ColumnSpec], mut out: W) -> io::Result<()> {
    let mut s = page_start(&format!(
        "Agent activity audit \u{2014} {} \u{2014} {} ({})",
        report.agent.login,
        report.window.date.format("%Y-%m-%d"),
        report.window.tz.name()
    ));
    let covered: i64 = report.rows.iter().map(Row::duration_ms).sum();
    s.push_str(&report_header(
        report,
        "Agent activity audit",
        &[(
            "Rows",
            format!(
                "{} <span class=\"sub\">covering {}</span>",
                report.rows.len(),
                format_hms(covered)
            ),
        )],
    ));
    s.push_str("<main>\n");
    timeline(report, &mut s);
    table(report, columns, &mut s);
    s.push_str(&warnings_section(&report.warnings));
    s.push_str("</main>\n");
    s.push_str(&page_end(&report_footer(report)));
    out.write_all(s.as_bytes())?;
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

fn timeline(report: &Report, s: &mut String) {
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
    let _ = write!(
        s,
        "<section aria-labelledby=\"timeline-h\">\n<h2 id=\"timeline-h\">Timeline</h2>\n\
<p class=\"hint\">The {} from 00:00 to 24:00, one lane per status, one block per row of the \
table. Point at a block or reach it with <kbd>Tab</kbd> for its details; <kbd>Enter</kbd> \
goes to its row in the table.</p>\n\
<div class=\"scroll\">\n<div class=\"tl\" data-day-ms=\"{len}\" data-hours=\"{}\" \
style=\"--hours:{hours};padding-bottom:{pad:.2}rem\">\n\
<div class=\"lane axis\" aria-hidden=\"true\"><div class=\"lh\">Local time</div>\
<div class=\"track\">{}</div></div>\n",
        escape(&day_length(w)),
        format_hours(len),
        axis(w)
    );
    if report.rows.is_empty() {
        s.push_str("<p class=\"empty\">No rows for this day.</p>\n");
    } else {
        // The whole day in one strip, for the eye only: the lanes below carry the details.
        s.push_str(
            "<div class=\"lane overview\" aria-hidden=\"true\"><div class=\"lh\">All statuses</div>\
<div class=\"track\">",
        );
        for row in &report.rows {
            let color = status_color(&row.status, report.status(&row.status));
            let _ = write!(
                s,
                "<span class=\"ob{}\" style=\"left:{}%;width:{}%;--c:{color}\" title=\"{}\"></span>",
                if row.flags.contains(Flags::GAP) {
                    " gap"
                } else {
                    ""
                },
                pct(row.start.0 - w.start.0, len),
                pct(row.duration_ms(), len),
                escape(&block_title(row, w))
            );
        }
        s.push_str("</div></div>\n");
    }
    for (n, info) in report.statuses.iter().enumerate() {
        let n = n + 1;
        let color = status_color(&info.label, Some(info));
        let total: i64 = report
            .rows
            .iter()
            .filter(|r| r.status == info.label)
            .map(Row::duration_ms)
            .sum();
        let _ = write!(
            s,
            "<div class=\"lane\" role=\"group\" aria-label=\"{label}\">\
<div class=\"lh\"><span class=\"sw\" data-n=\"{n}\" style=\"{style}\" aria-hidden=\"true\"></span>\
<span class=\"ln\" title=\"{label}{undefined}\">{label}</span><span class=\"lt\" title=\"time in this status\">{total}</span></div>\
<div class=\"track\">",
            label = escape(&info.label),
            undefined = if info.defined {
                ""
            } else {
                " (not defined in the catalogue)"
            },
            style = color_style(&color),
            total = format_hms(total),
        );
        for (i, row) in report.rows.iter().enumerate() {
            if row.status != info.label {
                continue;
            }
            block(report, (i + 1, n), row, &color, opens_up(n - 1), s);
        }
        s.push_str("</div></div>\n");
    }
    s.push_str("</div>\n</div>\n");
    s.push_str(FLAG_KEY);
    s.push_str("</section>\n");
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
    s: &mut String,
) {
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
    let flags = if row.flags == Flags::default() {
        String::new()
    } else {
        format!("<br>{}", flag_badges(row.flags))
    };
    // Lineage (SPEC §3.8): what the row was built from, in every block's details.
    let lineage = format!(
        "<br><span class=\"lin\">{} event(s), first EventId {}<br>rule {}</span>",
        row.events,
        escape(row.first_event_id.as_deref().unwrap_or("(none)")),
        escape(&row.rule)
    );
    let _ = write!(
        s,
        "<a class=\"{classes}\" id=\"b{row_number}\" href=\"#r{row_number}\" data-row=\"{row_number}\" \
data-status=\"{status}\" style=\"left:{left}%;width:{width}%;{style}\" title=\"{title}\" aria-label=\"{name}\">\
<span class=\"bl\" aria-hidden=\"true\">{label}</span>\
<span class=\"{tip_side}\" aria-hidden=\"true\"><strong>{status}</strong><br>\
{start} \u{2192} {end}<br>{hms} ({secs} s){flags}{lineage}</span></a>",
        status = escape(&row.status),
        left = pct(offset, len),
        width = pct(row.duration_ms(), len),
        style = color_style(color),
        title = escape(&title),
        name = escape(&name),
        label = escape(&label),
        start = escape(&time_of_day(row.start, w)),
        end = escape(&time_of_day(row.end, w)),
        hms = format_hms(row.duration_ms()),
        secs = format_seconds(row.duration_ms()),
    );
}

/// The CSV's table: the same columns, headers and cell text (through [`Column::value`]),
/// with a colour swatch before the status and the flags as badges.
fn table(report: &Report, columns: &[ColumnSpec], s: &mut String) {
    let _ = write!(
        s,
        "<section aria-labelledby=\"rows-h\">\n<h2 id=\"rows-h\">Rows</h2>\n\
<div class=\"scroll\" role=\"region\" aria-labelledby=\"rows-h\" tabindex=\"0\">\n\
<table class=\"rows\">\n<caption>{} row(s), in time order; times in {}</caption>\n<thead><tr>",
        report.rows.len(),
        escape(report.window.tz.name())
    );
    for c in columns {
        let class = if is_numeric(c.column) {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(s, "<th scope=\"col\"{class}>{}</th>", escape(&c.header));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (i, row) in report.rows.iter().enumerate() {
        let mut classes: Vec<&str> = row.flags.names();
        if row.offline {
            classes.push("offline");
        }
        let _ = write!(
            s,
            "<tr id=\"r{}\" data-status=\"{}\"{}>",
            i + 1,
            escape(&row.status),
            if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            }
        );
        for c in columns {
            let value = c.column.value(report, row);
            match c.column {
                Column::Status => {
                    let color = status_color(&row.status, report.status(&row.status));
                    let _ = write!(
                        s,
                        "<td><span class=\"sw\" data-n=\"{}\" style=\"{}\" aria-hidden=\"true\"></span>{}</td>",
                        index_of(report, &row.status),
                        color_style(&color),
                        escape(&value)
                    );
                }
                Column::Flags => {
                    let _ = write!(s, "<td>{}</td>", flag_badges(row.flags));
                }
                Column::StartTime | Column::EndTime => {
                    let _ = write!(s, "<td class=\"time\">{}</td>", escape(&value));
                }
                other if is_numeric(other) => {
                    let _ = write!(s, "<td class=\"num\">{}</td>", escape(&value));
                }
                _ => {
                    let _ = write!(s, "<td>{}</td>", escape(&value));
                }
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n</div>\n</section>\n");
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
    let mut s = page_start("Agent activity reports");
    let count = |status: &str| items.iter().filter(|i| i.status == status).count();
    let _ = write!(
        s,
        "<header>\n<p class=\"kicker\">agent-audit batch</p>\n<h1>Agent activity reports</h1>\n\
<dl class=\"meta\">\n<div><dt>Reports</dt><dd>{}</dd></div>\n<div><dt>Written</dt><dd>{}</dd></div>\n\
<div><dt>Denied</dt><dd>{}</dd></div>\n<div><dt>Failed</dt><dd>{}</dd></div>\n\
<div><dt>Configuration</dt><dd><code>{}</code></dd></div>\n</dl>\n</header>\n<main>\n\
<section aria-labelledby=\"reports-h\">\n<h2 id=\"reports-h\">Reports</h2>\n\
<div class=\"scroll\" role=\"region\" aria-labelledby=\"reports-h\" tabindex=\"0\">\n<table>\n\
<caption>By agent, date, time zone and kind; the manifest.json beside this page has the same list</caption>\n\
<thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">Date</th><th scope=\"col\">Time zone</th>\
<th scope=\"col\">Kind</th><th scope=\"col\">Status</th><th scope=\"col\">Report</th><th scope=\"col\">Notes</th></tr></thead>\n<tbody>\n",
        items.len(),
        count("written"),
        count("denied"),
        count("failed"),
        escape(configuration)
    );
    for item in items {
        let link = match &item.href {
            Some(href) => format!(
                "<a href=\"{}\">{}</a>",
                escape(&url_path(href)),
                escape(href)
            ),
            None => "\u{2014}".to_string(),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td><span class=\"flag status-{status}\">{status}</span></td><td>{link}</td><td class=\"note\">{}</td></tr>",
            escape(item.agent),
            escape(item.date),
            escape(item.timezone),
            escape(item.kind),
            escape(&item.note),
            status = escape(item.status),
        );
    }
    s.push_str("</tbody>\n</table>\n</div>\n</section>\n</main>\n");
    s.push_str(&page_end(&format!(
        "Made by agent-audit {}, configuration <code>{}</code>.",
        env!("CARGO_PKG_VERSION"),
        escape(configuration)
    )));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("Après-midi ☕"), "Après-midi ☕");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn an_embedded_page_is_the_page_without_its_document() {
        let page = format!("{}<header>h</header>{}", page_start("t"), page_end("f"));
        let e = Embedded::of(&page).unwrap();
        assert_eq!(e.body, "<header>h</header><footer>f</footer>\n");
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
