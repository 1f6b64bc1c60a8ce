//! Issue #12, SPEC §2: hostile input never loses a valid record, never costs more than
//! linear work, and never fails a report over something that can be skipped.
//!
//! The tests under "For the event store (lead)" at the end of this file describe what the
//! new event store must do about records it skips; they fail until it does.

use std::time::Duration;

use agent_audit::store::{ReadOptions, Store};
use predicates::prelude::*;
use predicates::str::contains;

use crate::support::*;

fn login_event(login: &str, ts: &str) -> Event {
    event(login, "LOGIN", ts).status("Available")
}

fn ingest_text(text: &str) -> Store {
    Store::read_stream("t.jsonl", text.as_bytes(), &ReadOptions::default()).unwrap()
}

/// The logins found in `text` read as one stream, and the problems' `line:col` places.
fn read(text: &str) -> (Vec<String>, Vec<String>) {
    let ingested = ingest_text(text);
    let mut logins: Vec<String> = ingested
        .agents
        .iter()
        .map(|a| a.profile.login.clone())
        .collect();
    logins.sort();
    let places = ingested
        .problems
        .kept()
        .iter()
        .map(|p| format!("{}:{}", p.at.line, p.at.column))
        .collect();
    (logins, places)
}

#[test]
fn an_unclosed_record_does_not_take_the_next_line_with_it() {
    let line1 = login_event("a1", "2026-11-03T08:00:00.000Z").line();
    let line3 = login_event("a3", "2026-11-03T09:00:00.000Z").line();
    let line4 = login_event("a4", "2026-11-03T10:00:00.000Z").line();
    for bad in [
        r#"{"AgentARN":"arn:aws:connect:us-east-1:1:instance/i/agent/zz","Configuration":{"Username":"zz","FirstName":{"#,
        r#"{"AgentARN":"arn:zz","CurrentAgentSnapshot":{"Configuration":{"Username":"zz","FirstName":"#,
        r#"{"AgentARN":"arn:zz","EventId":"x"#,
        r#"{"AgentARN":"arn:zz","x":[{"#,
        "{",
    ] {
        let text = format!("{line1}\n{bad}\n{line3}\n{line4}\n");
        let (logins, places) = read(&text);
        assert_eq!(logins, ["a1", "a3", "a4"], "{bad}");
        assert_eq!(places, ["2:1"], "{bad}");
        // Broken first: the framing is learnt from the line after it.
        let text = format!("{bad}\n{line3}\n{line4}\n");
        let (logins, places) = read(&text);
        assert_eq!(logins, ["a3", "a4"], "{bad}");
        assert_eq!(places, ["1:1"], "{bad}");
    }
}

#[test]
fn batch_and_single_agent_reports_agree_around_a_broken_line() {
    let s = setup(&[], "");
    let events = [
        login_event("a1", "2026-11-03T08:00:00.000Z"),
        login_event("a3", "2026-11-03T09:00:00.000Z"),
    ];
    let path = s.dir.path().join("events.jsonl");
    let bad = r#"{"AgentARN":"arn:zz","Configuration":{"Username":"a3","FirstName":{"#;
    std::fs::write(
        &path,
        format!("{}\n{bad}\n{}\n", events[0].line(), events[1].line()),
    )
    .unwrap();
    report_cmd(&path, "a3", "2026-11-03", "UTC")
        .assert()
        .success()
        .stdout(contains("a3,Available,2026-11-03T09:00:00.000+00:00"))
        .stderr(contains("events.jsonl:2:1: malformed record"));
    let batch = s.dir.path().join("batch.toml");
    std::fs::write(
        &batch,
        "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-03\"]\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success();
    let single = std::fs::read_to_string(s.dir.path().join("out/a3/2026-11-03_UTC.csv")).unwrap();
    assert!(
        single.contains("a3,Available,2026-11-03T09:00:00.000+00:00"),
        "{single}"
    );
}

#[test]
fn deep_unclosed_input_and_floods_of_tiny_records_are_read() {
    // 250 KB of unclosed objects used to take 43 s (quadratic in the depth); a million
    // `{}` lines 18 s (each record was shown the rest of the buffer). No timing is
    // asserted here: `framing::tests` assert the work done.
    let s = setup(&[], "");
    let valid = login_event("agent", "2026-11-03T08:00:00.000Z").line();
    let deep = s.dir.path().join("deep.json");
    std::fs::write(&deep, format!("{}\n{valid}\n", "{\"a\":".repeat(50_000))).unwrap();
    let started = std::time::Instant::now();
    report_cmd(&deep, "agent", "2026-11-03", "UTC")
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .stdout(contains("agent,Available"))
        .stderr(contains("deep.json:1:1: malformed record"));
    eprintln!("deep: {:.2} s", started.elapsed().as_secs_f64());
    let flood = s.dir.path().join("flood.jsonl");
    std::fs::write(&flood, format!("{valid}\n{}", "{}\n".repeat(1_000_000))).unwrap();
    let started = std::time::Instant::now();
    report_cmd(&flood, "agent", "2026-11-03", "UTC")
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .stdout(contains("agent,Available"));
    eprintln!("flood: {:.2} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_fifo_or_process_substitution_is_read_once() {
    let s = setup(&[], "");
    let path = s.events(&[login_event("agent", "2026-11-03T08:00:00.000Z")]);
    let bin = assert_cmd::cargo::cargo_bin!("agent-audit");
    // `<(…)` is a pipe at /dev/fd/N: reading it twice waited forever or found it empty.
    let script = format!(
        "{} report --events <(cat {}) --agent agent --date 2026-11-03 --timezone UTC",
        bin.display(),
        path.display()
    );
    assert_cmd::Command::new("bash")
        .arg("-c")
        .arg(script)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(contains("agent,Available"))
        .stderr(contains("empty file").not());
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_or_a_dangling_link_in_a_directory_is_skipped_with_a_warning() {
    let s = setup(&[], "");
    let dir = s.dir.path().join("events");
    std::fs::create_dir_all(dir.join("2026/11")).unwrap();
    std::fs::write(
        dir.join("2026/11/a.jsonl"),
        lines(&[login_event("agent", "2026-11-03T08:00:00.000Z")]),
    )
    .unwrap();
    std::os::unix::fs::symlink("..", dir.join("2026/11/up")).unwrap();
    std::os::unix::fs::symlink("missing.jsonl", dir.join("2026/gone.jsonl")).unwrap();
    report_cmd(&dir, "agent", "2026-11-03", "UTC")
        .assert()
        .success()
        .stdout(contains("agent,Available"))
        .stderr(contains("skipped").and(contains("a symbolic link loop")))
        .stderr(contains(
            "gone.jsonl`: a symbolic link to something that does not exist",
        ));
}

// ---------------------------------------------------------------------------------------
// What the event store does about the records it skips.
// ---------------------------------------------------------------------------------------

/// A record whose `AgentARN` is missing, empty or not a string is skipped,
/// counted and reported, like any malformed record; `{}` and `[[]]` are not events either.
#[test]
fn records_without_a_usable_agent_arn_are_reported() {
    let valid = login_event("agent", "2026-11-03T08:00:00.000Z").line();
    let text = format!(
        "{valid}\n{{}}\n[[]]\n{{\"AgentARN\":5,\"EventTimestamp\":\"2026-11-03T08:00:00Z\"}}\n\
         {{\"AgentARN\":\"\",\"EventTimestamp\":\"2026-11-03T08:00:00Z\"}}\n\
         {{\"EventTimestamp\":\"2026-11-03T08:00:00Z\"}}\n"
    );
    let (logins, places) = read(&text);
    assert_eq!(logins, ["agent"]);
    let lines: Vec<&str> = places
        .iter()
        .map(|p| p.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(lines, ["2", "3", "4", "5", "6"], "{places:?}");
}

/// A single-agent report passes over other agents' records unparsed, but a record without a
/// usable `AgentARN` is nobody's: it is reported there too, at the same places.
#[test]
fn a_single_agent_report_reports_records_without_a_usable_agent_arn() {
    let s = setup(&[], "");
    let path = s.dir.path().join("events.jsonl");
    let valid = login_event("agent", "2026-11-03T08:00:00.000Z").line();
    let other = login_event("other", "2026-11-03T08:00:00.000Z").line();
    std::fs::write(
        &path,
        format!(
            "{valid}\n{{}}\n[[]]\n{{\"AgentARN\":5,\"EventTimestamp\":\"2026-11-03T08:00:00Z\"}}\n\
             {{\"AgentARN\":\"\",\"EventTimestamp\":\"2026-11-03T08:00:00Z\"}}\n{other}\n"
        ),
    )
    .unwrap();
    let out = report_cmd(&path, "agent", "2026-11-03", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in 2..=5 {
        assert!(
            stderr.contains(&format!("events.jsonl:{line}:")),
            "line {line} not reported: {stderr}"
        );
    }
    assert!(!stderr.contains("events.jsonl:6:"), "{stderr}");
}

/// Memory for problems does not grow with their number: the first hundred
/// are kept (`input::problems::ProblemLog`), all are counted.
#[test]
fn problems_are_counted_but_only_the_first_are_kept() {
    let valid = login_event("agent", "2026-11-03T08:00:00.000Z").line();
    let text = format!("{valid}\n{}", "{\"AgentARN\":1}\n".repeat(10_000));
    let ingested = ingest_text(&text);
    assert_eq!(ingested.stats.problems, 10_000);
    assert_eq!(ingested.problems.total(), 10_000);
    assert!(
        ingested.problems.kept().len() <= 100,
        "{} kept",
        ingested.problems.kept().len()
    );
}

/// Under `--strict` a skipped record fails the report with its place, also
/// in a single-agent report (which passes over other agents' records unparsed).
#[test]
fn strict_fails_on_a_record_without_an_agent_arn() {
    let s = setup(&[], "");
    let path = s.dir.path().join("events.jsonl");
    let valid = login_event("agent", "2026-11-03T08:00:00.000Z").line();
    std::fs::write(&path, format!("{valid}\n{{\"AgentARN\":5}}\n")).unwrap();
    report_cmd(&path, "agent", "2026-11-03", "UTC")
        .arg("--strict")
        .assert()
        .code(1)
        .stderr(contains("events.jsonl:2:1"));
}
