//! Issue #12: hostile logins and names in what agent-audit writes and prints — output
//! names one to one, no spreadsheet formulas in CSV, no terminal escapes echoed.

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::*;

fn login_event(login: &str, ts: &str) -> Event {
    event(login, "LOGIN", ts).status("Available")
}

#[test]
fn logins_that_used_to_share_an_output_path_get_their_own() {
    let logins = [
        "a/b",
        "a_b",
        "..",
        "_..",
        "manifest.json",
        "index.html",
        ".agent-audit-x",
        "a%2Fb",
    ];
    let s = setup(&[], "");
    let events: Vec<Event> = logins
        .iter()
        .map(|l| login_event(l, "2026-11-03T08:00:00.000Z"))
        .collect();
    s.events(&events);
    let batch = s.dir.path().join("batch.toml");
    std::fs::write(
        &batch,
        "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\nformat = \"html\"\n\
         [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-03\"]\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success()
        .stdout(contains("8 report(s): 8 written"));
    let out = s.dir.path().join("out");
    // The batch's own files are files, not a login's directory.
    assert!(out.join("manifest.json").is_file());
    assert!(out.join("index.html").is_file());
    let mut dirs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "%2E.",
            "%2Eagent-audit-x",
            "%69ndex.html",
            "%6Danifest.json",
            "_..",
            "a%252Fb",
            "a%2Fb",
            "a_b"
        ]
    );
    for d in &dirs {
        assert!(out.join(d).join("2026-11-03_UTC.html").is_file(), "{d}");
    }
}

#[test]
fn a_login_or_status_that_reads_as_a_formula_is_neutralised_in_csv() {
    let s = setup(&[], "");
    let events = [
        event("=HYPERLINK(\"x\")", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event(
            "=HYPERLINK(\"x\")",
            "STATE_CHANGE",
            "2026-11-03T09:00:00.000Z",
        )
        .status("@SUM(A1)"),
        event(
            "=HYPERLINK(\"x\")",
            "STATE_CHANGE",
            "2026-11-03T10:00:00.000Z",
        )
        .status("+1"),
        event(
            "=HYPERLINK(\"x\")",
            "STATE_CHANGE",
            "2026-11-03T11:00:00.000Z",
        )
        .status("-2"),
    ];
    let path = s.events(&events);
    let out = report_cmd(&path, "=HYPERLINK(\"x\")", "2026-11-03", "UTC")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(out).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a cell starts a formula: {cell:?} in {csv}"
            );
        }
        assert_eq!(&record[0], "'=HYPERLINK(\"x\")");
    }
    assert!(
        csv.contains("'@SUM(A1)") && csv.contains("'+1") && csv.contains("'-2"),
        "{csv}"
    );
}

#[test]
fn terminal_escapes_in_user_text_are_shown_escaped() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = one_user_config(dir.path(), &[], "");
    let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let assert = bin()
        .args(["authorize", "--as", hostile, "--agent", "x\u{1b}[31m"])
        .arg("--config")
        .arg(&config)
        .assert()
        .code(1);
    let output = assert.get_output();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains('\u{1b}'), "raw escape printed: {text:?}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "{stdout}"
    );
    // The same through a report's error.
    let s = setup(&[], "");
    let path = s.events(&[login_event("agent", "2026-11-03T08:00:00.000Z")]);
    report_cmd(&path, "no\u{1b}[2Jbody", "2026-11-03", "UTC")
        .assert()
        .code(1)
        .stderr(contains("no\\u{1b}[2Jbody").and(contains("\u{1b}").not()));
}

/// `batch.toml` in the setup's folder: every agent of `events.jsonl` on 3 November, UTC,
/// CSV reports under `out/`.
fn all_agents_batch(s: &Setup) -> std::path::PathBuf {
    let batch = s.dir.path().join("batch.toml");
    std::fs::write(
        &batch,
        "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\n\
         [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-03\"]\n",
    )
    .unwrap();
    batch
}

/// The `.agent-audit-*` files under `dir`, recursively.
fn temp_files(dir: &std::path::Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".agent-audit-"))
        .map(|e| e.path().display().to_string())
        .collect()
}

#[test]
fn temporary_files_left_by_a_killed_run_are_removed_by_the_next() {
    let s = setup(&[], "");
    s.events(&[login_event("agent", "2026-11-03T08:00:00.000Z")]);
    let batch = all_agents_batch(&s);
    let out = s.dir.path().join("out");
    std::fs::create_dir_all(out.join("agent")).unwrap();
    // As a run killed with SIGKILL leaves them: its process is gone.
    let dead = [
        out.join(".agent-audit-4000000000-abc123"),
        out.join("agent/.agent-audit-4000000001-def456"),
    ];
    let not_ours = out.join("agent/.keep");
    for p in dead.iter().chain([&not_ours]) {
        std::fs::write(p, "half a report").unwrap();
    }
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success();
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
    assert!(not_ours.exists());
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_end_the_process_without_temporary_files() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    for signal in ["TERM", "INT"] {
        let s = setup(&[], "");
        s.events(&[login_event("agent", "2026-11-03T08:00:00.000Z")]);
        let batch = all_agents_batch(&s);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agent-audit"))
            .arg("watch")
            .arg(&batch)
            .arg("--quiet")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        assert!(lines.any(|l| l.is_ok_and(|l| l.starts_with("generation 1 "))));
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let expected = if signal == "TERM" { 15 } else { 2 };
        assert_eq!(status.signal(), Some(expected), "{status:?}");
        let out = s.dir.path().join("out");
        assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
        assert!(out.join("agent/2026-11-03_UTC.csv").is_file());
    }
}

/// A signal that arrives while reports are being written (a batch of thousands, stopped
/// once the first are published) removes the temporary files of those being written: the
/// folder holds whole reports only.
#[cfg(unix)]
#[test]
fn a_signal_during_the_writes_leaves_only_whole_reports() {
    use std::os::unix::process::ExitStatusExt;
    let s = setup(&[], "");
    let agents = 4000;
    let events: Vec<_> = (0..agents)
        .map(|i| login_event(&format!("a{i:04}"), "2026-11-03T08:00:00.000Z"))
        .collect();
    s.events(&events);
    let batch = all_agents_batch(&s);
    let out = s.dir.path().join("out");
    // Several times each: one stop may fall between two reports' files.
    for signal in ["TERM", "INT"].repeat(4) {
        let _ = std::fs::remove_dir_all(&out);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agent-audit"))
            .arg("run")
            .arg(&batch)
            .arg("--quiet")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the writes to begin: the first agents' folders.
        let started = std::time::Instant::now();
        while std::fs::read_dir(&out).map_or(0, |d| d.count()) < 20 {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the batch ended before any report was published"
            );
            assert!(
                started.elapsed().as_secs() < 60,
                "no report written in 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let expected = if signal == "TERM" { 15 } else { 2 };
        assert_eq!(
            status.signal(),
            Some(expected),
            "{signal}: the batch must still be writing when signalled (make it bigger): {status:?}"
        );
        assert!(
            temp_files(&out).is_empty(),
            "{signal}: {:?}",
            temp_files(&out)
        );
        let written = walkdir::WalkDir::new(&out)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .count();
        assert!(
            written < agents,
            "{signal}: all {written} reports were written"
        );
    }
}
