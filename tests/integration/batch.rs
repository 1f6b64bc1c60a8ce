//! SPEC §8: batch runs — many agents, dates and zones from one file, the events read once.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::str::contains;
use tempfile::TempDir;

use crate::support::*;

fn events() -> Vec<Event> {
    vec![
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-02T17:00:00.000Z").status("Lunch"),
        event("jdoe", "LOGOUT", "2026-11-03T01:00:00.000Z").status("Offline"),
        event("asmith", "LOGIN", "2026-11-02T14:00:00.000Z").status("Available"),
        event("asmith", "LOGOUT", "2026-11-02T22:00:00.000Z").status("Offline"),
        event("mrivera", "LOGIN", "2026-11-03T03:00:00.000Z").status("Available"),
    ]
}

/// A directory with `events.jsonl`, and `batch.toml` with `text` after an `events` line.
fn batch_dir(text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("events.jsonl"), lines(&events())).unwrap();
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        format!("events = [\"events.jsonl\"]\nout_dir = \"reports\"\n{text}"),
    )
    .unwrap();
    (dir, batch)
}

fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn agents_dates_and_zones_give_the_right_files() {
    let (dir, batch) = batch_dir(
        "timezone = \"America/New_York\"\n\
         [[report]]\nagents = [\"jdoe\", \"asmith\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\n\
         [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\ntimezone = \"Europe/London\"\nformat = \"json\"\n",
    );
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .success()
        .stdout(contains("5 report(s): 5 written, 0 denied, 0 failed"));
    let reports = dir.path().join("reports");
    assert_eq!(
        files(&reports),
        [
            "asmith/2026-11-02_America-New_York.csv",
            "asmith/2026-11-03_America-New_York.csv",
            "jdoe/2026-11-02_America-New_York.csv",
            "jdoe/2026-11-02_Europe-London.json",
            "jdoe/2026-11-03_America-New_York.csv",
            "manifest.json",
        ]
    );
    // Each file is what `report` prints for the same agent, day and zone.
    for (agent, day, zone, file, format) in [
        (
            "jdoe",
            "2026-11-02",
            "America/New_York",
            "jdoe/2026-11-02_America-New_York.csv",
            "csv",
        ),
        (
            "asmith",
            "2026-11-03",
            "America/New_York",
            "asmith/2026-11-03_America-New_York.csv",
            "csv",
        ),
        (
            "jdoe",
            "2026-11-02",
            "Europe/London",
            "jdoe/2026-11-02_Europe-London.json",
            "json",
        ),
    ] {
        let single = report_cmd(dir.path().join("events.jsonl"), agent, day, zone)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(
            fs::read(reports.join(file)).unwrap(),
            single.stdout,
            "{file}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(reports.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["reports"].as_array().map(Vec::len), Some(5));
    assert_eq!(manifest["configuration"].as_str().map(str::len), Some(16));
}

#[test]
fn a_star_means_every_agent_in_the_events() {
    let (dir, batch) =
        batch_dir("timezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-03\"]\n");
    bin().arg("run").arg(&batch).assert().success();
    assert_eq!(
        files(&dir.path().join("reports")),
        [
            "asmith/2026-11-03_UTC.csv",
            "jdoe/2026-11-03_UTC.csv",
            "manifest.json",
            "mrivera/2026-11-03_UTC.csv"
        ]
    );
}

#[test]
fn a_denied_or_failed_report_does_not_stop_the_others_and_is_counted() {
    let (dir, batch) = batch_dir(
        "timezone = \"UTC\"\nrequester = \"alice\"\nconfig = \"secure.toml\"\n\
         [[report]]\nagents = [\"jdoe\", \"asmith\", \"nobody\"]\ndates = [\"2026-11-02\"]\n",
    );
    fs::create_dir_all(dir.path().join("policies")).unwrap();
    fs::write(
        dir.path().join("policies/users.toml"),
        "[profiles.P]\npermissions = [\"AccessMetrics\"]\n[users.alice]\nprofiles = [\"P\"]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("policies/no-asmith.lua"),
        "function authorize(req) if req.agent.login == 'asmith' then return { decision = 'forbid', reason = 'on leave' } end end",
    )
    .unwrap();
    fs::write(
        dir.path().join("secure.toml"),
        "policies = \"policies\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .code(1)
        .stdout(contains("3 report(s): 1 written, 1 denied, 1 failed"))
        .stderr(contains("denied: asmith 2026-11-02 (UTC): on leave"))
        .stderr(contains(
            "failed: nobody 2026-11-02 (UTC): agent `nobody` not found in the events",
        ));
    assert_eq!(
        files(&dir.path().join("reports")),
        ["jdoe/2026-11-02_UTC.csv", "manifest.json"]
    );
    let log = fs::read_to_string(dir.path().join("decisions.jsonl")).unwrap();
    assert_eq!(
        log.lines().count(),
        2,
        "one decision per report that reached the check: {log}"
    );
    assert!(log.lines().all(|l| l.contains("\"command\":\"run\"")));
}

#[test]
fn a_rerun_is_idempotent() {
    let (dir, batch) = batch_dir(
        "timezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\n",
    );
    let reports = dir.path().join("reports");
    bin().arg("run").arg(&batch).assert().success();
    let first: Vec<(String, Vec<u8>)> = files(&reports)
        .into_iter()
        .map(|f| (f.clone(), fs::read(reports.join(&f)).unwrap()))
        .collect();
    // A stale report from an earlier run is replaced, not appended to.
    fs::write(reports.join("jdoe/2026-11-02_UTC.csv"), "stale").unwrap();
    bin().arg("run").arg(&batch).assert().success();
    let second: Vec<(String, Vec<u8>)> = files(&reports)
        .into_iter()
        .map(|f| (f.clone(), fs::read(reports.join(&f)).unwrap()))
        .collect();
    assert_eq!(first, second);
}

#[test]
fn batch_file_errors_name_the_line_and_column() {
    for (text, expected) in [
        (
            "[[report]]\nagents = [\"a\"]\ndates = [\"2026-13-01\"]\ntimezone = \"UTC\"\n",
            "batch.toml:5:10: `2026-13-01` is not a valid date",
        ),
        (
            "[[report]]\nagents = [\"a\"]\ndates = [\"2026-11-01\"]\ntimezone = \"Europe/Londn\"\n",
            "batch.toml:6:12: unknown time zone `Europe/Londn`",
        ),
        (
            "[[report]]\nagents = [\"a\"]\ndates = [\"2026-11-01\"]\n",
            "batch.toml:3:1: no time zone",
        ),
        (
            "timezone = \"UTC\"\n[[report]]\nagents = [\"a\"]\nfrom = \"2026-11-05\"\nto = \"2026-11-01\"\n",
            "batch.toml:7:6: `to` (2026-11-01) is before `from` (2026-11-05)",
        ),
        (
            "timezone = \"UTC\"\n[[report]]\nagents = []\ndates = [\"2026-11-01\"]\n",
            "batch.toml:5:10: `agents` is empty",
        ),
        (
            "timezone = \"UTC\"\nformat = \"xml\"\n[[report]]\nagents = [\"a\"]\ndates = [\"2026-11-01\"]\n",
            "batch.toml:4:10: unknown format `xml`",
        ),
    ] {
        let (_dir, batch) = batch_dir(text);
        bin()
            .arg("run")
            .arg(&batch)
            .assert()
            .code(2)
            .stderr(contains(expected));
    }
}

#[test]
fn the_example_batch_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = TempDir::new().unwrap();
    let text = fs::read_to_string(root.join("examples/batch.toml")).unwrap();
    let batch = root.join("examples/.test-batch.toml");
    let moved = text.replace(
        "out_dir = \"reports\"",
        &format!("out_dir = \"{}\"", out.path().display()),
    );
    fs::write(&batch, moved).unwrap();
    let result = bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .output()
        .unwrap();
    let _ = fs::remove_file(&batch);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(files(out.path()).len(), 8);
}

/// Every report file under `dir`, with its bytes (manifests and index pages aside).
fn reports(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .filter(|f| !f.starts_with("manifest") && !f.starts_with("index"))
        .map(|f| {
            let bytes = fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn shards_together_give_the_single_machine_output() {
    use agent_audit_testkit::synth::{Synth, SynthOptions};
    let dir = TempDir::new().unwrap();
    let mut synth = Synth::new(SynthOptions {
        agents: 24,
        days: 1,
        start: date("2026-11-02"),
        seed: 3,
        zone: tz("America/New_York"),
    });
    let mut text = Vec::new();
    while synth.next_event(&mut text).is_some() {
        text.push(b'\n');
    }
    fs::write(dir.path().join("events.jsonl"), &text).unwrap();
    for (name, agents) in [
        ("all", "[\"*\"]"),
        (
            "listed",
            "[\"agent00003\", \"agent00017\", \"agent00021\", \"nobody\"]",
        ),
    ] {
        let batch = dir.path().join(format!("{name}.toml"));
        let one = dir.path().join(format!("{name}-one"));
        let sharded = dir.path().join(format!("{name}-sharded"));
        let write = |out: &Path| {
            fs::write(
                &batch,
                format!(
                    "events = [\"events.jsonl\"]\ntimezone = \"America/New_York\"\nout_dir = \"{}\"\n\
                     [[report]]\nagents = {agents}\ndates = [\"2026-11-02\"]\n",
                    out.display()
                ),
            )
            .unwrap();
        };
        write(&one);
        let single = bin().arg("run").arg(&batch).output().unwrap();
        write(&sharded);
        let mut failed = 0;
        let mut all_ok = true;
        for k in 0..3 {
            let out = bin()
                .arg("run")
                .arg(&batch)
                .args(["--shard", &format!("{k}/3")])
                .output()
                .unwrap();
            failed += String::from_utf8_lossy(&out.stderr)
                .matches("failed: nobody")
                .count();
            all_ok &= out.status.success();
            assert!(sharded.join(format!("manifest-{k}-of-3.json")).exists());
        }
        assert_eq!(
            all_ok,
            single.status.success(),
            "{name}: the shards fail together as the single run does"
        );
        assert_eq!(reports(&sharded), reports(&one), "{name}");
        assert!(!reports(&one).is_empty());
        if name == "listed" {
            assert_eq!(failed, 1, "exactly one shard reports the missing agent");
        }
    }
    bin()
        .arg("run")
        .arg(dir.path().join("all.toml"))
        .args(["--shard", "3/3"])
        .assert()
        .code(2)
        .stderr(contains("shards count from 0"));
}

#[test]
fn a_star_includes_agents_without_a_login_by_their_arn() {
    let (dir, batch) =
        batch_dir("timezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-03\"]\n");
    let mut text = lines(&events());
    text.push_str(
        &event("ghost", "HEART_BEAT", "2026-11-03T10:00:00.000Z")
            .without_current()
            .previous("Lunch")
            .line(),
    );
    text.push('\n');
    // Without snapshots' configuration there is no login: the ARN names the agent.
    let line = text
        .lines()
        .last()
        .unwrap()
        .replace("\"Username\":\"ghost\"", "\"Username\":null");
    let text = text.replace(text.lines().last().unwrap(), &line);
    fs::write(dir.path().join("events.jsonl"), text).unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .success()
        .stdout(contains("4 report(s): 4 written"));
    let names = files(&dir.path().join("reports"));
    assert!(
        names.iter().any(|f| f.starts_with("arn%3Aaws%3Aconnect")),
        "{names:?}"
    );
}

#[test]
fn undefined_status_warnings_are_one_line_per_name_with_the_count_of_reports() {
    // jdoe shows Lunch then Break on one day, Break then Lunch on the next: the warnings are
    // counted per name, whatever their order in a report.
    let dir = TempDir::new().unwrap();
    let day = [
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Lunch"),
        event("jdoe", "STATE_CHANGE", "2026-11-02T14:00:00.000Z").status("Break"),
        event("jdoe", "STATE_CHANGE", "2026-11-03T14:00:00.000Z").status("Lunch"),
    ];
    fs::write(dir.path().join("events.jsonl"), lines(&day)).unwrap();
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        "events = [\"events.jsonl\"]\nout_dir = \"reports\"\ntimezone = \"UTC\"\n\
         [[report]]\nagents = [\"jdoe\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-04\"\n",
    )
    .unwrap();
    let out = bin().arg("run").arg(&batch).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let undefined: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("undefined custom status"))
        .collect();
    assert_eq!(
        undefined,
        [
            "warning: undefined custom status: Break (no definition in the `connect` catalogue) (in 2 report(s))",
            "warning: undefined custom status: Lunch (no definition in the `connect` catalogue) (in 3 report(s))",
        ]
    );
}

#[test]
fn run_quiet_counts_the_malformed_records_instead_of_listing_them() {
    let (dir, batch) = batch_dir(
        "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n",
    );
    let mut text = lines(&events());
    for _ in 0..5 {
        text.push_str("{\"broken\": \n");
    }
    fs::write(dir.path().join("events.jsonl"), text).unwrap();
    let out = bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("events.jsonl:"), "{stderr}");
    assert!(
        stderr.contains("skipped (run without --quiet to list them)"),
        "{stderr}"
    );
    // Without --quiet, each one is listed with its place.
    let out = bin().arg("run").arg(&batch).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("events.jsonl:7:"), "{stderr}");
}

#[test]
fn watch_does_not_offer_shard_and_run_does() {
    let help = |command: &str| {
        let out = bin().args([command, "--help"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(!help("watch").contains("--shard"));
    assert!(help("run").contains("--shard"));
    bin()
        .args(["watch", "batch.toml", "--shard", "0/2"])
        .assert()
        .code(2)
        .stderr(contains("unexpected argument '--shard'"));
}

#[test]
fn dates_may_be_bare_toml_dates_and_a_date_time_says_to_give_the_date() {
    let (dir, quoted) = batch_dir(
        "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\n",
    );
    bin().arg("run").arg(&quoted).assert().success();
    let expected = reports(&dir.path().join("reports"));
    for bare in [
        "from = 2026-11-02\nto = 2026-11-03\n",
        "dates = [2026-11-02, \"2026-11-03\"]\n",
    ] {
        let (dir, batch) = batch_dir(&format!(
            "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\"]\n{bare}"
        ));
        bin().arg("run").arg(&batch).assert().success();
        assert_eq!(reports(&dir.path().join("reports")), expected, "{bare}");
    }
    let (_dir, batch) = batch_dir(
        "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\"]\ndates = [2026-11-02T10:00:00]\n",
    );
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .code(2)
        .stderr(contains(
            "batch.toml:6:9: `2026-11-02T10:00:00` is a date and time; a report is of a whole local day",
        ));
}

#[test]
fn timezones_formats_and_kinds_fan_out_into_every_combination() {
    let (fanned, batch) = batch_dir(
        "[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n\
         timezones = [\"UTC\", \"America/New_York\", \"Europe/London\"]\n\
         formats = [\"csv\", \"json\"]\nkinds = [\"audit\", \"summary\"]\n",
    );
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .success()
        .stdout(contains("12 report(s): 12 written"));
    // The same files, byte for byte, as the twelve entries written out one by one.
    let mut spelled = String::new();
    for zone in ["UTC", "America/New_York", "Europe/London"] {
        for format in ["csv", "json"] {
            for kind in ["audit", "summary"] {
                spelled.push_str(&format!(
                    "[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n\
                     timezone = \"{zone}\"\nformat = \"{format}\"\nkind = \"{kind}\"\n"
                ));
            }
        }
    }
    // Beside it, over the same events file.
    let batch = fanned.path().join("spelled.toml");
    fs::write(
        &batch,
        format!("events = [\"events.jsonl\"]\nout_dir = \"spelled\"\n{spelled}"),
    )
    .unwrap();
    bin().arg("run").arg(&batch).assert().success();
    let (a, b) = (
        reports(&fanned.path().join("reports")),
        reports(&fanned.path().join("spelled")),
    );
    assert_eq!(a.len(), 12);
    for ((name_a, bytes_a), (name_b, bytes_b)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        assert!(
            bytes_a == bytes_b,
            "{name_a} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(bytes_a),
            String::from_utf8_lossy(bytes_b)
        );
    }

    let (_dir, both) = batch_dir(
        "[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n\
         timezone = \"UTC\"\ntimezones = [\"UTC\"]\n",
    );
    bin()
        .arg("run")
        .arg(&both)
        .assert()
        .code(2)
        .stderr(contains(
            "batch.toml:7:13: give `timezone` or `timezones`, not both",
        ));
    let (_dir, empty) = batch_dir(
        "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\nformats = []\n",
    );
    bin()
        .arg("run")
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(contains("`formats` lists nothing"));
}

#[test]
fn events_and_out_dir_on_the_command_line_win_over_the_batch_file() {
    let (dir, batch) =
        batch_dir("timezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n");
    // Other events: only mrivera's day, in a file the batch does not name.
    let other = dir.path().join("other.jsonl");
    fs::write(
        &other,
        lines(&[event("mrivera", "LOGIN", "2026-11-02T03:00:00.000Z").status("Available")]),
    )
    .unwrap();
    let elsewhere = dir.path().join("elsewhere");
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--events")
        .arg(&other)
        .arg("--out-dir")
        .arg(&elsewhere)
        .arg("--quiet")
        .assert()
        .success()
        .stdout(contains("1 report(s): 1 written"));
    assert_eq!(
        files(&elsewhere),
        ["manifest.json", "mrivera/2026-11-02_UTC.csv"]
    );
    assert!(
        !dir.path().join("reports").exists(),
        "the batch file's out_dir is not written"
    );
}
