//! Fail closed (SPEC §7, §8, §9): anything that decides access and cannot be read denies,
//! loudly; `out_dir` holds exactly what the current generation writes; policies mean the
//! same in both languages; logins are one person whatever their letter case; shards of
//! different runs, or whose reports changed, do not merge.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use predicates::str::contains;
use tempfile::TempDir;

use crate::support::*;
use crate::watch::{Watch, reports_in};

const USERS: &str = "\
[profiles.Supervisor]
permissions = [\"AccessMetrics\"]
hierarchy = \"own\"

[users.alice]
profiles = [\"Supervisor\"]
hierarchy = [\"North America\", \"New York\"]
";

/// A configuration with access control on (alice supervises New York), a policy
/// directory, events of jdoe (New York) and mrivera (Remote), and a batch run as alice.
struct Secure {
    dir: TempDir,
}

impl Secure {
    fn new() -> Secure {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("policies")).unwrap();
        fs::write(root.join("policies/users.toml"), USERS).unwrap();
        fs::create_dir_all(root.join("events")).unwrap();
        let events = [
            event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z")
                .status("Available")
                .hierarchy(&["North America", "New York"]),
            event("mrivera", "LOGIN", "2026-11-02T14:00:00.000Z")
                .status("Available")
                .hierarchy(&["North America", "Remote"]),
        ];
        fs::write(root.join("events/a.jsonl"), lines(&events[..1])).unwrap();
        fs::write(root.join("events/b.jsonl"), lines(&events[1..])).unwrap();
        fs::write(root.join("agent-audit.toml"), "policies = \"policies\"\n").unwrap();
        let s = Secure { dir };
        s.batch("[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n");
        s
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn config(&self) -> PathBuf {
        self.path("agent-audit.toml")
    }

    fn batch(&self, reports: &str) {
        fs::write(
            self.path("batch.toml"),
            format!(
                "events = [\"events\"]\ntimezone = \"UTC\"\nout_dir = \"reports\"\n\
                 config = \"agent-audit.toml\"\nrequester = \"alice\"\n{reports}"
            ),
        )
        .unwrap();
    }

    fn report_file(&self, login: &str) -> PathBuf {
        self.path(&format!("reports/{login}/2026-11-02_UTC.csv"))
    }

    fn manifest(&self) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.path("reports/manifest.json")).unwrap()).unwrap()
    }

    /// The manifest's line for `file` (relative to the directory).
    fn line(&self, file: &str) -> serde_json::Value {
        let wanted = self.path(file).display().to_string();
        let m = self.manifest();
        m["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == wanted.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no line for {wanted} in {m:#}"))
    }

    /// `agent-audit watch` on the batch, after its first generation.
    fn watch(&self) -> Watch {
        Watch::spawn(
            std::process::Command::new(env!("CARGO_BIN_EXE_agent-audit"))
                .arg("watch")
                .arg(self.path("batch.toml")),
        )
    }

    fn run(&self) -> assert_cmd::assert::Assert {
        bin().arg("run").arg(self.path("batch.toml")).assert()
    }
}

/// Every command that loads the configuration, on the setup's files.
fn commands(s: &Secure) -> Vec<(&'static str, assert_cmd::Command)> {
    let config = s.config();
    let events = s.path("events");
    let mut report = report_cmd(&events, "jdoe", "2026-11-02", "UTC");
    report.arg("--config").arg(&config);
    let mut run = bin();
    run.arg("run").arg(s.path("batch.toml"));
    let mut check = bin();
    check.arg("check").arg("--config").arg(&config);
    let mut authorize = bin();
    authorize
        .args([
            "authorize",
            "--as",
            "alice",
            "--agent",
            "jdoe",
            "--date",
            "2026-11-02",
        ])
        .arg("--config")
        .arg(&config);
    let mut explain = bin();
    explain
        .arg("explain")
        .arg("--events")
        .arg(&events)
        .args(["--agent", "jdoe", "--at", "2026-11-02T15:00:00Z"])
        .arg("--config")
        .arg(&config);
    let mut statuses = bin();
    statuses.arg("statuses").arg("--config").arg(&config);
    vec![
        ("report", report),
        ("run", run),
        ("check", check),
        ("authorize", authorize),
        ("explain", explain),
        ("statuses", statuses),
    ]
}

fn assert_every_command_refuses(s: &Secure, names: &str) {
    for (name, mut cmd) in commands(s) {
        let out = cmd.timeout(Duration::from_secs(30)).output().unwrap();
        // `check` lists the problems on standard output, the others on standard error.
        let stderr = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(names), "{name}: {stderr}");
        assert!(!stderr.contains("access control off"), "{name}: {stderr}");
    }
    // `watch` refuses to start too.
    bin()
        .arg("watch")
        .arg(s.path("batch.toml"))
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(contains(names));
}

#[test]
fn a_users_file_that_is_a_dangling_symlink_is_a_configuration_error_in_every_command() {
    let s = Secure::new();
    fs::remove_file(s.path("policies/users.toml")).unwrap();
    std::os::unix::fs::symlink("gone.toml", s.path("policies/users.toml")).unwrap();
    assert_every_command_refuses(
        &s,
        "users.toml` is a symbolic link to `gone.toml`, which does not exist",
    );
}

#[test]
fn a_users_file_that_is_a_directory_or_a_fifo_is_a_configuration_error() {
    let s = Secure::new();
    fs::remove_file(s.path("policies/users.toml")).unwrap();
    fs::create_dir(s.path("policies/users.toml")).unwrap();
    assert_every_command_refuses(&s, "users.toml` is a directory, not a file");

    fs::remove_dir(s.path("policies/users.toml")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(s.path("policies/users.toml"))
        .status()
        .unwrap();
    assert!(status.success());
    // Never blocks on the FIFO: it is refused before it is opened.
    assert_every_command_refuses(&s, "users.toml` is not a regular file");
}

#[test]
fn a_policy_that_cannot_be_loaded_is_a_configuration_error_never_dropped() {
    for policy in ["forbid.rhai", "forbid.lua"] {
        let s = Secure::new();
        std::os::unix::fs::symlink("/nonexistent/policy", s.path(&format!("policies/{policy}")))
            .unwrap();
        assert_every_command_refuses(&s, &format!("{policy}` is a symbolic link"));
    }
}

#[test]
fn an_editors_lock_file_beside_the_users_file_is_passed_over() {
    let s = Secure::new();
    std::os::unix::fs::symlink("alice@host.1234:1", s.path("policies/.#users.toml")).unwrap();
    let mut cmd = report_cmd(s.path("events"), "jdoe", "2026-11-02", "UTC");
    cmd.arg("--config").arg(s.config()).args(["--as", "alice"]);
    cmd.assert().success().stdout(contains("jdoe,Available,"));
}

#[test]
fn removing_or_emptying_the_users_under_watch_keeps_the_last_good_generation() {
    let s = Secure::new();
    s.batch("[[report]]\nagents = [\"jdoe\", \"mrivera\"]\ndates = [\"2026-11-02\"]\n");
    let mut w = s.watch();
    // alice may audit jdoe (New York), not mrivera (Remote).
    assert!(s.report_file("jdoe").exists());
    assert!(!s.report_file("mrivera").exists());

    // Moved away, then back (`mv users.toml away; sleep 1.5; mv back`).
    fs::rename(s.path("policies/users.toml"), s.path("users.away")).unwrap();
    w.wait_for(|l| l.contains("defines no users, which would turn access control off"));
    w.wait_for(|l| l.starts_with("reload failed: keeping generation 1"));
    assert!(
        !s.report_file("mrivera").exists(),
        "access control stayed on"
    );
    fs::rename(s.path("users.away"), s.path("policies/users.toml")).unwrap();

    // Truncated to nothing, then written again, as an in-place save does.
    std::thread::sleep(Duration::from_millis(800));
    fs::write(s.path("policies/users.toml"), "").unwrap();
    w.wait_for(|l| l.contains("defines no users, which would turn access control off"));
    std::thread::sleep(Duration::from_millis(1200));
    fs::write(s.path("policies/users.toml"), USERS).unwrap();
    let extra = w.settle(Duration::from_secs(2));
    assert!(!s.report_file("mrivera").exists(), "{extra:?}");
    assert!(
        !w.seen_lines().iter().any(|l| l.starts_with("generation 2")),
        "no generation without users: {:?}",
        w.seen_lines()
    );
    let m = s.manifest();
    assert!(m.to_string().contains("\"denied\""), "{m:#}");
}

#[test]
fn a_run_removes_the_reports_it_no_longer_writes_and_says_why() {
    let s = Secure::new();
    s.batch(
        "[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n\
         [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-03\"]\n",
    );
    s.run().success();
    let second_day = s.path("reports/jdoe/2026-11-03_UTC.csv");
    assert!(s.report_file("jdoe").exists() && second_day.exists());
    // Files the manifest does not name are never touched.
    fs::write(s.path("reports/notes.txt"), "mine").unwrap();
    fs::write(s.path("reports/jdoe/2026-11-04_UTC.csv"), "mine too").unwrap();

    // The second day is no longer asked for, and a policy now forbids the first.
    s.batch("[[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n");
    fs::write(
        s.path("policies/deny.rhai"),
        "fn authorize(req) { #{ decision: \"forbid\", reason: \"frozen\" } }\n",
    )
    .unwrap();
    s.run()
        .code(1)
        .stdout(contains("1 denied, 0 failed, 2 removed"))
        .stderr(contains("the report written before was deleted"));
    assert!(
        !s.report_file("jdoe").exists(),
        "a denied report is removed"
    );
    assert!(
        !second_day.exists(),
        "a report no longer asked for is removed"
    );
    let denied = s.line("reports/jdoe/2026-11-02_UTC.csv");
    assert_eq!(denied["status"], "denied", "{denied:#}");
    assert!(
        denied["removed"].as_str().unwrap().contains("was deleted"),
        "{denied:#}"
    );
    let gone = s.line("reports/jdoe/2026-11-03_UTC.csv");
    assert_eq!(gone["status"], "removed", "{gone:#}");
    assert!(
        gone["reason"]
            .as_str()
            .unwrap()
            .contains("no longer asked for by the batch"),
        "{gone:#}"
    );
    assert_eq!(
        fs::read_to_string(s.path("reports/notes.txt")).unwrap(),
        "mine"
    );
    assert!(s.path("reports/jdoe/2026-11-04_UTC.csv").exists());

    // The next run says nothing more of what is already gone.
    s.run()
        .code(1)
        .stdout(contains("1 denied, 0 failed, 0 removed"));
}

#[test]
fn a_manifest_naming_files_outside_its_reports_removes_nothing_of_them() {
    let s = Secure::new();
    s.run().success();
    let outside = s.path("precious.csv");
    fs::write(&outside, "keep").unwrap();
    fs::create_dir_all(s.path("reports/jdoe/sub")).unwrap();
    let deeper = s.path("reports/jdoe/sub/x.csv");
    fs::write(&deeper, "keep").unwrap();
    let link_target = s.path("target.csv");
    fs::write(&link_target, "keep").unwrap();
    std::os::unix::fs::symlink(&link_target, s.path("reports/jdoe/link.csv")).unwrap();
    // A tampered manifest names them as reports it wrote.
    let mut m = s.manifest();
    let template = m["reports"][0].clone();
    for file in [
        s.path("reports/../precious.csv"),
        outside.clone(),
        deeper.clone(),
        s.path("reports/jdoe/link.csv"),
    ] {
        let mut line = template.clone();
        line["file"] = serde_json::json!(file.display().to_string());
        m["reports"].as_array_mut().unwrap().push(line);
    }
    fs::write(s.path("reports/manifest.json"), m.to_string()).unwrap();
    s.run().success().stderr(contains("left alone"));
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
    assert_eq!(fs::read_to_string(&deeper).unwrap(), "keep");
    assert_eq!(fs::read_to_string(&link_target).unwrap(), "keep");
    assert!(s.path("reports/jdoe/link.csv").symlink_metadata().is_ok());
}

/// What a fresh `run` of the batch writes (into another directory).
fn fresh_run(s: &Secure) -> Vec<(String, Vec<u8>)> {
    let batch = fs::read_to_string(s.path("batch.toml")).unwrap();
    fs::write(
        s.path("fresh.toml"),
        batch.replace("out_dir = \"reports\"", "out_dir = \"fresh\""),
    )
    .unwrap();
    let _ = bin().arg("run").arg(s.path("fresh.toml")).output().unwrap();
    reports_in(&s.path("fresh"))
}

#[test]
fn under_watch_a_policy_edit_removes_the_report_it_now_denies() {
    let s = Secure::new();
    let mut w = s.watch();
    assert!(s.report_file("jdoe").exists());
    fs::write(
        s.path("policies/deny.lua"),
        "function authorize(req) return { decision = 'forbid', reason = 'frozen' } end\n",
    )
    .unwrap();
    let line = w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(line.contains("1 removed"), "{line}");
    assert!(!s.report_file("jdoe").exists());
    let denied = s.line("reports/jdoe/2026-11-02_UTC.csv");
    assert_eq!(denied["status"], "denied", "{denied:#}");
    assert!(denied["removed"].is_string(), "{denied:#}");
}

#[test]
fn under_watch_deleting_an_event_file_leaves_what_a_fresh_run_writes() {
    let s = Secure::new();
    // Every agent, audited by an admin.
    fs::write(
        s.path("policies/users.toml"),
        format!("{USERS}\n[profiles.Admin]\npermissions = [\"AccessMetrics\"]\n[users.root]\nprofiles = [\"Admin\"]\n"),
    )
    .unwrap();
    s.batch("[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n");
    let batch = fs::read_to_string(s.path("batch.toml")).unwrap();
    fs::write(
        s.path("batch.toml"),
        batch.replace("requester = \"alice\"", "requester = \"root\""),
    )
    .unwrap();
    let mut w = s.watch();
    assert!(s.report_file("mrivera").exists());
    fs::remove_file(s.path("events/b.jsonl")).unwrap();
    w.wait_for(|l| l.starts_with("generation 1 (") && l.contains("b.jsonl changed"));
    let left = reports_in(&s.path("reports"));
    assert!(
        !left
            .iter()
            .any(|(name, _)| name.contains("arn:") || name.contains("arn%3A")),
        "no ghost report by ARN: {:?}",
        left.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert!(
        !s.report_file("mrivera").exists(),
        "the deleted events' report is removed"
    );
    assert_eq!(left, fresh_run(&s));
    let gone = s.line("reports/mrivera/2026-11-02_UTC.csv");
    assert!(
        gone["reason"]
            .as_str()
            .unwrap()
            .contains("no events any more"),
        "{gone:#}"
    );
}

#[test]
fn under_watch_a_report_that_cannot_be_written_is_tried_again() {
    let s = Secure::new();
    let mut w = s.watch();
    // The agent's folder is replaced by a file: the next write fails, and says so.
    fs::remove_dir_all(s.path("reports/jdoe")).unwrap();
    fs::write(s.path("reports/jdoe"), "in the way").unwrap();
    let more = event("jdoe", "STATE_CHANGE", "2026-11-02T16:00:00.000Z")
        .status("Lunch")
        .hierarchy(&["North America", "New York"]);
    fs::write(s.path("events/c.jsonl"), lines(&[more])).unwrap();
    w.wait_for(|l| l.starts_with("failing: 1 report(s) could not be written"));
    assert_eq!(
        s.line("reports/jdoe/2026-11-02_UTC.csv")["status"],
        "failed"
    );
    // Once the way is clear, it is written without another change.
    fs::remove_file(s.path("reports/jdoe")).unwrap();
    w.wait_for(|l| l.contains("retrying what could not be written"));
    let written = fs::read_to_string(s.report_file("jdoe")).unwrap();
    assert!(written.contains("jdoe,Lunch,"), "{written}");
    assert_eq!(
        s.line("reports/jdoe/2026-11-02_UTC.csv")["status"],
        "written"
    );
}

#[test]
fn under_watch_a_same_size_rewrite_that_keeps_the_time_is_read_again() {
    let s = Secure::new();
    let mut w = s.watch();
    let file = s.path("events/a.jsonl");
    let before = fs::read_to_string(&file).unwrap();
    let modified = fs::metadata(&file).unwrap().modified().unwrap();
    // `Lunch` for `Break`: the same length, so the same size.
    let after = before.replace("\"Available\"", "\"Breaks!!!\"");
    assert_eq!(before.len(), after.len());
    {
        use std::io::{Seek, Write};
        let mut f = fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(after.as_bytes()).unwrap();
        f.set_modified(modified).unwrap();
    }
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), modified);
    w.wait_for(|l| l.starts_with("generation 1 (") && l.contains("a.jsonl changed"));
    let report = fs::read_to_string(s.report_file("jdoe")).unwrap();
    assert!(report.contains("jdoe,Breaks!!!,"), "{report}");
}

/// A generation whose policies are `policies` (name, text) besides the users file.
fn decide_with(policy: (&str, &str)) -> agent_audit::access::Decision {
    let dir = TempDir::new().unwrap();
    let config = one_user_config(dir.path(), &[policy], "");
    let g = agent_audit::generation::Generation::load(Some(&config)).unwrap();
    g.access.decide(&agent_audit::access::Request {
        requester: Some("u".to_string()),
        agent: "jdoe".to_string(),
        agent_hierarchy_from_events: None,
        date: date("2026-11-02"),
        timezone: tz("UTC"),
        today: date("2026-11-03"),
    })
}

#[test]
fn an_empty_table_or_map_from_a_policy_forbids_in_both_languages() {
    for policy in [
        ("p.lua", "function authorize(req) return {} end\n"),
        (
            "p.lua",
            "function authorize(req) return setmetatable({}, { __index = function() return 'permit' end }) end\n",
        ),
        ("p.rhai", "fn authorize(req) { #{} }\n"),
        ("p.rhai", "fn authorize(req) { [] }\n"),
        ("p.lua", "function authorize(req) return { 'permit' } end\n"),
    ] {
        let d = decide_with(policy);
        assert!(!d.allowed, "{policy:?}: {d}");
        assert!(
            d.reason.contains("which forbids (fail closed)"),
            "{policy:?}: {d}"
        );
    }
    // Nothing is still no opinion.
    assert!(decide_with(("p.lua", "function authorize(req) return nil end\n")).allowed);
    assert!(decide_with(("p.rhai", "fn authorize(req) { () }\n")).allowed);
}

#[test]
fn a_huge_value_from_a_script_is_quoted_only_in_part() {
    for policy in [
        (
            "p.lua",
            "function authorize(req) return string.rep('x', 10000000) end\n",
        ),
        (
            "p.rhai",
            "fn authorize(req) { let s = \"x\"; while s.len() < 1000000 { s += s; } s }\n",
        ),
        (
            "p.lua",
            "function authorize(req) return { decision = string.rep('y', 10000000) } end\n",
        ),
        (
            "p.lua",
            "function authorize(req) error(string.rep('z', 10000000)) end\n",
        ),
    ] {
        let d = decide_with(policy);
        assert!(!d.allowed, "{}", policy.0);
        let shown = format!("{d}");
        assert!(shown.len() < 2_000, "{}: {} bytes", policy.0, shown.len());
        assert!(
            shown.contains("more bytes)") || shown.contains("too large"),
            "{}: {shown}",
            policy.0
        );
    }
    // A label the length of a book fails the hook, quoted in part.
    let s = setup(
        &[(
            "huge.lua",
            "function classify(snap) return string.rep('L', 10000000) end\n",
        )],
        "",
    );
    let events =
        s.events(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available")]);
    let out = report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .arg("--config")
        .arg(&s.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 4_000, "{} bytes of stderr", stderr.len());
    assert!(
        stderr.contains("a label is 1 to 1024 characters"),
        "{stderr}"
    );
}

/// The shipped self-audit policy with users `jdoe` and `alice`, and events whose
/// `Username` is `JDoe`.
fn case_setup(policy: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::create_dir_all(dir.path().join("policies")).unwrap();
    fs::copy(
        root.join(policy),
        dir.path()
            .join("policies")
            .join(Path::new(policy).file_name().unwrap()),
    )
    .unwrap();
    fs::write(
        dir.path().join("policies/users.toml"),
        format!("{USERS}\n[users.jdoe]\nprofiles = [\"Supervisor\"]\nhierarchy = [\"North America\", \"New York\"]\n"),
    )
    .unwrap();
    let config = dir.path().join("agent-audit.toml");
    fs::write(&config, "policies = \"policies\"\n").unwrap();
    let events = dir.path().join("events.jsonl");
    fs::write(
        &events,
        lines(&[event("JDoe", "LOGIN", "2026-11-02T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America", "New York"])]),
    )
    .unwrap();
    (dir, config, events)
}

#[test]
fn logins_that_differ_only_in_case_are_one_person_everywhere() {
    for policy in ["policies/compliance.rhai", "policies/compliance.lua"] {
        let (_dir, config, events) = case_setup(policy);
        for agent in ["JDoe", "jdoe", "JDOE"] {
            // jdoe may not audit himself, however either side spells the login.
            for requester in ["jdoe", "JDoe"] {
                let mut cmd = report_cmd(&events, agent, "2026-11-02", "UTC");
                cmd.arg("--config").arg(&config).args(["--as", requester]);
                cmd.env("AGENT_AUDIT_TODAY", "2026-11-03");
                cmd.assert()
                    .code(1)
                    .stderr(contains("nobody audits their own activity"));
            }
            // alice may, and finds him by any spelling.
            let mut cmd = report_cmd(&events, agent, "2026-11-02", "UTC");
            cmd.arg("--config").arg(&config).args(["--as", "ALICE"]);
            cmd.env("AGENT_AUDIT_TODAY", "2026-11-03");
            cmd.assert().success().stdout(contains("JDoe,Available,"));
        }
    }
}

#[test]
fn a_user_defined_twice_in_two_spellings_is_an_error() {
    let dir = TempDir::new().unwrap();
    let config = one_user_config(
        dir.path(),
        &[("more.toml", "[users.U]\nprofiles = [\"P\"]\n")],
        "",
    );
    let errors = agent_audit::generation::Generation::load(Some(&config))
        .err()
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("user `u` is already defined as `U`")),
        "{errors:?}"
    );
}

/// A batch dir for merge tests: events of two agents, a batch of `zone` and `day`.
fn shard_batch(dir: &Path, name: &str, zone: &str, day: &str) -> PathBuf {
    let events = dir.join("events.jsonl");
    if !events.exists() {
        fs::write(
            &events,
            lines(&[
                event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
                event("asmith", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
                event("bwong", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
            ]),
        )
        .unwrap();
    }
    let batch = dir.join(format!("{name}.toml"));
    fs::write(
        &batch,
        format!(
            "events = [\"events.jsonl\"]\ntimezone = \"{zone}\"\nout_dir = \"out\"\n\
             [[report]]\nagents = [\"*\"]\ndates = [\"{day}\"]\n"
        ),
    )
    .unwrap();
    batch
}

/// `run BATCH --shard K/N`, which must succeed.
fn run_shard(batch: &Path, shard: &str) {
    bin()
        .arg("run")
        .arg(batch)
        .args(["--shard", shard])
        .assert()
        .success();
}

/// `merge` of the test's one output directory.
fn merge(dir: &Path) -> assert_cmd::assert::Assert {
    bin().arg("merge").arg(dir.join("out")).assert()
}

#[test]
fn merge_refuses_a_shard_of_another_run() {
    let dir = TempDir::new().unwrap();
    let a = shard_batch(dir.path(), "a", "UTC", "2026-11-02");
    let b = shard_batch(dir.path(), "b", "Europe/Paris", "2026-11-05");
    run_shard(&a, "0/2");
    run_shard(&b, "1/2");
    merge(dir.path())
        .code(1)
        .stderr(contains("manifest-1-of-2.json` is a shard of another run"));
    // The shards of one run merge.
    run_shard(&a, "1/2");
    merge(dir.path())
        .success()
        .stdout(contains("2 shard(s) merged"));
}

#[test]
fn merge_checks_every_report_the_shards_list() {
    let dir = TempDir::new().unwrap();
    let a = shard_batch(dir.path(), "a", "UTC", "2026-11-02");
    run_shard(&a, "0/2");
    run_shard(&a, "1/2");
    let report = dir.path().join("out/jdoe/2026-11-02_UTC.csv");
    let original = fs::read(&report).unwrap();
    // Changed after the shard wrote it: same size, other bytes.
    let mut changed = original.clone();
    let last = changed.len() - 2;
    changed[last] = if changed[last] == b'1' { b'2' } else { b'1' };
    fs::write(&report, &changed).unwrap();
    merge(dir.path()).code(1).stderr(contains(
        "jdoe/2026-11-02_UTC.csv` does not have the SHA-256",
    ));
    // Deleted after the shard wrote it.
    fs::remove_file(&report).unwrap();
    merge(dir.path()).code(1).stderr(contains(
        "jdoe/2026-11-02_UTC.csv`, listed as written, cannot be read",
    ));
    fs::write(&report, &original).unwrap();
    merge(dir.path()).success();
}

#[test]
fn explain_says_a_local_time_that_occurs_twice_is_ambiguous_and_takes_an_offset() {
    let dir = TempDir::new().unwrap();
    let events = dir.path().join("e.jsonl");
    fs::write(
        &events,
        lines(&[
            event("jdoe", "LOGIN", "2026-11-01T05:00:00.000Z").status("Available"),
            // 01:30 EDT is 05:30Z; 01:30 EST is 06:30Z.
            event("jdoe", "STATE_CHANGE", "2026-11-01T06:00:00.000Z").status("Lunch"),
        ]),
    )
    .unwrap();
    let explain = |at: &str| {
        let mut cmd = bin();
        cmd.arg("explain").arg("--events").arg(&events).args([
            "--agent",
            "jdoe",
            "--at",
            at,
            "--timezone",
            "America/New_York",
        ]);
        cmd.args(["--format", "json"]);
        cmd.output().unwrap()
    };
    let first = explain("2026-11-01 01:30");
    assert!(first.status.success());
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("occurs twice in America/New_York")
            && stderr.contains("2026-11-01T01:30:00-04:00 (EDT), is used")
            && stderr.contains("for the second write 2026-11-01T01:30:00-05:00"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(json["row"]["status"], "Available", "{json:#}");
    assert!(json["notes"][0].as_str().unwrap().contains("occurs twice"));
    for second in ["2026-11-01 01:30-05:00", "2026-11-01T01:30:00-05:00"] {
        let out = explain(second);
        assert!(out.status.success(), "{second}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["row"]["status"], "Lunch", "{second}: {json:#}");
    }
}

/// How often `agent-audit ARGS` opens and stats each file under `dir`, by strace: the
/// most opens of any one file, and the most stats.
fn file_touches(dir: &Path, args: &[&str]) -> (usize, usize) {
    let strace = which("strace").expect("strace is needed (apt-get install strace)");
    let log = dir.join("strace.log");
    let bin = assert_cmd::cargo::cargo_bin!("agent-audit");
    let out = std::process::Command::new(strace)
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=open,openat,stat,lstat,newfstatat,statx",
        ])
        .arg("-o")
        .arg(&log)
        .arg(bin)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&log).unwrap();
    let events = dir.join("events");
    let (mut opens, mut stats) = (
        std::collections::HashMap::<String, usize>::new(),
        std::collections::HashMap::<String, usize>::new(),
    );
    for line in text.lines() {
        let Some(start) = line.find(&format!("\"{}/", events.display())) else {
            continue;
        };
        let rest = &line[start + 1..];
        let path = rest[..rest.find('"').unwrap()].to_string();
        if path.ends_with("/events") || !path.ends_with(".jsonl") {
            continue;
        }
        let counts = if line.contains("open") {
            &mut opens
        } else {
            &mut stats
        };
        *counts.entry(path).or_insert(0) += 1;
    }
    assert!(!opens.is_empty(), "no event file was opened: {text}");
    (
        opens.values().copied().max().unwrap_or(0),
        stats.values().copied().max().unwrap_or(0),
    )
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn a_single_agent_report_opens_and_stats_each_file_once() {
    let dir = TempDir::new().unwrap();
    let events = dir.path().join("events");
    fs::create_dir_all(&events).unwrap();
    for i in 0..300 {
        let login = ["jdoe", "asmith", "mrivera"][i % 3];
        let at = format!("2026-11-02T{:02}:{:02}:00.000Z", 8 + i / 60, i % 60);
        let e = event(login, "HEART_BEAT", &at).status("Available");
        fs::write(events.join(format!("{i:04}.jsonl")), lines(&[e])).unwrap();
    }
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        format!(
            "events = [{:?}]\nout_dir = {:?}\ntimezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
            events.display().to_string(),
            dir.path().join("out").display().to_string()
        ),
    )
    .unwrap();
    let events_arg = events.display().to_string();
    let out = dir.path().join("jdoe.csv").display().to_string();
    let single = file_touches(
        dir.path(),
        &[
            "report",
            "--events",
            &events_arg,
            "--agent",
            "jdoe",
            "--date",
            "2026-11-02",
            "--timezone",
            "UTC",
            "--out",
            &out,
        ],
    );
    let batch = file_touches(
        dir.path(),
        &["run", &batch.display().to_string(), "--quiet"],
    );
    assert_eq!(
        single,
        (1, 1),
        "opens, stats of one file by a single-agent report"
    );
    assert!(
        batch.0 <= 1 && batch.1 <= 1,
        "opens, stats by run: {batch:?}"
    );
}

#[test]
fn a_utf8_byte_order_mark_is_passed_over_and_offsets_stay_the_files() {
    let dir = TempDir::new().unwrap();
    let events = [
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
        event("jdoe", "LOGOUT", "2026-11-02T21:00:00.000Z").status("Offline"),
    ];
    let plain = dir.path().join("plain.jsonl");
    let bom = dir.path().join("bom.jsonl");
    fs::write(&plain, lines(&events)).unwrap();
    fs::write(
        &bom,
        [&b"\xef\xbb\xbf"[..], lines(&events).as_bytes()].concat(),
    )
    .unwrap();
    let out = |p: &Path| report_cmd(p, "jdoe", "2026-11-02", "UTC").output().unwrap();
    let (a, b) = (out(&plain), out(&bom));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(
        String::from_utf8_lossy(&a.stderr).replace("plain.jsonl", "bom.jsonl"),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(a.stdout, b.stdout);
    // `explain` names the record where it is in the file: line 1, after the mark.
    let explained = bin()
        .args(["explain", "--events"])
        .arg(&bom)
        .args([
            "--agent",
            "jdoe",
            "--at",
            "2026-11-02T14:00:00Z",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert!(json.to_string().contains("bom.jsonl:1:4"), "{json:#}");
}

#[test]
fn utf16_and_other_compressors_are_named_not_malformed_json() {
    let dir = TempDir::new().unwrap();
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "le.jsonl",
            b"\xff\xfe{\x00\"\x00",
            "UTF-16 (little-endian) text is not supported",
        ),
        (
            "be.jsonl",
            b"\xfe\xff\x00{\x00\"",
            "UTF-16 (big-endian) text is not supported",
        ),
        (
            "a.zst",
            b"\x28\xb5\x2f\xfd\x00\x00",
            "zstd-compressed input is not supported",
        ),
        (
            "a.bz2",
            b"BZh91AY&SY",
            "bzip2-compressed input is not supported",
        ),
        (
            "a.xz",
            b"\xfd7zXZ\x00\x00",
            "xz-compressed input is not supported",
        ),
        (
            "a.zip",
            b"PK\x03\x04\x14\x00",
            "a zip archive is not supported",
        ),
    ];
    for (name, bytes, said) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let out = report_cmd(&path, "jdoe", "2026-11-02", "UTC")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(said) && stderr.contains(name),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("malformed"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn a_report_written_to_a_named_pipe_or_device_leaves_it_in_place() {
    let dir = TempDir::new().unwrap();
    let events = dir.path().join("day.jsonl");
    fs::write(
        &events,
        lines(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available")]),
    )
    .unwrap();
    let fifo = dir.path().join("report.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).unwrap())
    };
    report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .arg("--out")
        .arg(&fifo)
        .assert()
        .success();
    // Checked first: were it renamed over, its reader would wait for ever.
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe is still a pipe, not a file renamed over it"
    );
    let read = reader.join().unwrap();
    let expected = stdout_of(&mut report_cmd(&events, "jdoe", "2026-11-02", "UTC"));
    assert_eq!(read, expected, "the reader of the pipe got the report");
}
