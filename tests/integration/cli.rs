//! The command line: errors a contact-centre admin can act on, exit codes, output files.

use std::fs;

use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

use crate::support::*;

/// `report` for `agent` on 2026-11-03 in `zone`, over a small events file in `dir`.
fn cmd(dir: &TempDir, agent: &str, zone: &str) -> assert_cmd::Command {
    cmd_on(dir, agent, "2026-11-03", zone)
}

fn cmd_on(dir: &TempDir, agent: &str, date: &str, zone: &str) -> assert_cmd::Command {
    let path = dir.path().join("events.jsonl");
    let events = [
        event("jdoe", "LOGIN", "2026-11-03T13:00:00.000Z").status("Available"),
        event("jsmith", "LOGIN", "2026-11-03T13:00:00.000Z").status("Available"),
        event("jdoe", "LOGOUT", "2026-11-03T21:00:00.000Z").status("Offline"),
    ];
    fs::write(&path, lines(&events)).unwrap();
    report_cmd(path, agent, date, zone)
}

#[test]
fn an_unknown_time_zone_is_a_usage_error_with_suggestions() {
    let dir = TempDir::new().unwrap();
    cmd(&dir, "jdoe", "America/New_Yrok")
        .assert()
        .code(2)
        .stderr(contains("unknown time zone `America/New_Yrok`"))
        .stderr(contains("did you mean `America/New_York`"));
}

#[test]
fn time_zones_are_accepted_in_any_letter_case() {
    let dir = TempDir::new().unwrap();
    cmd(&dir, "jdoe", "europe/london")
        .assert()
        .success()
        .stdout(contains("2026-11-03T13:00:00.000+00:00"));
}

#[test]
fn a_bad_date_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    for bad in ["2026-02-30", "03/11/2026", "2026-11-3", "tomorrow"] {
        cmd_on(&dir, "jdoe", bad, "UTC")
            .assert()
            .code(2)
            .stderr(contains(format!("`{bad}`")))
            .stderr(contains("YYYY-MM-DD"));
    }
}

#[test]
fn an_agent_not_in_the_events_fails_with_the_closest_logins() {
    let dir = TempDir::new().unwrap();
    cmd(&dir, "jdeo", "UTC")
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(contains(
            "error: agent `jdeo` not found in the events; closest logins: `jdoe`",
        ));
}

#[test]
fn an_agent_may_be_given_by_arn() {
    let dir = TempDir::new().unwrap();
    cmd(&dir, &arn("jsmith"), "UTC")
        .assert()
        .success()
        .stdout(contains("jsmith,Available"));
}

#[test]
fn an_unreadable_path_fails_the_report() {
    report_cmd("/no/such/dir/events.json", "jdoe", "2026-11-03", "UTC")
        .assert()
        .code(1)
        .stderr(predicate::str::diff(
            "error: no such file or directory: `/no/such/dir/events.json`\n",
        ));
}

#[test]
fn missing_arguments_are_usage_errors() {
    bin()
        .args(["report", "--agent", "jdoe"])
        .assert()
        .code(2)
        .stderr(contains("--events"));
}

#[test]
fn out_writes_the_file_and_nothing_else() {
    let dir = TempDir::new().unwrap();
    let out_dir = TempDir::new().unwrap();
    let out = out_dir.path().join("jdoe.csv");
    cmd(&dir, "jdoe", "UTC")
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    let csv = fs::read_to_string(&out).unwrap();
    assert!(
        csv.starts_with("Agent login,Status,Start time,End time,Duration,Duration (s),Flags\n")
    );
    // Written through a temporary file and a rename: nothing else is left behind.
    let names: Vec<_> = fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("jdoe.csv")]);
}

#[test]
fn an_unwritable_out_path_fails_the_report() {
    let dir = TempDir::new().unwrap();
    cmd(&dir, "jdoe", "UTC")
        .args(["--out", "/no/such/dir/x.csv"])
        .assert()
        .code(1)
        .stderr(contains("cannot write `/no/such/dir/x.csv`"));
}

#[test]
fn json_output_matches_the_spec_field_for_field() {
    let dir = TempDir::new().unwrap();
    let out = cmd(&dir, "jdoe", "America/New_York")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // In the order the spec lists them.
    keys.sort_by_key(|k| text.find(&format!("\n  \"{k}\":")));
    assert_eq!(
        keys,
        ["agent", "date", "timezone", "rows", "warnings", "coverage"]
    );
    assert_eq!(doc["agent"], "jdoe");
    assert_eq!(doc["date"], "2026-11-03");
    assert_eq!(doc["timezone"], "America/New_York");
    assert_eq!(doc["warnings"], serde_json::json!([]));
    let rows = doc["rows"].as_array().unwrap();
    // Lineage: the event that started the row (its id is the test data's), and the rule.
    let mut second = rows[1].clone();
    let first_event_id = second
        .as_object_mut()
        .unwrap()
        .remove("first_event_id")
        .unwrap();
    assert_eq!(first_event_id.as_str().map(str::len), Some(36));
    assert_eq!(
        second,
        serde_json::json!({
            "status": "Available",
            "start": "2026-11-03T08:00:00.000-05:00",
            "end": "2026-11-03T16:00:00.000-05:00",
            "duration_ms": 28_800_000,
            // Eight hours without a heartbeat in this test data.
            "flags": ["gap"],
            "events": 1,
            "rule": format!("scripts/catalogs/connect.toml:{}", line_of_status("Available")),
        })
    );
    assert_eq!(rows[0]["flags"], serde_json::json!(["continued"]));
    for row in rows {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "duration_ms",
                "end",
                "events",
                "first_event_id",
                "flags",
                "rule",
                "start",
                "status"
            ]
        );
        assert!(row["duration_ms"].is_i64());
    }
    let first_row = &text[text.find("\"rows\"").unwrap()..];
    let order: Vec<usize> = [
        "status",
        "start",
        "end",
        "duration_ms",
        "flags",
        "events",
        "first_event_id",
        "rule",
    ]
    .iter()
    .map(|k| first_row.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(order.is_sorted(), "row fields out of order: {first_row}");
}

#[test]
fn help_explains_the_command_in_plain_words() {
    bin()
        .args(["report", "--help"])
        .assert()
        .success()
        .stdout(contains("IANA name such as America/New_York"))
        .stdout(contains("Exit status"));
}

#[test]
fn json_rows_carry_the_configurations_extra_columns() {
    let s = setup(
        &[],
        "[report]\ncolumns = [\"agent_login\", \"status\", \"start_time\", \"end_time\", \
         \"duration\", \"duration_seconds\", \"flags\", \"channel\", \"contact_id\", \
         \"agent_name\", \"hierarchy_1\"]\n",
    );
    let events = s.events(&[
        event("jdoe", "LOGIN", "2026-11-03T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America"]),
        event("jdoe", "STATE_CHANGE", "2026-11-03T14:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America"])
            .contact(connected(contact("c1", "VOICE", "INBOUND", "CONNECTED"))),
    ]);
    let out = report_cmd(&events, "jdoe", "2026-11-03", "UTC")
        .args(["--format", "json", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    let extra = |row: &serde_json::Value| {
        ["channel", "contact_id", "agent_name", "hierarchy_1"].map(|k| row[k].clone())
    };
    let null = serde_json::Value::Null;
    let text = |s: &str| serde_json::Value::from(s);
    assert_eq!(
        extra(&rows[1]),
        [null.clone(), null, text("Test jdoe"), text("North America")]
    );
    assert_eq!(
        extra(&rows[2]),
        [
            text("VOICE"),
            text("c1"),
            text("Test jdoe"),
            text("North America")
        ]
    );
    // The columns every row has already are not repeated under their column names.
    assert!(rows[2].get("start_time").is_none() && rows[2].get("agent_login").is_none());
}

#[test]
fn report_help_says_a_denied_report_exits_1() {
    let out = bin().args(["report", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap().replace('\n', " ");
    let exit_1 = &help[help.find("1 the report").unwrap()..help.find("; 2 a usage").unwrap()];
    assert!(exit_1.contains("denied"), "{exit_1}");
}

/// The line of the `[[status]]` header of `name` in the shipped `connect` catalogue.
fn line_of_status(name: &str) -> usize {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/catalogs/connect.toml"),
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("name = \"{name}\""))
        .unwrap();
    // The header is the nearest `[[status]]` above the name.
    (0..at).rev().find(|&i| lines[i] == "[[status]]").unwrap() + 1
}

#[test]
fn version_carries_the_notices_of_the_ported_code() {
    let out = bin().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    for notice in [
        "Copyright (C) 1994-2024 Lua.org, PUC-Rio.",
        "The simdjson authors",
    ] {
        assert!(text.contains(notice), "{notice} missing from --version");
    }
    // `-V` stays one line.
    let short = bin().arg("-V").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&short.stdout).lines().count(), 1);
}

#[test]
fn a_zone_abbreviation_is_refused_with_the_zone_meant_and_a_legacy_name_warned() {
    let dir = TempDir::new().unwrap();
    // EST is a fixed UTC-05:00: summer hours would be an hour off, so it is refused.
    cmd(&dir, "jdoe", "EST")
        .assert()
        .code(2)
        .stderr(contains(
            "time zone `EST` is a fixed UTC−05:00 with no daylight saving",
        ))
        .stderr(contains("America/New_York"));
    cmd(&dir, "jdoe", "pst")
        .assert()
        .code(2)
        .stderr(contains("use America/Los_Angeles"));
    let legacy = cmd(&dir, "jdoe", "US/Eastern")
        .assert()
        .success()
        .stderr(contains(
            "warning: time zone `US/Eastern` is a legacy name of America/New_York",
        ));
    let canonical = cmd(&dir, "jdoe", "America/New_York").assert().success();
    let (a, b) = (legacy.get_output(), canonical.get_output());
    // The same rows; only the zone's name in them differs.
    assert_eq!(
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
}

#[test]
fn a_day_outside_the_agents_events_names_the_nearest_day_with_events_and_fails_under_strict() {
    let dir = TempDir::new().unwrap();
    // The events are of 2026-11-03.
    cmd_on(&dir, "jdoe", "2030-11-02", "UTC")
        .assert()
        .success()
        .stderr(contains(
            "the day is after the agent's last event, so nothing observed covers it (the last day with events is 2026-11-03)",
        ));
    cmd_on(&dir, "jdoe", "2026-10-01", "UTC")
        .assert()
        .success()
        .stderr(contains("(the first day with events is 2026-11-03)"));
    cmd_on(&dir, "jdoe", "2030-11-02", "UTC")
        .arg("--strict")
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains(
            "error: --strict: no event of `jdoe` reaches 2030-11-02; nothing was written",
        ));
    // A day with events is unaffected by --strict.
    cmd_on(&dir, "jdoe", "2026-11-03", "UTC")
        .arg("--strict")
        .assert()
        .success();
}
