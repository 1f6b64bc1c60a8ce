//! SPEC §2: a malformed record is skipped and reported with file and line; nothing valid
//! is lost; `--strict` stops at the first one with its location; nothing panics.

use std::fs;
use std::path::Path;

use agent_audit::store::{ReadOptions, Store};
use proptest::prelude::*;
use tempfile::TempDir;

use crate::support::*;

fn valid() -> Vec<Event> {
    vec![
        event("jdoe", "LOGIN", "2026-11-03T13:00:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-03T15:00:00.000Z").status("Offline"),
        event("jdoe", "HEART_BEAT", "2026-11-03T15:02:00.000Z").status("Offline"),
    ]
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(events: &Path, strict: bool) -> Run {
    let mut cmd = report_cmd(events, "jdoe", "2026-11-03", "UTC");
    if strict {
        cmd.arg("--strict");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
    }
}

/// Writes the valid events with `bad` inserted as line 2 and checks the report is the
/// clean one, the message names the file and line, and `--strict` fails there.
fn check(bad: &[u8], expected_message: &str) {
    let dir = TempDir::new().unwrap();
    let clean_path = dir.path().join("clean.jsonl");
    fs::write(&clean_path, lines(&valid())).unwrap();
    let clean = run(&clean_path, false);
    assert_eq!(clean.code, 0);

    let v = valid();
    let mut bytes = format!("{}\n", v[0].line()).into_bytes();
    bytes.extend_from_slice(bad);
    bytes.push(b'\n');
    for e in &v[1..] {
        bytes.extend(format!("{}\n", e.line()).into_bytes());
    }
    let path = dir.path().join("events.jsonl");
    fs::write(&path, &bytes).unwrap();

    let lenient = run(&path, false);
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    assert_eq!(lenient.stdout, clean.stdout, "a valid record was lost");
    let location = format!("{}:2:", path.display());
    assert!(
        lenient.stderr.contains(&location) && lenient.stderr.contains(expected_message),
        "expected `{location}` and `{expected_message}` in:\n{}",
        lenient.stderr
    );

    let strict = run(&path, true);
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(strict.stdout.is_empty());
    assert!(
        strict.stderr.starts_with("error: ") && strict.stderr.contains(&location),
        "{}",
        strict.stderr
    );
}

#[test]
fn a_truncated_object() {
    check(
        br#"{"AgentARN": "arn:x", "EventId": "e1", "EventTimestamp": "2026-11-03T14:"#,
        "malformed record",
    );
}

#[test]
fn a_field_of_the_wrong_type() {
    let mut e = event("jdoe", "STATE_CHANGE", "2026-11-03T14:00:00.000Z").status("Lunch");
    e.0["CurrentAgentSnapshot"]["Contacts"] = serde_json::json!("none");
    check(
        e.line().as_bytes(),
        "invalid type: string \"none\", expected a sequence",
    );
    let mut e = event("jdoe", "STATE_CHANGE", "2026-11-03T14:00:00.000Z").status("Lunch");
    e.0["EventTimestamp"] = serde_json::json!(1_762_178_400_000i64);
    check(
        e.line().as_bytes(),
        "invalid type: integer `1762178400000`, expected a string",
    );
}

#[test]
fn a_missing_event_timestamp() {
    let mut e = event("jdoe", "STATE_CHANGE", "2026-11-03T14:00:00.000Z").status("Lunch");
    e.0.as_object_mut().unwrap().remove("EventTimestamp");
    check(e.line().as_bytes(), "missing field `EventTimestamp`");
}

#[test]
fn a_bad_timestamp() {
    let e = event("jdoe", "STATE_CHANGE", "2026-13-03T14:00:00.000Z").status("Lunch");
    check(
        e.line().as_bytes(),
        "bad `EventTimestamp` `2026-13-03T14:00:00.000Z`: month out of range",
    );
    let e = event("jdoe", "STATE_CHANGE", "yesterday at noon").status("Lunch");
    check(
        e.line().as_bytes(),
        "bad `EventTimestamp` `yesterday at noon`",
    );
}

#[test]
fn binary_garbage() {
    check(
        b"\x00\x9f\x92\x96\xff\xfe garbage \x01\x02",
        "malformed input: expected a JSON object, found byte 0x00",
    );
}

#[test]
fn something_that_is_not_an_object() {
    check(b"[1, 2, 3]", "expected an event (a JSON object)");
    check(b"\"just a string\"", "expected an event (a JSON object)");
}

#[test]
fn an_empty_file_is_noted_and_the_run_succeeds() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("a-empty.json"), b"").unwrap();
    fs::write(dir.path().join("b.jsonl"), lines(&valid())).unwrap();
    let r = run(dir.path(), true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("a-empty.json: empty file, no events"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_truncated_gzip_keeps_what_was_read() {
    use std::io::Write;
    let dir = TempDir::new().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(lines(&valid()).as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let path = dir.path().join("cut.gz");
    fs::write(&path, &gz[..gz.len() - 12]).unwrap();
    let r = run(&path, false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("cut.gz") && r.stderr.contains("stopped reading"),
        "{}",
        r.stderr
    );
    assert!(run(&path, true).code == 1);
}

#[test]
fn many_problems_are_counted_and_the_first_hundred_printed() {
    let dir = TempDir::new().unwrap();
    let mut text = lines(&valid());
    for _ in 0..150 {
        text.push_str("{\"broken\": \n");
        text.push_str(&valid()[2].line());
        text.push('\n');
    }
    let path = dir.path().join("noisy.jsonl");
    fs::write(&path, text).unwrap();
    let r = run(&path, false);
    assert_eq!(r.code, 0);
    let listed = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: ") && l.contains("noisy.jsonl:"))
        .count();
    assert_eq!(listed, 100, "{}", r.stderr);
    assert!(
        r.stderr.contains("... and 50 more malformed records"),
        "{}",
        r.stderr
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(200)))]

    /// Any corruption of a valid file is survived: no panic, and every record whose bytes
    /// were not touched is still read.
    #[test]
    fn corrupted_input_never_panics_and_keeps_untouched_records(
        cut in 0usize..4000,
        garbage in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let events: Vec<Event> = (0..6)
            .map(|i| event("jdoe", "HEART_BEAT", &format!("2026-11-03T13:0{i}:00.000Z")).status("Available"))
            .collect();
        let text = lines(&events);
        let cut = cut.min(text.len());
        let mut bytes = text.as_bytes()[..cut].to_vec();
        bytes.extend(&garbage);
        bytes.push(b'\n');
        bytes.extend(&text.as_bytes()[cut..]);
        let ingested = Store::read_stream("fuzz", bytes.as_slice(), &ReadOptions::default()).unwrap();
        // Records entirely after the cut point are intact.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let untouched_after = line_starts.iter().filter(|&&s| s >= cut && s < text.len()).count();
        let read = ingested.agents.first().map(|a| a.events.len()).unwrap_or(0);
        prop_assert!(read >= untouched_after, "read {read}, expected at least {untouched_after}");
    }
}
