//! SPEC §5, coverage: every report says what part of its window the agent's events cover,
//! and a window that holds none of them says so, naming the nearest events around it.

use serde_json::Value;

use crate::support::*;

/// An agent who logs in on 3 November and changes status once, then is heard from again on
/// 6 November.
fn two_visits() -> Vec<Event> {
    vec![
        event("jdoe", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-03T17:02:11.020Z").status("Offline"),
        event("jdoe", "LOGIN", "2026-11-06T09:00:00.000Z").status("Available"),
    ]
}

fn json_report(events: &[Event], day: &str) -> (Value, String) {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, lines(events)).unwrap();
    let out = report_cmd(&path, "jdoe", day, "UTC")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_reports_state_the_span_of_the_agents_events_and_how_many_fall_in_the_day() {
    let (doc, _) = json_report(&two_visits(), "2026-11-03");
    assert_eq!(
        doc["coverage"],
        serde_json::json!({
            "first_event": "2026-11-03T08:00:00.000+00:00",
            "last_event": "2026-11-06T09:00:00.000+00:00",
            "events_in_window": 2,
        })
    );
}

#[test]
fn a_day_after_the_last_event_warns_that_its_rows_are_inferred_from_the_last_event() {
    let events = &two_visits()[..2];
    let (doc, stderr) = json_report(events, "2030-11-02");
    let warning = "no events of `jdoe` on 2030-11-02: the rows are inferred from the last \
                   event, 2026-11-03T17:02:11.020Z; the day is after the agent's last event, so \
                   nothing observed covers it (the last day with events is 2026-11-03)";
    assert_eq!(doc["warnings"], serde_json::json!([warning]));
    assert_eq!(doc["coverage"]["events_in_window"], 0);
    // The inferred rows are still there.
    assert_eq!(doc["rows"][0]["status"], "Offline");
    assert!(stderr.contains(&format!("warning: {warning}")), "{stderr}");
}

#[test]
fn a_day_between_two_events_names_the_event_before_and_the_event_after() {
    let (doc, _) = json_report(&two_visits(), "2026-11-05");
    assert_eq!(
        doc["warnings"],
        serde_json::json!([
            "no events of `jdoe` on 2026-11-05: the rows are inferred from the event before, \
             2026-11-03T17:02:11.020Z; the next event is 2026-11-06T09:00:00.000Z"
        ])
    );
}

#[test]
fn a_day_before_the_first_event_names_the_first_event() {
    let (doc, _) = json_report(&two_visits(), "2026-11-01");
    let warnings = doc["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with("no events of `jdoe` on 2026-11-01: the rows are inferred from what the first event, 2026-11-03T08:00:00.000Z,")),
        "{warnings:?}"
    );
}

#[test]
fn a_csv_report_warns_on_stderr_when_the_events_do_not_span_the_day() {
    let mut events = two_visits();
    events.push(event("jdoe", "HEART_BEAT", "2026-11-04T12:00:00.000Z").status("Offline"));
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, lines(&events)).unwrap();
    let out = report_cmd(&path, "jdoe", "2026-11-03", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: the events of `jdoe` span 2026-11-03T08:00:00.000Z to \
             2026-11-06T09:00:00.000Z (2 on 2026-11-03): rows outside that span are inferred"
        ),
        "{stderr}"
    );
    // A day the events span from end to end needs no such warning.
    let out = report_cmd(&path, "jdoe", "2026-11-04", "UTC")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr, "", "{stderr}");
}

#[test]
fn the_html_header_states_how_many_events_fall_in_the_day_and_their_span() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, lines(&two_visits())).unwrap();
    for (day, count) in [
        ("2026-11-03", "2 on this day"),
        ("2026-11-05", "none on this day: every row is inferred"),
    ] {
        let out = report_cmd(&path, "jdoe", day, "UTC")
            .args(["--format", "html"])
            .output()
            .unwrap();
        let html = String::from_utf8(out.stdout).unwrap();
        let header = &html[html.find("<header>").unwrap()..html.find("</header>").unwrap()];
        assert!(
            header.contains(&format!(
                "<dt>Events</dt><dd>{count} <span class=\"sub\">(the agent's events run from \
                 2026-11-03T08:00:00.000+00:00 to 2026-11-06T09:00:00.000+00:00)</span></dd>"
            )),
            "{header}"
        );
    }
}

/// A batch writes CSV reports, which have no room for their coverage: the manifest carries
/// every report's, and the run says once how many CSV reports cover their day only in part.
#[test]
fn a_batch_states_each_reports_coverage_in_its_manifest() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("events.jsonl"), lines(&two_visits())).unwrap();
    let batch = dir.path().join("batch.toml");
    std::fs::write(
        &batch,
        "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\n\
         [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-03\", \"2026-11-04\"]\n",
    )
    .unwrap();
    let out = bin().arg("run").arg(&batch).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the events of 1 CSV report(s) do not span their whole day"),
        "{stderr}"
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/manifest.json")).unwrap(),
    )
    .unwrap();
    let coverage: Vec<&Value> = manifest["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["coverage"])
        .collect();
    let expected = |in_window: u64, spans_day: bool| {
        serde_json::json!({
            "first_event": "2026-11-03T08:00:00.000+00:00",
            "last_event": "2026-11-06T09:00:00.000+00:00",
            "events_in_window": in_window,
            "spans_day": spans_day,
        })
    };
    // 3 November holds two events, and starts before the first. 4 November holds none, but
    // lies between two (its no-events warning says so).
    assert_eq!(coverage, [&expected(2, false), &expected(0, true)]);
}
