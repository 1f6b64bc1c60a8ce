//! Reload latency of `agent-audit watch`: the time from saving a status script to the
//! moment the reports it affects have been re-emitted (the reload line is printed after
//! they are written). Runs the release binary on synthetic events of a few sizes.
//!
//! `cargo bench --bench reload` prints min / median / max over repeated saves.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use agent_audit::synth::{Synth, SynthOptions};

fn hook(label: &str) -> String {
    format!(
        "function classify(snap) if #snap.contacts == 0 and snap.status.name == 'Lunch' then return '{label}' end end\n"
    )
}

fn measure(agents: usize, saves: usize) {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::create_dir_all(root.join("events")).unwrap();
    std::fs::write(root.join("scripts/lunch.lua"), hook("Break 0")).unwrap();
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
        let tmp = root.join("scripts/lunch.lua.tmp");
        std::fs::write(&tmp, hook(&format!("Break {i}"))).unwrap();
        let saved = Instant::now();
        std::fs::rename(&tmp, root.join("scripts/lunch.lua")).unwrap();
        let done = wait(&format!("generation {} ", i + 1));
        times.push(done - saved);
    }
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "reload latency, {agents} agents ({:.0} MB of events, {agents} reports): min {:.0} ms, median {:.0} ms, max {:.0} ms (debounce {} ms included)",
        text.len() as f64 / 1e6,
        ms(&times[0]),
        ms(&times[times.len() / 2]),
        ms(&times[times.len() - 1]),
        300
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: run small.
    let full = std::env::args().any(|a| a == "--bench");
    if full {
        for agents in [10, 100, 500] {
            measure(agents, 7);
        }
    } else {
        measure(2, 1);
    }
}
