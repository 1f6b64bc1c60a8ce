//! Throughput of the input path, of classification with and without script hooks, and of a
//! whole all-agent batch, on synthetic events (`agent_audit_testkit::synth`) held in memory.
//!
//! `cargo bench -p agent-audit-bench --bench throughput` prints MB/s for each; the README's performance section
//! quotes these numbers. Events per second: divide by the average event size printed at
//! the start.

// A benchmark that cannot set itself up should stop loudly.
#![allow(clippy::panic, clippy::unwrap_used)]

use std::sync::Arc;

use agent_audit::catalog::{Catalog, CatalogName, Classifier};
use agent_audit::classify::classify;
use agent_audit::reduce::reduce;
use agent_audit::report::rows;
use agent_audit::script::{Hooks, Language, Limits, Script};
use agent_audit::store::{ReadOptions, Store};
use agent_audit::time::Window;
use agent_audit_testkit::synth::{Synth, SynthOptions};
use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const DAY: (i32, u32, u32) = (2026, 11, 2);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(DAY.0, DAY.1, DAY.2).unwrap_or_default()
}

/// JSON lines for `agents` agents over one day, and the number of events.
fn events(agents: usize) -> (Vec<u8>, usize) {
    let mut synth = Synth::new(SynthOptions {
        agents,
        days: 1,
        start: day(),
        seed: 7,
        zone: chrono_tz::America::New_York,
    });
    let mut out = Vec::new();
    let mut n = 0;
    while synth.next_event(&mut out).is_some() {
        out.push(b'\n');
        n += 1;
    }
    (out, n)
}

fn rules() -> Classifier {
    let catalog = Catalog::builtin(CatalogName::Connect).unwrap_or_else(|e| panic!("{e}"));
    Classifier::rules_only(catalog)
}

fn with_hook(file: &str, source: &str, language: Language) -> Classifier {
    let script =
        Script::load(file, source, Limits::default(), language).unwrap_or_else(|e| panic!("{e}"));
    let mut c = rules();
    c.hooks = Hooks::new(vec![Arc::new(script)]);
    c
}

const RHAI: &str = include_str!("../../../scripts/break-as-one.rhai");
const LUA: &str = include_str!("../../../scripts/break-as-one.lua");
/// The same hook reading the time fields: called for every event, never cached.
const LUA_TIMED: &str = "function classify(snap) if snap.timestamp == '' then return 'x' end \
                         if #snap.contacts == 0 and snap.status.name == 'Lunch' then return 'Break' end end";
const RHAI_TIMED: &str = "fn classify(snap) { if snap.timestamp == \"\" { return \"x\"; } \
                          if snap.contacts.len() == 0 && snap.status.name == \"Lunch\" { return \"Break\"; } () }";

fn benches(c: &mut Criterion) {
    let (input, count) = events(200);
    eprintln!(
        "input: {} events, {:.1} MB, {:.0} bytes per event",
        count,
        input.len() as f64 / 1e6,
        input.len() as f64 / count as f64
    );
    let options = ReadOptions::default();
    let store = Store::read_stream("bench", input.as_slice(), &options).unwrap();
    eprintln!(
        "store: {} agents, {} events, {} distinct snapshots",
        store.agents.len(),
        store.event_count(),
        store.snapshot_count()
    );

    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("into the store", |b| {
        b.iter(|| Store::read_stream("bench", input.as_slice(), &options).unwrap())
    });
    group.finish();

    // Classification reads the store, never the JSON: its throughput is given per byte of
    // the input the store was read from, to compare with the parse.
    let mut group = c.benchmark_group("classify");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    for (name, classifier) in [
        ("built-in rules", rules()),
        (
            "rhai hook (cached)",
            with_hook("break-as-one.rhai", RHAI, Language::Rhai),
        ),
        (
            "lua hook (cached)",
            with_hook("break-as-one.lua", LUA, Language::Lua),
        ),
        (
            "rhai hook (every event)",
            with_hook("timed.rhai", RHAI_TIMED, Language::Rhai),
        ),
        (
            "lua hook (every event)",
            with_hook("timed.lua", LUA_TIMED, Language::Lua),
        ),
    ] {
        group.bench_function(name, |b| b.iter(|| classify(&store, &classifier)));
    }
    group.finish();

    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    let records: Vec<&[u8]> = input
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    group.bench_function("structural scan of every record", |b| {
        let mut spans = Vec::new();
        b.iter(|| {
            let mut n = 0usize;
            for &line in &records {
                spans.clear();
                if let agent_audit::input::scan::Extent::Complete(end) =
                    agent_audit::input::scan::object(line, b"Configuration", 2, &mut spans)
                {
                    n += end + spans.len();
                }
            }
            n
        })
    });
    group.finish();

    let classifier = rules();
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    let window = Window::local_day(day(), chrono_tz::America::New_York);
    group.bench_function("all agents, one day (read, reduce, rows)", |b| {
        b.iter(|| {
            let store = Store::read_stream("bench", input.as_slice(), &options).unwrap();
            let labels = classify(&store, &classifier);
            let mut total = 0;
            for agent in &store.agents {
                let timeline = reduce(&store, agent, &labels, 300_000);
                if let Some(w) = &window {
                    total += rows(&timeline, &labels.classes, w).len();
                }
            }
            total
        })
    });
    let one_agent = ReadOptions {
        only_containing: vec![b"\"agent00001\"".to_vec()],
        ..ReadOptions::default()
    };
    group.bench_function("one agent's records (others passed over unparsed)", |b| {
        b.iter(|| Store::read_stream("bench", input.as_slice(), &one_agent).unwrap())
    });
    group.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);
