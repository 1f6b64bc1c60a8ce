//! SPEC §5: the HTML report (timeline and table), the time-in-status summary, the batch
//! index page, and a real browser reading what we write.
//!
//! The shipped examples are read by the binary only three times here (each read takes
//! seconds in a debug build); everything else runs on small generated days.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_audit::report::columns::default_columns;
use agent_audit::report::summary::{self, AFTER_CONTACT_WORK};
use agent_audit::report::{self, Report};
use agent_audit::report::{Format, Kind};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::*;

const HOSTILE: &str = "<script>alert(1)</script>";

fn render(report: &Report, kind: Kind, format: Format) -> String {
    String::from_utf8(report::render(report, kind, format, &default_columns()).unwrap()).unwrap()
}

/// Every `<tag` element's opening tag whose attributes include `marker`, in document order.
fn opening_tags<'a>(html: &'a str, tag: &str, marker: &str) -> Vec<&'a str> {
    let open = format!("<{tag} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let end = rest[i..].find('>').unwrap() + i;
        let t = &rest[i..=end];
        if t.contains(marker) {
            out.push(t);
        }
        rest = &rest[end..];
    }
    out
}

/// The value of `attr` in an opening tag.
fn attr<'a>(tag: &'a str, attr: &str) -> &'a str {
    let key = format!(" {attr}=\"");
    let i = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in {tag}"))
        + key.len();
    let j = tag[i..].find('"').unwrap() + i;
    &tag[i..j]
}

/// The text of the table row `<tr id="rN">`: each cell's text, tags removed and entities
/// decoded.
fn table_row(html: &str, n: usize) -> Vec<String> {
    let start = html
        .find(&format!("<tr id=\"r{n}\""))
        .unwrap_or_else(|| panic!("no table row r{n}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    let row = &html[start..end];
    row.split("</td>")
        .filter(|c| c.contains("<td"))
        .map(|cell| {
            let mut text = String::new();
            let mut in_tag = false;
            for ch in cell[cell.find("<td").unwrap()..].chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            unescape(text.trim())
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A page must stand alone: no address, no script, nothing fetched.
fn assert_self_contained(html: &str) {
    for forbidden in [
        "http://", "https://", "<script", "<link", "<img", "<iframe", "@import", "url(", " src=",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(forbidden),
            "the page contains `{forbidden}`"
        );
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn the_example_day_has_every_row_as_a_block_and_in_the_table() {
    let out = report_cmd("examples/events", "jdoe", "2026-11-02", "America/New_York")
        .current_dir(root())
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    assert_self_contained(&html);
    // The CSV of the same day, as the examples test checks the binary still prints it.
    let csv =
        fs::read_to_string(root().join("examples/expected/jdoe/2026-11-02_America-New_York.csv"))
            .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 23);

    // The header says whose day, where, and under which configuration.
    for text in [
        "jdoe",
        "Jane Doe",
        "2026-11-02",
        "America/New_York",
        "24-hour day",
    ] {
        assert!(html.contains(text), "header lacks {text}");
    }
    let hash = html
        .split("<dt>Configuration</dt><dd><code>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap();
    assert_eq!(hash.len(), 16, "{hash}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));

    // The table: the CSV's header and every cell of every row, in order.
    for h in &header {
        assert!(html.contains(&format!(">{h}</th>")), "no header {h}");
    }
    for (i, csv_row) in rows.iter().enumerate() {
        let cells = table_row(&html, i + 1);
        let flags = cells.last().unwrap().replace(' ', ";");
        let mut got: Vec<&str> = cells[..cells.len() - 1]
            .iter()
            .map(String::as_str)
            .collect();
        got.push(&flags);
        assert_eq!(&got, csv_row, "row {}", i + 1);
    }

    // The timeline: one block per row, linked to it, in its status's lane, coloured.
    let blocks = opening_tags(&html, "a", "class=\"b");
    assert_eq!(blocks.len(), rows.len());
    let mut by_row: BTreeMap<usize, &str> = BTreeMap::new();
    for b in &blocks {
        by_row.insert(attr(b, "data-row").parse().unwrap(), b);
    }
    assert_eq!(
        by_row.keys().copied().collect::<Vec<_>>(),
        (1..=23).collect::<Vec<_>>()
    );
    for (n, b) in &by_row {
        let row = &rows[n - 1];
        assert_eq!(attr(b, "data-status"), row[1]);
        assert_eq!(attr(b, "href"), format!("#r{n}"));
        let title = attr(b, "title");
        assert!(title.starts_with(&format!("{}: ", row[1])), "{title}");
        assert!(title.contains(row[4]), "{title} lacks the duration");
        // Start and end as times of day with their offset.
        assert!(title.contains(&row[2][11..]), "{title} lacks the start");
        let style = attr(b, "style");
        match row[1] {
            "Available" => assert!(style.contains("--c:#2ca02c"), "{style}"),
            "Offline" => assert!(style.contains("--c:#8c8c8c"), "{style}"),
            "After contact work" => assert!(style.contains("--c:#ff7f0e"), "{style}"),
            _ => {}
        }
        for flag in row[6].split(';').filter(|f| !f.is_empty()) {
            assert!(attr(b, "class").split(' ').any(|c| c == flag), "{b}");
        }
    }
    // Positioned by time: the first Available starts 08:00:04.645 into a 24-hour day.
    let first_available = by_row[&2];
    assert!(
        attr(first_available, "style").starts_with("left:33.3387%;width:0.8627%"),
        "{first_available}"
    );
    // Lunch has no definition: a palette colour, the same in every report.
    let lunch = by_row[&10];
    assert_eq!(attr(lunch, "data-status"), "Lunch");
    let style = attr(lunch, "style");
    assert!(style.contains("--c:#"), "{style}");
    let colour = &style[style.find("--c:").unwrap()..][..11];
    let again = render(
        &report(
            &[event("x", "LOGIN", "2026-11-03T08:00:00.000Z").status("Lunch")],
            "x",
            "2026-11-03",
            "UTC",
        ),
        Kind::Audit,
        Format::Html,
    );
    assert!(again.contains(colour), "Lunch is not {colour} elsewhere");
    // The flags are badges in the table, and the key says what the marks mean.
    assert!(html.contains("<span class=\"flag continued\">continued</span>"));
    assert!(html.contains("<span class=\"flag truncated\">truncated</span>"));
    // Every block is reachable from the keyboard (links), with details for a focus.
    assert!(html.contains(".b:hover .tip,.b:focus .tip{display:block}"));
}

/// A day around midnight and a lunch with a silence, for the generated tests.
fn small_day(login: &str) -> Vec<Event> {
    vec![
        event(login, "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event(login, "STATE_CHANGE", "2026-11-03T09:00:00.000Z")
            .status("Available")
            .contact(connected(contact("c1", "VOICE", "INBOUND", "CONNECTED"))),
        event(login, "STATE_CHANGE", "2026-11-03T09:20:00.000Z")
            .status("Available")
            .contact(connected(contact("c1", "VOICE", "INBOUND", "ENDED"))),
        event(login, "STATE_CHANGE", "2026-11-03T09:25:00.000Z").status("Available"),
        event(login, "STATE_CHANGE", "2026-11-03T12:00:00.000Z").status("Lunch"),
        event(login, "STATE_CHANGE", "2026-11-03T13:00:00.000Z").status("Available"),
        event(login, "LOGOUT", "2026-11-03T17:00:00.000Z").status("Offline"),
        event(login, "LOGIN", "2026-11-03T23:00:00.000Z").status("Available"),
    ]
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let hook = format!(
        "function classify(snap)\n  if snap.status.name == 'Lunch' then return '{HOSTILE}' end\n  return nil\nend\n"
    );
    let s = setup(&[("hostile.lua", &hook)], "");
    let login = "<b>x</b>&'\"";
    let events = s.events(&small_day(login));
    let mut pages = Vec::new();
    for kind in ["audit", "summary"] {
        let out = report_cmd(&events, login, "2026-11-03", "UTC")
            .arg("--config")
            .arg(&s.config)
            .args(["--format", "html", "--kind", kind])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        pages.push(String::from_utf8(out.stdout).unwrap());
    }
    // A batch of the same, for the index page.
    let batch = s.dir.path().join("batch.toml");
    fs::write(
        &batch,
        format!(
            "events = \"events.jsonl\"\nout_dir = \"out\"\nconfig = \"agent-audit.toml\"\n\
             timezone = \"UTC\"\nformat = \"html\"\n[[report]]\nagents = [{login:?}]\ndates = [\"2026-11-03\"]\n"
        ),
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success();
    pages.push(fs::read_to_string(s.dir.path().join("out/index.html")).unwrap());
    for page in &pages {
        assert_self_contained(page);
        assert!(!page.contains("alert(1)</"), "unescaped status name");
        assert!(!page.contains("<b>x"), "unescaped login");
    }
    let (audit, summary, index) = (&pages[0], &pages[1], &pages[2]);
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    assert!(audit.contains(escaped));
    assert!(audit.contains(&format!("data-status=\"{escaped}\"")));
    assert!(summary.contains(escaped));
    // An apostrophe needs no escape in text or in a double-quoted attribute (maud leaves it).
    assert!(audit.contains("&lt;b&gt;x&lt;/b&gt;&amp;'&quot;"));
    // The link to the report (whose folder escapes the login, `batch::login_dir`) is
    // percent-encoded, its text escaped.
    assert!(
        index.contains("href=\"%253Cb%253Ex%253C%252Fb%253E%26%27%2522/2026-11-03_UTC.html\""),
        "{index}"
    );
    assert!(
        index.contains(">%3Cb%3Ex%3C%2Fb%3E&amp;'%22/2026-11-03_UTC.html</a>"),
        "{index}"
    );
}

#[test]
fn the_timeline_spans_the_days_real_length() {
    // 2026-11-01 in New York is 25 hours long; 2026-03-08 is 23.
    let long = report(
        &[
            event("a", "LOGIN", "2026-11-01T12:00:00.000Z").status("Available"),
            event("a", "LOGOUT", "2026-11-01T20:00:00.000Z").status("Offline"),
        ],
        "a",
        "2026-11-01",
        "America/New_York",
    );
    let html = render(&long, Kind::Audit, Format::Html);
    assert!(html.contains("data-day-ms=\"90000000\" data-hours=\"25\""));
    assert!(html.contains("--hours:25;"));
    assert!(html.contains("25-hour day"));
    assert!(html.contains("(UTC\u{2212}04:00 \u{2192} UTC\u{2212}05:00)"));
    // The axis marks every second hour from local midnight in local time (01:00 comes
    // twice: 01:00 EDT is not marked, 01:00 EST is), then the end of the day.
    let ticks: Vec<&str> = html
        .split("<span class=\"tick")
        .skip(1)
        .map(|t| t.split('>').nth(1).unwrap().trim_end_matches("</span"))
        .collect();
    assert_eq!(
        ticks,
        [
            "00:00", "01:00", "03:00", "05:00", "07:00", "09:00", "11:00", "13:00", "15:00",
            "17:00", "19:00", "21:00", "24:00"
        ]
        .map(String::from)
    );
    // Available from 12:00Z (07:00 EST), 8 h after midnight (04:00Z) of a 25-hour day, for
    // 8 h.
    let blocks = opening_tags(&html, "a", "class=\"b");
    let available = blocks
        .iter()
        .find(|b| attr(b, "data-status") == "Available")
        .unwrap();
    assert!(
        attr(available, "style").starts_with("left:32.0000%;width:32.0000%"),
        "{available}"
    );

    // Nothing is known before a first event that is not a LOGIN: 12:00Z to 04:00Z is covered.
    let short = report(
        &[event("a", "STATE_CHANGE", "2026-03-08T12:00:00.000Z").status("Available")],
        "a",
        "2026-03-08",
        "America/New_York",
    );
    let html = render(&short, Kind::Audit, Format::Html);
    assert!(html.contains("data-day-ms=\"82800000\" data-hours=\"23\""));
    assert!(html.contains("23-hour day"));
    let summary: Value =
        serde_json::from_str(&render(&short, Kind::Summary, Format::Json)).unwrap();
    assert_eq!(summary["totals"]["covered_ms"], 16 * 3_600_000);
    // The summary's bars show the uncovered part of the day as such.
    let html = render(&short, Kind::Summary, Format::Html);
    assert_eq!(opening_tags(&html, "span", "class=\"seg nodata").len(), 2);
    assert!(html.contains("No data 07:00:00"));
}

/// Checks a summary against the audit rows it was computed from, and the definitions.
fn assert_summary_matches(audit: &Value, summary: &Value, context: &str) {
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for row in audit["rows"].as_array().unwrap() {
        *sums
            .entry(row["status"].as_str().unwrap().to_string())
            .or_default() += row["duration_ms"].as_i64().unwrap();
    }
    let statuses: BTreeMap<String, i64> = summary["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_string(),
                s["duration_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, sums, "{context}");
    assert_eq!(
        summary["statuses"].as_array().unwrap().len(),
        statuses.len(),
        "{context}: a status twice"
    );
    let t = &summary["totals"];
    let total = |k: &str| t[k].as_i64().unwrap();
    let covered: i64 = sums.values().sum();
    assert_eq!(total("covered_ms"), covered, "{context}");
    assert_eq!(
        total("productive_ms") + total("non_productive_ms") + total("unclassified_ms"),
        covered,
        "{context}"
    );
    let by_attribute = |want: Value| -> i64 {
        summary["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["productive"] == want)
            .map(|s| s["duration_ms"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        total("productive_ms"),
        by_attribute(Value::Bool(true)),
        "{context}"
    );
    assert_eq!(
        total("non_productive_ms"),
        by_attribute(Value::Bool(false)),
        "{context}"
    );
    assert_eq!(
        total("unclassified_ms"),
        by_attribute(Value::Null),
        "{context}"
    );
    assert_eq!(
        total("after_contact_work_ms"),
        sums.get(AFTER_CONTACT_WORK).copied().unwrap_or(0),
        "{context}"
    );
    // In the default catalogue the one OFFLINE-type label is Offline.
    assert_eq!(
        total("online_ms"),
        covered - sums.get("Offline").copied().unwrap_or(0),
        "{context}"
    );
    for k in ["agent", "date", "timezone", "warnings"] {
        assert_eq!(summary[k], audit[k], "{context}: {k}");
    }
}

#[test]
fn summaries_of_the_examples_are_the_sums_of_their_audit_rows() {
    // One batch reads the examples once and writes audits and summaries of every agent and
    // day; batch files are byte for byte what `report` prints (checked below for one).
    let out = TempDir::new().unwrap();
    let batch = out.path().join("batch.toml");
    let events = root().join("examples/events");
    fs::write(
        &batch,
        format!(
            "events = {events:?}\nout_dir = \"reports\"\ntimezone = \"America/New_York\"\nformat = \"json\"\n\
             [[report]]\nagents = [\"jdoe\", \"asmith\", \"mrivera\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\n\
             [[report]]\nagents = [\"jdoe\", \"asmith\", \"mrivera\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\nkind = \"summary\"\n",
        ),
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success();
    let reports = out.path().join("reports");
    let read = |p: PathBuf| -> Value { serde_json::from_slice(&fs::read(&p).unwrap()).unwrap() };
    let mut checked = 0;
    for agent in ["jdoe", "asmith", "mrivera"] {
        for date in ["2026-11-02", "2026-11-03"] {
            let stem = format!("{agent}/{date}_America-New_York");
            let audit = read(reports.join(format!("{stem}.json")));
            let summary = read(reports.join(format!("{stem}.summary.json")));
            assert!(!audit["rows"].as_array().unwrap().is_empty(), "{stem}");
            assert_summary_matches(&audit, &summary, &stem);
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
    // The audits are the shipped expected reports, and `report --kind summary` prints the
    // batch's summary.
    assert_eq!(
        fs::read(reports.join("mrivera/2026-11-03_America-New_York.json")).unwrap(),
        fs::read(root().join("examples/expected/mrivera/2026-11-03_America-New_York.json"))
            .unwrap()
    );
    let single = report_cmd(
        "examples/events",
        "mrivera",
        "2026-11-03",
        "America/New_York",
    )
    .current_dir(root())
    .args(["--kind", "summary", "--format", "json"])
    .output()
    .unwrap();
    assert!(single.status.success());
    assert_eq!(
        single.stdout,
        fs::read(reports.join("mrivera/2026-11-03_America-New_York.summary.json")).unwrap()
    );
}

/// A small deterministic generator (xorshift): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn summaries_of_generated_days_are_the_sums_of_their_audit_rows() {
    const STATUSES: [&str; 5] = ["Available", "Offline", "Lunch", "Break", "Available"];
    const STATES: [&str; 5] = ["CONNECTING", "CONNECTED", "ENDED", "MISSED", "ERROR"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..60 {
        let n = 1 + rng.below(30);
        let mut events = Vec::new();
        for _ in 0..n {
            // Over three days around the end of US daylight saving time.
            let ms = 1_793_404_800_000 + i64::try_from(rng.below(3 * 86_400_000)).unwrap();
            let ts = agent_audit::time::Timestamp(ms)
                .to_string()
                .replace("+00:00", "Z");
            let kind = ["LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT"]
                [usize::try_from(rng.below(4)).unwrap()];
            let mut e =
                event("a", kind, &ts).status(STATUSES[usize::try_from(rng.below(5)).unwrap()]);
            if rng.below(3) == 0 {
                let state = STATES[usize::try_from(rng.below(5)).unwrap()];
                e = e.contact(connected(contact("c", "VOICE", "INBOUND", state)));
            }
            events.push(e);
        }
        for (day, zone) in [
            ("2026-10-31", "UTC"),
            ("2026-11-01", "America/New_York"),
            ("2026-11-02", "Europe/London"),
        ] {
            let r = report(&events, "a", day, zone);
            let audit: Value =
                serde_json::from_str(&render(&r, Kind::Audit, Format::Json)).unwrap();
            let summary: Value =
                serde_json::from_str(&render(&r, Kind::Summary, Format::Json)).unwrap();
            assert_summary_matches(&audit, &summary, &format!("case {case}, {day} {zone}"));
            // The CSV says the same as the JSON.
            let computed = summary::compute(&r);
            let csv = render(&r, Kind::Summary, Format::Csv);
            assert_eq!(csv.lines().count(), 1 + computed.statuses.len() + 6);
            // The HTML shows every status once in its table.
            let html = render(&r, Kind::Summary, Format::Html);
            assert_eq!(
                opening_tags(&html, "tr", "data-status=").len(),
                computed.statuses.len()
            );
        }
    }
}

#[test]
fn the_summary_csv_has_one_line_per_status_then_the_totals() {
    let r = report(&small_day("jdoe"), "jdoe", "2026-11-03", "UTC");
    let csv = render(&r, Kind::Summary, Format::Csv);
    assert_eq!(
        csv,
        "Agent login,Date,Time zone,Status,Duration,Duration (s)\n\
         jdoe,2026-11-03,UTC,Available,08:35:00,30900.000\n\
         jdoe,2026-11-03,UTC,Offline,14:00:00,50400.000\n\
         jdoe,2026-11-03,UTC,Connected,00:20:00,1200.000\n\
         jdoe,2026-11-03,UTC,After contact work,00:05:00,300.000\n\
         jdoe,2026-11-03,UTC,Lunch,01:00:00,3600.000\n\
         jdoe,2026-11-03,UTC,Total: productive,09:00:00,32400.000\n\
         jdoe,2026-11-03,UTC,Total: non-productive,14:00:00,50400.000\n\
         jdoe,2026-11-03,UTC,Total: unclassified,01:00:00,3600.000\n\
         jdoe,2026-11-03,UTC,Total: online,10:00:00,36000.000\n\
         jdoe,2026-11-03,UTC,Total: after contact work,00:05:00,300.000\n\
         jdoe,2026-11-03,UTC,Total: covered,24:00:00,86400.000\n"
    );
    let html = render(&r, Kind::Summary, Format::Html);
    assert_self_contained(&html);
    // The bars have a part per status and per class of status, keyboard-reachable.
    assert_eq!(opening_tags(&html, "span", "class=\"seg\"").len(), 5 + 3);
    assert!(
        !html.contains("class=\"seg nodata"),
        "the data covers the whole day"
    );
    assert!(
        opening_tags(&html, "span", "class=\"seg")
            .iter()
            .all(|t| t.contains("tabindex=\"0\"") && t.contains("title=\""))
    );
    assert!(html.contains("--c:#2ca02c"));
}

#[test]
fn a_batch_with_html_output_has_an_index_page() {
    let dir = TempDir::new().unwrap();
    let mut events = small_day("jdoe");
    events.push(event("asmith", "LOGIN", "2026-11-03T14:00:00.000Z").status("Available"));
    fs::write(dir.path().join("events.jsonl"), lines(&events)).unwrap();
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        "events = \"events.jsonl\"\nout_dir = \"out\"\ntimezone = \"UTC\"\nformat = \"html\"\n\
         [[report]]\nagents = [\"jdoe\", \"asmith\", \"nobody\"]\ndates = [\"2026-11-03\"]\n\
         [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-03\"]\nkind = \"summary\"\n\
         [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-03\"]\nkind = \"summary\"\nformat = \"csv\"\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "5 report(s): 4 written, 0 denied, 1 failed",
        ));
    let out = dir.path().join("out");
    let mut files: Vec<String> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&out).unwrap().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "asmith/2026-11-03_UTC.html",
            "index.html",
            "jdoe/2026-11-03_UTC.html",
            "jdoe/2026-11-03_UTC.summary.csv",
            "jdoe/2026-11-03_UTC.summary.html",
            "manifest.json",
        ]
    );
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    assert_self_contained(&index);
    for href in [
        "asmith/2026-11-03_UTC.html",
        "jdoe/2026-11-03_UTC.html",
        "jdoe/2026-11-03_UTC.summary.html",
        "jdoe/2026-11-03_UTC.summary.csv",
    ] {
        assert!(
            index.contains(&format!("<a href=\"{href}\">")),
            "no link to {href}"
        );
    }
    assert_eq!(index.matches("status-written\">written<").count(), 4);
    assert_eq!(index.matches("status-failed\">failed<").count(), 1);
    assert!(index.contains("agent `nobody` not found in the events"));
    // Each report is what `report` prints for it.
    let single = report_cmd(dir.path().join("events.jsonl"), "jdoe", "2026-11-03", "UTC")
        .args(["--format", "html", "--kind", "summary"])
        .output()
        .unwrap();
    assert_eq!(
        fs::read(out.join("jdoe/2026-11-03_UTC.summary.html")).unwrap(),
        single.stdout
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = manifest["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    // In file order: asmith, jdoe's audit and two summaries, nobody.
    assert_eq!(kinds, ["audit", "audit", "summary", "summary", "audit"]);
}

#[test]
fn an_unknown_kind_in_a_batch_names_its_place_and_the_closest_kind() {
    let dir = TempDir::new().unwrap();
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        "events = \"e\"\nout_dir = \"out\"\ntimezone = \"UTC\"\n\
         [[report]]\nagents = [\"a\"]\ndates = [\"2026-11-03\"]\nkind = \"sumary\"\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "batch.toml:7:8: unknown report kind `sumary`; did you mean `summary`?",
        ));
}

/// Runs `browser` headless on `page` and returns the DOM it built.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = TempDir::new().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{} did not finish in 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{} failed", browser.display());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_browser_renders_the_timeline_and_the_table() {
    let browser = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !browser.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no chromium at {}: CI installs it (.ci/run)",
            browser.display()
        );
        println!("skipped: no chromium (install with apt-get install chromium)");
        return;
    }
    let r = report(&small_day("jdoe"), "jdoe", "2026-11-03", "UTC");
    let dir = TempDir::new().unwrap();
    let audit = dir.path().join("audit.html");
    let summary = dir.path().join("summary.html");
    fs::write(&audit, render(&r, Kind::Audit, Format::Html)).unwrap();
    fs::write(&summary, render(&r, Kind::Summary, Format::Html)).unwrap();

    let dom = dump_dom(&browser, &audit);
    assert!(dom.contains("<title>Agent activity audit"), "{dom}");
    let blocks = opening_tags(&dom, "a", "class=\"b");
    let table_rows = opening_tags(&dom, "tr", "id=\"r");
    assert_eq!(blocks.len(), r.rows.len(), "{dom}");
    assert_eq!(table_rows.len(), r.rows.len(), "{dom}");
    for (i, row) in r.rows.iter().enumerate() {
        let n = i + 1;
        let block = blocks
            .iter()
            .find(|b| attr(b, "data-row") == n.to_string())
            .unwrap();
        assert_eq!(attr(block, "data-status"), row.status);
        assert_eq!(table_row(&dom, n)[1], row.status);
    }
    // The browser parsed the lanes the blocks sit in, one per status.
    assert_eq!(
        opening_tags(&dom, "div", "class=\"lane\" role=\"group\"").len(),
        r.statuses.len()
    );

    let dom = dump_dom(&browser, &summary);
    assert_eq!(
        opening_tags(&dom, "tr", "data-status=").len(),
        r.statuses.len(),
        "{dom}"
    );
}

#[test]
fn the_zebra_striping_of_even_rows_does_not_cancel_the_gap_hatching() {
    // The hatching is a `background-image` on `.gap`; a `background` shorthand on even rows
    // (more specific) would reset it to none on every other row.
    let report = crate::support::report(
        &[event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available")],
        "a",
        "2026-11-03",
        "UTC",
    );
    let html = render(&report, Kind::Audit, Format::Html);
    let rule_start = html.find("tbody tr:nth-child(even){").unwrap();
    let rule = &html[rule_start..rule_start + html[rule_start..].find('}').unwrap()];
    assert!(!rule.contains("background:"), "{rule}");
    assert!(rule.contains("background-color:"), "{rule}");
    assert!(html.contains(".gap,.hatch{background-image:"));
}
