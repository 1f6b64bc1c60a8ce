//! SPEC §9: `watch` — reloads on every kind of change, keeps the last good generation,
//! and re-emits the reports a change affects. Each test drives the real binary and waits
//! for what it prints, with a deadline instead of fixed sleeps.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// A running `agent-audit watch`, killed when dropped.
pub(crate) struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(batch: &Path) -> Watch {
        Watch::spawn(
            Command::new(env!("CARGO_BIN_EXE_agent-audit"))
                .arg("watch")
                .arg(batch)
                .arg("--quiet"),
        )
    }

    /// Runs `command` (a `watch`) and waits for its first generation.
    pub(crate) fn spawn(command: &mut Command) -> Watch {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut w = Watch {
            child,
            lines,
            seen: Vec::new(),
        };
        w.wait_for(|l| l.starts_with("generation 1 "));
        w
    }

    /// Waits for a line matching `what`; panics with everything seen at the deadline.
    pub(crate) fn wait_for(&mut self, what: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if what(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("timed out; watch printed:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Lines printed within `quiet` of now (to check that nothing more happens).
    pub(crate) fn settle(&mut self, quiet: Duration) -> Vec<String> {
        let mut extra = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line.clone());
            extra.push(line);
        }
        extra
    }

    /// Every line printed so far.
    pub(crate) fn seen_lines(&self) -> &[String] {
        &self.seen
    }

    fn reloads(&self) -> usize {
        self.seen
            .iter()
            .filter(|l| l.starts_with("generation "))
            .count()
            - 1
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A configuration with a Lua hook that labels Lunch `label`, events, and a batch.
struct Setup {
    dir: TempDir,
}

fn hook(label: &str) -> String {
    format!(
        "function classify(snap) if snap.status.name == 'Lunch' then return '{label}' end end\n"
    )
}

impl Setup {
    fn new(label: &str, scripts_as_symlink: bool) -> Setup {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        let scripts = if scripts_as_symlink {
            root.join("scripts-v1")
        } else {
            root.join("scripts")
        };
        fs::create_dir_all(&scripts).unwrap();
        fs::write(scripts.join("lunch.lua"), hook(label)).unwrap();
        if scripts_as_symlink {
            std::os::unix::fs::symlink("scripts-v1", root.join("scripts")).unwrap();
        }
        fs::create_dir_all(root.join("events")).unwrap();
        let events = [
            event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
            event("jdoe", "STATE_CHANGE", "2026-11-02T17:00:00.000Z").status("Lunch"),
        ];
        fs::write(root.join("events/a.jsonl"), lines(&events)).unwrap();
        fs::write(root.join("agent-audit.toml"), "scripts = \"scripts\"\n").unwrap();
        fs::write(
            root.join("batch.toml"),
            "events = [\"events\"]\ntimezone = \"UTC\"\nout_dir = \"reports\"\nconfig = \"agent-audit.toml\"\n\
             [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn report(&self, login: &str) -> String {
        fs::read_to_string(self.path(&format!("reports/{login}/2026-11-02_UTC.csv")))
            .unwrap_or_default()
    }

    /// Saves `text` the way many editors do: a temporary file renamed over the original.
    fn save_by_rename(&self, file: &str, text: &str) {
        let target = self.path(file);
        let tmp = target.with_extension("tmp~");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, &target).unwrap();
    }
}

#[test]
fn a_status_script_change_re_emits_reports_with_the_new_label_in_one_reload() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    assert!(s.report("jdoe").contains("jdoe,Meal,"));
    s.save_by_rename("scripts/lunch.lua", &hook("Food"));
    let line = w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(
        line.contains("lunch.lua") && line.contains("1 report(s) re-emitted"),
        "{line}"
    );
    assert!(s.report("jdoe").contains("jdoe,Food,"));
    let extra = w.settle(Duration::from_secs(2));
    assert_eq!(w.reloads(), 1, "one save, one reload: {extra:?}");
}

#[test]
fn a_broken_script_keeps_the_old_reports_and_a_fix_reloads() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    fs::write(
        s.path("scripts/lunch.lua"),
        "function classify(snap)\n  return = 'x'\nend\n",
    )
    .unwrap();
    let problem = w.wait_for(|l| l.contains("lunch.lua:2:"));
    assert!(problem.contains("syntax error"), "{problem}");
    w.wait_for(|l| l.starts_with("reload failed: keeping generation 1"));
    assert!(
        s.report("jdoe").contains("jdoe,Meal,"),
        "the old report stays"
    );
    fs::write(s.path("scripts/lunch.lua"), hook("Fixed")).unwrap();
    w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(s.report("jdoe").contains("jdoe,Fixed,"));
}

#[test]
fn saving_the_same_content_reloads_nothing() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    s.save_by_rename("scripts/lunch.lua", &hook("Meal"));
    // Then a real change, so there is something to wait for.
    s.save_by_rename("scripts/lunch.lua", &hook("Food"));
    // The first generation line is the real change's: the same content reloaded nothing
    // (the decision itself is tested in-process, in reload.rs).
    let line = w.wait_for(|l| l.starts_with("generation "));
    assert!(line.starts_with("generation 2 "), "{line}");
    assert!(s.report("jdoe").contains("jdoe,Food,"));
}

#[test]
fn a_symlink_swap_reloads_once() {
    let s = Setup::new("Meal", true);
    let mut w = Watch::start(&s.path("batch.toml"));
    fs::create_dir_all(s.path("scripts-v2")).unwrap();
    fs::write(s.path("scripts-v2/lunch.lua"), hook("Swapped")).unwrap();
    // As Kubernetes updates a ConfigMap: a new link renamed over the old one.
    std::os::unix::fs::symlink("scripts-v2", s.path("scripts.new")).unwrap();
    fs::rename(s.path("scripts.new"), s.path("scripts")).unwrap();
    w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(s.report("jdoe").contains("jdoe,Swapped,"));
    w.settle(Duration::from_secs(2));
    assert_eq!(w.reloads(), 1);
    // And the new target is watched too.
    s.save_by_rename("scripts-v2/lunch.lua", &hook("Again"));
    w.wait_for(|l| l.starts_with("generation 3 "));
    assert!(s.report("jdoe").contains("jdoe,Again,"));
}

#[test]
fn a_new_event_file_re_emits_the_reports_it_touches() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    let before_jdoe = s.report("jdoe");
    let more = [event("asmith", "LOGIN", "2026-11-02T15:00:00.000Z").status("Available")];
    // Written under another name and renamed in, as a downloader would.
    fs::write(s.path("events/.partial"), lines(&more)).unwrap();
    fs::rename(s.path("events/.partial"), s.path("events/b.jsonl")).unwrap();
    let line = w.wait_for(|l| l.contains("new events"));
    assert!(
        line.contains("1 agent(s) with new events") && line.contains("1 report(s) re-emitted"),
        "{line}"
    );
    assert!(s.report("asmith").contains("asmith,Available,"));
    assert_eq!(s.report("jdoe"), before_jdoe);
    w.settle(Duration::from_secs(2));
    assert_eq!(w.reloads(), 1);
}

#[test]
fn a_burst_of_writes_reloads_a_bounded_number_of_times_and_ends_on_the_final_content() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    for i in 0..50 {
        fs::write(s.path("scripts/lunch.lua"), hook(&format!("Burst {i}"))).unwrap();
    }
    w.wait_for(|_| s.report("jdoe").contains("jdoe,Burst 49,"));
    w.settle(Duration::from_secs(2));
    assert!(s.report("jdoe").contains("jdoe,Burst 49,"));
    assert!(
        (1..=10).contains(&w.reloads()),
        "{} reloads: {:?}",
        w.reloads(),
        w.seen
    );
}

/// Every file of a report directory but the manifest (which names its own directory).
pub(crate) fn reports_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() && entry.file_name() != "manifest.json" {
            let name = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            out.push((name, fs::read(entry.path()).unwrap()));
        }
    }
    out
}

/// The same batch run afresh into another directory gives the same bytes as `watch` left.
fn assert_equals_a_fresh_run(s: &Setup) {
    let batch = fs::read_to_string(s.path("batch.toml")).unwrap();
    fs::write(
        s.path("fresh.toml"),
        batch.replace("out_dir = \"reports\"", "out_dir = \"fresh\""),
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(s.path("fresh.toml"))
        .assert()
        .success();
    assert_eq!(reports_in(&s.path("reports")), reports_in(&s.path("fresh")));
}

#[test]
fn a_reload_from_the_store_reads_no_event_file_and_equals_a_fresh_run() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    s.save_by_rename("scripts/lunch.lua", &hook("Break"));
    let line = w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(line.contains("0 byte(s) of events read"), "{line}");
    assert!(
        s.report("jdoe").contains("jdoe,Break,"),
        "{}",
        s.report("jdoe")
    );
    // The same batch run afresh into another directory gives the same bytes.
    assert_equals_a_fresh_run(&s);
}

#[test]
fn a_grown_json_lines_file_is_read_from_where_it_was() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    let more =
        lines(&[event("jdoe", "STATE_CHANGE", "2026-11-02T18:00:00.000Z").status("Available")]);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(s.path("events/a.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut file, more.as_bytes()).unwrap();
    drop(file);
    let line = w.wait_for(|l| l.contains("new events"));
    // Only the appended line was read, not the file from its start.
    assert!(
        line.contains(&format!(
            "1 agent(s) with new events, {} byte(s) of events read",
            more.len()
        )),
        "{line}"
    );
    let report = s.report("jdoe");
    assert!(
        report.contains("jdoe,Meal,2026-11-02T17:00:00.000+00:00,2026-11-02T18:00:00.000+00:00"),
        "{report}"
    );
    // And the result is what a fresh run over the grown file gives.
    assert_equals_a_fresh_run(&s);
}

#[test]
fn a_rewritten_event_file_is_read_again_whole() {
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    let events = [
        event("jdoe", "LOGIN", "2026-11-02T12:00:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-02T16:00:00.000Z").status("Lunch"),
    ];
    let text = lines(&events);
    s.save_by_rename("events/a.jsonl", &text);
    let line = w.wait_for(|l| l.contains("new events"));
    assert!(
        line.contains(&format!("{} byte(s) of events read", text.len())),
        "{line}"
    );
    let report = s.report("jdoe");
    assert!(
        report.contains("jdoe,Available,2026-11-02T12:00:00.000+00:00"),
        "{report}"
    );
    assert!(
        !report.contains("13:00:00.000"),
        "the old content is gone: {report}"
    );
}

#[test]
fn thirty_saves_100_ms_apart_are_one_reload() {
    // Issue #12: the README promises 300 ms of quiet; this burst used to give 20 reloads.
    let s = Setup::new("Meal", false);
    let mut w = Watch::start(&s.path("batch.toml"));
    let mut last = std::time::Instant::now();
    // Gaps between saves long enough to end a burst (with margin for the watcher's own
    // delay): on a loaded machine a 100 ms sleep sometimes takes far longer.
    let mut long_gaps = 0;
    for i in 0..30 {
        s.save_by_rename("scripts/lunch.lua", &hook(&format!("Save {i}")));
        if i > 0 && last.elapsed() >= Duration::from_millis(200) {
            long_gaps += 1;
        }
        last = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(100));
    }
    w.wait_for(|_| s.report("jdoe").contains("jdoe,Save 29,"));
    w.settle(Duration::from_secs(2));
    // A reload starts only after a quiet period: one for the burst, and at most one more
    // per gap that broke it. A watch process the machine starves for 300 ms (seen with
    // three builds running beside the suite: 5 reloads) also ends the burst, so up to five
    // more are tolerated; the old loop reloaded about every 150 ms, 20 times.
    eprintln!(
        "30 saves: {} reload(s), {long_gaps} long gap(s)",
        w.reloads()
    );
    assert!(
        (1..=6 + long_gaps).contains(&w.reloads()),
        "{} reloads with {long_gaps} long gaps: {:?}",
        w.reloads(),
        w.seen
    );
}

#[test]
fn a_policy_that_swallows_its_limits_never_holds_up_the_next_reload() {
    // Issue #12: saving this policy left watch busy for ever; a fix saved after it was
    // never loaded.
    let s = Setup::new("Meal", false);
    fs::create_dir_all(s.path("policies")).unwrap();
    fs::write(
        s.path("agent-audit.toml"),
        "scripts = \"scripts\"\npolicies = \"policies\"\n",
    )
    .unwrap();
    let mut w = Watch::start(&s.path("batch.toml"));
    s.save_by_rename(
        "policies/loop.lua",
        "function authorize(req) while true do pcall(function() while true do end end) end end\n",
    );
    let line = w.wait_for(|l| l.starts_with("generation 2 "));
    assert!(line.contains("1 denied"), "{line}");
    s.save_by_rename(
        "policies/loop.lua",
        "function authorize(req) return nil end\n",
    );
    let line = w.wait_for(|l| l.starts_with("generation 3 "));
    assert!(line.contains("0 denied"), "{line}");
    assert!(s.report("jdoe").contains("jdoe,Meal,"));
}

#[test]
fn a_generation_is_built_from_files_that_did_not_change_while_they_were_read() {
    // Issue #12: a status file truncated and rewritten while another file was written
    // gave generations made of half a configuration. Here the status file changes between
    // the first read and the check after the load: the load starts over and ends on the
    // file's final content.
    use std::sync::atomic::{AtomicUsize, Ordering};
    let s = setup(
        &[
            ("a.toml", "[[status]]\nname = \"Old\"\ntype = \"CUSTOM\"\n"),
            ("b.lua", "function classify(snap) return nil end\n"),
        ],
        "",
    );
    let reads = AtomicUsize::new(0);
    let read = |p: &Path| {
        if p.ends_with("a.toml") && reads.fetch_add(1, Ordering::SeqCst) >= 1 {
            // From the check after the first load on, the file holds its new content.
            return Ok("[[status]]\nname = \"New\"\ntype = \"CUSTOM\"\n".to_string());
        }
        fs::read_to_string(p)
    };
    let g = match agent_audit::generation::Generation::load_with(Some(&s.config), &read) {
        Ok(g) => g,
        Err(e) => panic!("{e:?}"),
    };
    let names = g.classifier.catalog.names();
    assert!(
        names.contains(&"New") && !names.contains(&"Old"),
        "{names:?}"
    );
    assert!(reads.load(Ordering::SeqCst) >= 3, "the file was read again");

    // A file that never settles fails the load, saying so.
    let flips = AtomicUsize::new(0);
    let never = |p: &Path| {
        if p.ends_with("a.toml") {
            let n = flips.fetch_add(1, Ordering::SeqCst);
            return Ok(format!("[[status]]\nname = \"S{n}\"\ntype = \"CUSTOM\"\n"));
        }
        fs::read_to_string(p)
    };
    let errors = agent_audit::generation::Generation::load_with(Some(&s.config), &never)
        .err()
        .unwrap();
    assert!(
        errors[0]
            .to_string()
            .contains("kept changing while they were read"),
        "{errors:?}"
    );
}

#[test]
fn a_report_denied_as_before_is_not_listed_again_on_each_save() {
    let s = Setup::new("Meal", false);
    // asmith is on leave: denied by a policy, for the same reason at every reload.
    fs::write(
        s.path("events/b.jsonl"),
        lines(&[event("asmith", "LOGIN", "2026-11-02T14:00:00.000Z").status("Available")]),
    )
    .unwrap();
    fs::create_dir_all(s.path("policies")).unwrap();
    fs::write(
        s.path("policies/users.toml"),
        "[profiles.P]\npermissions = [\"AccessMetrics\"]\n[users.alice]\nprofiles = [\"P\"]\n",
    )
    .unwrap();
    fs::write(
        s.path("policies/leave.lua"),
        "function authorize(req) if req.agent.login == 'asmith' then return { decision = 'forbid', reason = 'on leave' } end end\n",
    )
    .unwrap();
    fs::write(
        s.path("agent-audit.toml"),
        "scripts = \"scripts\"\npolicies = \"policies\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    let batch = fs::read_to_string(s.path("batch.toml")).unwrap();
    fs::write(
        s.path("batch.toml"),
        format!("requester = \"alice\"\n{batch}"),
    )
    .unwrap();
    let mut w = Watch::start(&s.path("batch.toml"));
    let denied = |l: &str| l.starts_with("denied: asmith 2026-11-02 (UTC): on leave");
    s.save_by_rename("scripts/lunch.lua", &hook("Food"));
    // Standard error is read in order: once the second run's note is here, every line
    // either run printed before it is too.
    w.wait_for(|l| l.starts_with("1 report(s) denied or failed as before"));
    if !w
        .seen_lines()
        .iter()
        .any(|l| l.starts_with("generation 2 "))
    {
        w.wait_for(|l| l.starts_with("generation 2 "));
    }
    assert!(s.report("jdoe").contains("jdoe,Food,"));
    assert_eq!(
        w.seen_lines().iter().filter(|l| denied(l)).count(),
        1,
        "the first run says it, the second does not: {:?}",
        w.seen_lines()
    );
}
