//! One §7 decision, as `serve` makes one per request (SPEC §11: p99 ≤ 50 µs): the shipped
//! users and profiles with the shipped compliance policy in Rhai, then in Lua, decided for
//! alice on jdoe's day over the example events, without a decision log (the log's append
//! is the request's, not the decision's), on a thread with the stack serve's threads have.
//! Prints p50, p99 and the maximum in µs.
//!
//! `cargo bench -p agent-audit-bench --bench decision`

// A benchmark that cannot set itself up should stop loudly.
#![allow(clippy::panic, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use agent_audit::access::log::Asked;
use agent_audit::engine::Engine;
use chrono::NaiveDate;

const ROUNDS: usize = 20_000;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A configuration of the shipped users file and the one policy `policy`.
fn configured(dir: &Path, policy: &str) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for file in ["users.toml", policy] {
        std::fs::copy(root().join("policies").join(file), policies.join(file)).unwrap();
    }
    let config = dir.join("agent-audit.toml");
    std::fs::write(&config, "policies = \"policies\"\ncatalog = \"connect\"\n").unwrap();
    config
}

fn main() {
    // As serve's runtime threads run them: on a stack scripts need not grow.
    std::thread::Builder::new()
        .stack_size(agent_audit::script::THREAD_STACK)
        .spawn(measure)
        .unwrap()
        .join()
        .unwrap();
}

fn measure() {
    let events = vec![root().join("examples/events")];
    let date = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let zone = chrono_tz::America::New_York;
    let asked = Asked {
        command: "report".into(),
        ..Asked::default()
    };
    println!("decision: alice on jdoe's day, {ROUNDS} decisions after 1,000 to warm up");
    println!(
        "{:<8} {:>9} {:>9} {:>9}",
        "policy", "p50 µs", "p99 µs", "max µs"
    );
    for (name, policy) in [("rhai", "compliance.rhai"), ("lua", "compliance.lua")] {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(Some(&configured(dir.path(), policy)), &events)
            .unwrap_or_else(|e| panic!("{e}"));
        let decide = || {
            engine
                .decide(Some("alice"), "jdoe", date, zone, &asked)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(decide().allowed, "alice may audit jdoe");
        for _ in 0..1_000 {
            decide();
        }
        let mut took: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(decide());
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        took.sort_by(f64::total_cmp);
        let at = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize];
        println!(
            "{name:<8} {:>9.1} {:>9.1} {:>9.1}",
            at(0.50),
            at(0.99),
            took[took.len() - 1]
        );
    }
}
