//! SPEC §3: one test per reducer rule, each on the smallest event sequence that shows it.
//! Test data has no heartbeats, so tests of other rules switch the `gap` flag off; the gap
//! tests use the default `stale_after` of 300 s.

use agent_audit::catalog::CatalogName;
use agent_audit::report::Report;

use crate::support::*;

const DAY: &str = "2026-11-03";

fn day_report(events: &[Event], day: &str, zone: &str) -> Report {
    report_full(CatalogName::Connect, events, "a", day, zone, NO_GAPS)
}

fn day_rows(events: &[Event]) -> Vec<String> {
    rows(&day_report(events, DAY, "UTC"))
}

#[test]
fn events_are_ordered_by_timestamp_not_by_input_order() {
    let login = event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available");
    let lunch = event("a", "STATE_CHANGE", "2026-11-03T12:00:00.000Z").status("Lunch");
    let back = event("a", "STATE_CHANGE", "2026-11-03T13:00:00.000Z").status("Available");
    let in_order = day_rows(&[login.clone(), lunch.clone(), back.clone()]);
    let shuffled = day_rows(&[back, login, lunch]);
    assert_eq!(in_order, shuffled);
    assert_eq!(
        in_order,
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-12:00:00.000",
            "Lunch 12:00:00.000-13:00:00.000",
            "Available 13:00:00.000-00:00:00.000 truncated;open",
        ]
    );
}

#[test]
fn equal_timestamps_keep_input_order() {
    let t = "2026-11-03T10:00:00.000Z";
    let login = event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available");
    let first = event("a", "STATE_CHANGE", t).status("Lunch");
    let second = event("a", "STATE_CHANGE", t).status("Break");
    let rows_ab = day_rows(&[login.clone(), first.clone(), second.clone()]);
    assert_eq!(
        rows_ab.last().map(String::as_str),
        Some("Break 10:00:00.000-00:00:00.000 truncated;open")
    );
    let rows_ba = day_rows(&[login, second, first]);
    assert_eq!(
        rows_ba.last().map(String::as_str),
        Some("Lunch 10:00:00.000-00:00:00.000 truncated;open")
    );
}

#[test]
fn a_repeated_event_id_is_dropped_and_the_first_occurrence_wins() {
    let login = event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available");
    let lunch = event("a", "STATE_CHANGE", "2026-11-03T12:00:00.000Z").status("Lunch");
    let same_again = lunch.clone();
    // Same EventId, different content, later in the input: ignored, with a warning.
    let impostor = event("a", "STATE_CHANGE", "2026-11-03T12:30:00.000Z")
        .status("Break")
        .id(lunch.0["EventId"].as_str().unwrap());
    let r = day_report(
        &[login.clone(), lunch.clone(), same_again, impostor],
        DAY,
        "UTC",
    );
    assert_eq!(rows(&r), day_rows(&[login, lunch]));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("with different content")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn the_duplicate_event_id_warning_names_the_event_id_and_the_files() {
    let dir = tempfile::TempDir::new().unwrap();
    let lunch = event("a", "STATE_CHANGE", "2026-11-03T12:00:00.000Z").status("Lunch");
    let id = lunch.0["EventId"].as_str().unwrap().to_string();
    let impostor = event("a", "STATE_CHANGE", "2026-11-03T12:30:00.000Z")
        .status("Break")
        .id(&id);
    let (first, second) = (dir.path().join("1.jsonl"), dir.path().join("2.jsonl"));
    std::fs::write(&first, lines(&[lunch])).unwrap();
    std::fs::write(&second, lines(&[impostor])).unwrap();
    let out = report_cmd(&first, "a", DAY, "UTC")
        .arg("--events")
        .arg(&second)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "warning: `EventId` `{id}` appears in `{}` and again in `{}` with different content; \
         the first occurrence was kept",
        first.display(),
        second.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_configuration_only_state_change_does_not_start_a_row() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z")
            .status("Available")
            .routing_profile("Another profile"),
    ];
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn a_next_status_change_does_not_start_a_row() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z")
            .status("Available")
            .next_status("Lunch"),
    ];
    assert_eq!(day_rows(&events).len(), 2);
}

#[test]
fn heartbeats_with_the_same_label_do_not_start_a_row() {
    let mut events = vec![event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available")];
    for minute in (2..60).step_by(2) {
        events.push(
            event(
                "a",
                "HEART_BEAT",
                &format!("2026-11-03T08:{minute:02}:00.000Z"),
            )
            .status("Available"),
        );
    }
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn a_heartbeat_that_reveals_a_different_state_starts_a_row() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "HEART_BEAT", "2026-11-03T08:02:00.000Z").status("Lunch"),
    ];
    assert_eq!(
        day_rows(&events)[2],
        "Lunch 08:02:00.000-00:00:00.000 truncated;open"
    );
}

#[test]
fn an_event_without_a_current_snapshot_keeps_the_label() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").without_current(),
        event("a", "STATE_CHANGE", "2026-11-03T10:00:00.000Z").status("Lunch"),
    ];
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-10:00:00.000",
            "Lunch 10:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn before_the_first_event_its_previous_snapshot_decides() {
    let events = [event("a", "STATE_CHANGE", "2026-11-03T10:00:00.000Z")
        .previous("Break")
        .status("Available")];
    assert_eq!(
        day_rows(&events),
        [
            "Break 00:00:00.000-10:00:00.000 continued",
            "Available 10:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn before_a_first_login_without_previous_snapshot_the_agent_is_offline() {
    let events = [event("a", "LOGIN", "2026-11-03T10:00:00.000Z").status("Available")];
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-10:00:00.000 continued",
            "Available 10:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn before_any_other_first_event_nothing_is_known() {
    let events = [event("a", "HEART_BEAT", "2026-11-03T10:00:00.000Z").status("Available")];
    assert_eq!(
        day_rows(&events),
        ["Available 10:00:00.000-00:00:00.000 truncated;open"]
    );
    // And a day entirely before it has no rows, with a warning that says why.
    let r = report(&events, "a", "2026-11-02", "UTC");
    assert!(r.rows.is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("first event is after this day")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn data_ending_while_logged_in_flags_the_last_row_open_on_every_later_day() {
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available")];
    let next_day = rows(&report(&events, "a", "2026-11-04", "UTC"));
    assert_eq!(
        next_day,
        ["Available 00:00:00.000-00:00:00.000 continued;truncated;open"]
    );
}

#[test]
fn data_ending_offline_is_not_open() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "LOGOUT", "2026-11-03T17:00:00.000Z").status("Offline"),
    ];
    assert_eq!(
        day_rows(&events).last().map(String::as_str),
        Some("Offline 17:00:00.000-00:00:00.000 truncated")
    );
}

#[test]
fn a_silence_longer_than_stale_after_inside_a_logged_in_row_is_a_gap() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "HEART_BEAT", "2026-11-03T08:02:00.000Z").status("Available"),
        // 300.001 s of silence: more than stale_after (300 s).
        event("a", "HEART_BEAT", "2026-11-03T08:07:00.001Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").status("Lunch"),
        // Exactly 300 s: not a gap.
        event("a", "HEART_BEAT", "2026-11-03T09:05:00.000Z").status("Lunch"),
        event("a", "LOGOUT", "2026-11-03T09:10:00.000Z").status("Offline"),
        // Silence while offline is never a gap.
        event("a", "HEART_BEAT", "2026-11-03T12:00:00.000Z").status("Offline"),
    ];
    assert_eq!(
        rows(&report(&events, "a", DAY, "UTC")),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-09:00:00.000 gap",
            "Lunch 09:00:00.000-09:10:00.000",
            "Offline 09:10:00.000-00:00:00.000 truncated",
        ]
    );
}

#[test]
fn the_silence_after_the_last_event_is_open_not_gap() {
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available")];
    assert_eq!(
        rows(&report(&events, "a", DAY, "UTC"))[1],
        "Available 08:00:00.000-00:00:00.000 truncated;open"
    );
}

#[test]
fn a_gap_across_midnight_is_flagged_on_both_days() {
    let events = [
        event("a", "LOGIN", "2026-11-03T22:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-04T02:00:00.000Z").status("Lunch"),
    ];
    assert_eq!(
        rows(&report(&events, "a", DAY, "UTC"))[1],
        "Available 22:00:00.000-00:00:00.000 truncated;gap"
    );
    let next = rows(&report(&events, "a", "2026-11-04", "UTC"));
    assert_eq!(next[0], "Available 00:00:00.000-02:00:00.000 continued;gap");
}

#[test]
fn rows_are_clipped_to_the_window_on_a_normal_day() {
    // New York, 2026-11-03: 05:00Z to 05:00Z next day.
    let events = [
        event("a", "LOGIN", "2026-11-02T20:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T15:00:00.000Z").status("Lunch"),
        event("a", "STATE_CHANGE", "2026-11-04T06:00:00.000Z").status("Available"),
    ];
    let r = day_report(&events, DAY, "America/New_York");
    assert_eq!(
        rows(&r),
        [
            "Available 00:00:00.000-10:00:00.000 continued",
            "Lunch 10:00:00.000-00:00:00.000 truncated"
        ]
    );
    assert_eq!(total_ms(&r), 24 * 3_600_000);
}

#[test]
fn a_23_hour_day() {
    // US spring forward: 2026-03-08 in New York has 23 hours.
    let events = [event("a", "LOGIN", "2026-03-07T12:00:00.000Z").status("Available")];
    let r = report(&events, "a", "2026-03-08", "America/New_York");
    assert_eq!(
        rows(&r),
        ["Available 00:00:00.000-00:00:00.000 continued;truncated;open"]
    );
    assert_eq!(total_ms(&r), 23 * 3_600_000);
    assert_eq!(
        r.rows[0].start.format_local(r.window.tz),
        "2026-03-08T00:00:00.000-05:00"
    );
    assert_eq!(
        r.rows[0].end.format_local(r.window.tz),
        "2026-03-09T00:00:00.000-04:00"
    );
}

#[test]
fn a_25_hour_day() {
    // US fall back: 2026-11-01 in New York has 25 hours; a row can last 25:00:00.
    let events = [event("a", "LOGIN", "2026-10-31T12:00:00.000Z").status("Available")];
    let r = report(&events, "a", "2026-11-01", "America/New_York");
    assert_eq!(total_ms(&r), 25 * 3_600_000);
    let mut csv = Vec::new();
    agent_audit::report::csv::write(
        &r,
        &agent_audit::report::columns::default_columns(),
        &mut csv,
    )
    .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("a,Available,2026-11-01T00:00:00.000-04:00,2026-11-02T00:00:00.000-05:00,25:00:00,90000.000,continued;truncated;open"),
        "{csv}"
    );
}

#[test]
fn rows_inside_a_25_hour_day_add_up() {
    // Events inside the repeated hour (01:00-02:00 happens twice).
    let events = [
        event("a", "LOGIN", "2026-11-01T05:30:00.000Z").status("Available"), // 01:30 EDT
        event("a", "STATE_CHANGE", "2026-11-01T06:30:00.000Z").status("Lunch"), // 01:30 EST
    ];
    let r = report(&events, "a", "2026-11-01", "America/New_York");
    assert_eq!(r.rows[1].duration_ms(), 3_600_000);
    assert_eq!(total_ms(&r), 25 * 3_600_000);
}

#[test]
fn a_row_across_midnight_is_seen_from_both_days() {
    let events = [
        event("a", "LOGIN", "2026-11-03T22:00:00.000Z").status("Available"),
        event("a", "HEART_BEAT", "2026-11-03T23:59:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-04T00:01:00.000Z").status("Lunch"),
    ];
    assert_eq!(
        day_rows(&events)[1],
        "Available 22:00:00.000-00:00:00.000 truncated"
    );
    assert_eq!(
        rows(&day_report(&events, "2026-11-04", "UTC")),
        [
            "Available 00:00:00.000-00:01:00.000 continued",
            "Lunch 00:01:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn times_keep_milliseconds_and_sub_millisecond_digits_are_truncated() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.1239Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T08:05:00.248+00:00").status("Lunch"),
    ];
    let r = report(&events, "a", DAY, "UTC");
    assert_eq!(r.rows[1].duration_ms(), 300_125);
    let mut csv = Vec::new();
    agent_audit::report::csv::write(
        &r,
        &agent_audit::report::columns::default_columns(),
        &mut csv,
    )
    .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("a,Available,2026-11-03T08:00:00.123+00:00,2026-11-03T08:05:00.248+00:00,00:05:00,300.125,"),
        "{csv}"
    );
}

#[test]
fn a_label_that_lasts_no_time_is_not_shown() {
    let t = "2026-11-03T10:00:00.000Z";
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", t).status("Lunch"),
        event("a", "STATE_CHANGE", t).status("Available"),
    ];
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn a_zero_length_segment_is_not_shown_and_only_equal_neighbours_merge() {
    // SPEC §3.7: Lunch starts and ends at 10:00; Available and Break on either side differ,
    // so they stay two rows that meet at 10:00 (the equal-neighbours case merges, above).
    let t = "2026-11-03T10:00:00.000Z";
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", t).status("Lunch"),
        event("a", "STATE_CHANGE", t).status("Break"),
    ];
    assert_eq!(
        day_rows(&events),
        [
            "Offline 00:00:00.000-08:00:00.000 continued",
            "Available 08:00:00.000-10:00:00.000",
            "Break 10:00:00.000-00:00:00.000 truncated;open"
        ]
    );
}

#[test]
fn a_row_that_ends_or_starts_exactly_at_midnight_is_neither_truncated_nor_continued() {
    let events = [
        event("a", "LOGIN", "2026-11-03T20:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-04T00:00:00.000Z").status("Lunch"),
        event("a", "LOGOUT", "2026-11-04T01:00:00.000Z").status("Offline"),
    ];
    assert_eq!(day_rows(&events)[1], "Available 20:00:00.000-00:00:00.000");
    assert_eq!(
        rows(&day_report(&events, "2026-11-04", "UTC"))[0],
        "Lunch 00:00:00.000-01:00:00.000"
    );
}
