//! Evidence a compliance team hands to an auditor: `verify OUT_DIR` checks an output
//! directory against its manifest's SHA-256s, and the decision log is a hash chain that
//! `verify-log` checks line by line.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::str::contains;
use sha2::Digest;
use tempfile::TempDir;

use crate::support::*;

fn hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A batch of three reports for alice (jdoe and mrivera written, asmith denied by a
/// policy) and its decision log; the batch file.
fn secured_batch(dir: &Path) -> PathBuf {
    let events = [
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
        event("asmith", "LOGIN", "2026-11-02T14:00:00.000Z").status("Available"),
        event("mrivera", "LOGIN", "2026-11-02T15:00:00.000Z").status("Available"),
    ];
    fs::write(dir.join("events.jsonl"), lines(&events)).unwrap();
    fs::create_dir_all(dir.join("policies")).unwrap();
    fs::write(
        dir.join("policies/users.toml"),
        "[profiles.P]\npermissions = [\"AccessMetrics\"]\n[users.alice]\nprofiles = [\"P\"]\n",
    )
    .unwrap();
    fs::write(
        dir.join("policies/no-asmith.rhai"),
        "fn authorize(req) { if req.agent.login == \"asmith\" { #{ decision: \"forbid\", reason: \"on leave\" } } }",
    )
    .unwrap();
    fs::write(
        dir.join("secure.toml"),
        "policies = \"policies\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    let batch = dir.join("batch.toml");
    fs::write(
        &batch,
        "events = [\"events.jsonl\"]\nout_dir = \"reports\"\ntimezone = \"UTC\"\n\
         requester = \"alice\"\nconfig = \"secure.toml\"\n\
         [[report]]\nagents = [\"jdoe\", \"asmith\", \"mrivera\"]\ndates = [\"2026-11-02\"]\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .code(1)
        .stdout(contains("3 report(s): 2 written, 1 denied, 0 failed"));
    batch
}

fn verify(dir: &Path) -> assert_cmd::assert::Assert {
    bin().arg("verify").arg(dir.join("reports")).assert()
}

#[test]
fn verify_checks_every_report_against_the_manifest() {
    let dir = TempDir::new().unwrap();
    secured_batch(dir.path());
    let reports = dir.path().join("reports");
    verify(dir.path()).success().stdout(contains(
        "3 report(s), 2 file(s) written, each matching its size and SHA-256 in manifest.json (configuration ",
    ));

    // One byte changed.
    let jdoe = reports.join("jdoe/2026-11-02_UTC.csv");
    let good = fs::read(&jdoe).unwrap();
    let mut changed = good.clone();
    let at = changed.iter().position(|&b| b == b'A').unwrap();
    changed[at] = b'B';
    fs::write(&jdoe, &changed).unwrap();
    verify(dir.path())
        .code(1)
        .stdout(contains(
            "jdoe/2026-11-02_UTC.csv: changed since it was written",
        ))
        .stdout(contains(hex(&good)))
        .stderr(contains("1 file(s) do not match manifest.json"));

    // Missing; a denied report's file put back; a file the manifest does not list.
    fs::remove_file(&jdoe).unwrap();
    fs::create_dir_all(reports.join("asmith")).unwrap();
    fs::write(reports.join("asmith/2026-11-02_UTC.csv"), "forged\n").unwrap();
    fs::write(reports.join("mrivera/extra.csv"), "x\n").unwrap();
    let out = verify(dir.path()).code(1);
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for expected in [
        "jdoe/2026-11-02_UTC.csv: listed as written, but missing",
        "asmith/2026-11-02_UTC.csv: listed as denied, yet a file is there",
        "mrivera/extra.csv: not in the manifest",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }

    // Not an output directory.
    bin()
        .arg("verify")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("no manifest.json"));
}

/// The decision log's lines.
fn log_lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("decisions.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn verify_log(files: &[PathBuf]) -> assert_cmd::assert::Assert {
    bin().arg("verify-log").args(files).assert()
}

#[test]
fn the_decision_log_is_a_hash_chain_and_verify_log_names_the_first_break() {
    let dir = TempDir::new().unwrap();
    let batch = secured_batch(dir.path());
    // A second run appends to the same chain.
    bin().arg("run").arg(&batch).assert().code(1);
    let log = dir.path().join("decisions.jsonl");
    let lines = log_lines(dir.path());
    assert_eq!(lines.len(), 6, "{lines:?}");
    let prev = |line: &str| -> String {
        serde_json::from_str::<serde_json::Value>(line).unwrap()["prev"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(prev(&lines[0]), GENESIS);
    for pair in lines.windows(2) {
        assert_eq!(prev(&pair[1]), hex(pair[0].as_bytes()));
    }
    verify_log(std::slice::from_ref(&log))
        .success()
        .stdout(contains(format!(
            "6 line(s), the chain holds from its start; head {}",
            hex(lines[5].as_bytes())
        )));

    let write = |lines: &[String]| {
        fs::write(
            &log,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap()
    };
    // A decision changed: the next line no longer follows.
    let mut edited = lines.clone();
    edited[2] = edited[2].replacen("\"time\":\"2", "\"time\":\"1", 1);
    assert_ne!(edited[2], lines[2]);
    write(&edited);
    verify_log(std::slice::from_ref(&log))
        .code(1)
        .stderr(contains(
            "decisions.jsonl:4: `prev` is not the hash of line 3",
        ));
    // A line removed.
    let mut removed = lines.clone();
    removed.remove(3);
    write(&removed);
    verify_log(std::slice::from_ref(&log))
        .code(1)
        .stderr(contains(
            "decisions.jsonl:4: `prev` is not the hash of line 3",
        ));
    // The first lines removed.
    write(&lines[2..]);
    verify_log(std::slice::from_ref(&log))
        .code(1)
        .stderr(contains(
            "decisions.jsonl:1: the first line continues a chain",
        ));
    // ... which a recorded head of what came before vouches for.
    bin()
        .arg("verify-log")
        .arg(&log)
        .args(["--after", &hex(lines[1].as_bytes())])
        .assert()
        .success()
        .stdout(contains("4 line(s), the chain holds from the given head"));

    // A torn last line (a crash mid-write): reported; the next decision goes on after it.
    write(&lines);
    let mut torn = fs::read(&log).unwrap();
    torn.extend_from_slice(b"{\"time\":\"2026");
    fs::write(&log, &torn).unwrap();
    verify_log(std::slice::from_ref(&log))
        .code(1)
        .stderr(contains("decisions.jsonl:7: the last line has no newline"));
    bin().arg("run").arg(&batch).assert().code(1);
    let after = log_lines(dir.path());
    assert_eq!(after[6], "{\"time\":\"2026");
    assert_eq!(prev(&after[7]), hex(b"{\"time\":\"2026"));
    verify_log(std::slice::from_ref(&log))
        .code(1)
        .stderr(contains("decisions.jsonl:7: the line is not a JSON object"));

    // Rotated files are checked together, oldest first.
    let old = dir.path().join("decisions.jsonl.1");
    let new = dir.path().join("decisions.jsonl.2");
    fs::write(
        &old,
        lines[..4]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    fs::write(
        &new,
        lines[4..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    verify_log(&[old.clone(), new.clone()])
        .success()
        .stdout(contains("6 line(s), the chain holds from its start"));
    verify_log(&[new.clone(), old.clone()])
        .code(1)
        .stderr(contains(
            "decisions.jsonl.2:1: the first line continues a chain",
        ));
    bin()
        .args(["verify-log", "--after", "abc"])
        .arg(&old)
        .assert()
        .code(2)
        .stderr(contains("not a SHA-256"));
}

#[test]
fn a_decision_that_cannot_be_chained_is_not_made() {
    let dir = TempDir::new().unwrap();
    let batch = secured_batch(dir.path());
    let log = dir.path().join("decisions.jsonl");
    let report = || {
        bin()
            .args(["report", "--config"])
            .arg(dir.path().join("secure.toml"))
            .args(["--as", "alice", "--events"])
            .arg(dir.path().join("events.jsonl"))
            .args([
                "--agent",
                "jdoe",
                "--date",
                "2026-11-02",
                "--timezone",
                "UTC",
            ])
            .assert()
    };
    report().success();
    // A last line too long to hash back: the report fails, naming why, and writes nothing.
    let mut huge = fs::read(&log).unwrap();
    huge.extend(std::iter::repeat_n(b'x', 1_100_000));
    fs::write(&log, &huge).unwrap();
    report()
        .code(1)
        .stdout("")
        .stderr(contains("longer than 1048576 bytes"));
    assert_eq!(fs::read(&log).unwrap(), huge, "nothing appended");
    // A log that is no file: the same.
    fs::remove_file(&log).unwrap();
    fs::create_dir(&log).unwrap();
    report()
        .code(1)
        .stdout("")
        .stderr(contains("decisions.jsonl"));
    let _ = batch;
}
