//! Reload latency of `agent-audit watch` (SPEC §9, §10): the time from saving a status TOML
//! file or a Rhai hook to the moment every report has been re-emitted (the reload line is
//! printed after they are written), minus the 300 ms debounce. Runs the release binary on
//! synthetic events of about 25 MB, 250 MB and 1.2 GB.
//!
//! `cargo bench --bench reload` prints min / median / max over repeated saves.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use agent_audit_testkit::synth::{Synth, SynthOptions};

/// What a save changes.
#[derive(Clone, Copy)]
enum Change {
    /// A status definition's description in a TOML file.
    Toml,
    /// A Rhai `classify` hook's label.
    Rhai,
}

impl Change {
    fn file(self) -> &'static str {
        match self {
            Change::Toml => "scripts/lunch.toml",
            Change::Rhai => "scripts/lunch.rhai",
        }
    }

    fn text(self, i: usize) -> String {
        match self {
            Change::Toml => format!(
                "[[status]]\nname = \"Lunch\"\ndescription = \"Meal break {i}\"\ntype = \"CUSTOM\"\n"
            ),
            Change::Rhai => format!(
                "fn classify(snap) {{ if snap.contacts.len() == 0 && snap.status.name == \"Lunch\" {{ return \"Break {i}\"; }} () }}\n"
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Change::Toml => "status TOML change",
            Change::Rhai => "Rhai hook change",
        }
    }
}

const DEBOUNCE_MS: f64 = 300.0;

fn measure(agents: usize, saves: usize, change: Change) {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::create_dir_all(root.join("events")).unwrap();
    std::fs::write(root.join(change.file()), change.text(0)).unwrap();
    let mut synth = Synth::new(SynthOptions {
        agents,
        days: 1,
        start: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        seed: 11,
        zone: chrono_tz::America::New_York,
    });
    let mut text = Vec::new();
    while synth.next_event(&mut text).is_some() {
        text.push(b'\n');
    }
    std::fs::write(root.join("events/day.jsonl"), &text).unwrap();
    std::fs::write(root.join("agent-audit.toml"), "scripts = \"scripts\"\n").unwrap();
    std::fs::write(
        root.join("batch.toml"),
        "events = [\"events\"]\ntimezone = \"America/New_York\"\nout_dir = \"reports\"\nconfig = \"agent-audit.toml\"\n\
         [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent-audit"))
        .args(["watch", "--quiet"])
        .arg(root.join("batch.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let wait = |what: &str| loop {
        let (at, line) = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("watch stopped answering");
        if line.starts_with(what) {
            return at;
        }
    };
    wait("generation 1 ");
    let mut times = Vec::new();
    for i in 1..=saves {
        std::thread::sleep(Duration::from_millis(500));
        let tmp = root.join("scripts/.lunch.tmp");
        std::fs::write(&tmp, change.text(i)).unwrap();
        let saved = Instant::now();
        std::fs::rename(&tmp, root.join(change.file())).unwrap();
        let done = wait(&format!("generation {} ", i + 1));
        times.push(done - saved);
    }
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0 - DEBOUNCE_MS;
    println!(
        "{}, {agents} agents ({:.0} MB of events, {agents} reports): after the debounce min {:.0} ms, median {:.0} ms, max {:.0} ms",
        change.name(),
        text.len() as f64 / 1e6,
        ms(&times[0]),
        ms(&times[times.len() / 2]),
        ms(&times[times.len() - 1]),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: run small.
    let full = std::env::args().any(|a| a == "--bench");
    if full {
        // About 2.5 MB of events per agent-day: 25 MB, 250 MB, 1.2 GB.
        for change in [Change::Toml, Change::Rhai] {
            for agents in [10, 100, 480] {
                measure(agents, 7, change);
            }
        }
    } else {
        measure(2, 1, Change::Toml);
        measure(2, 1, Change::Rhai);
    }
}
