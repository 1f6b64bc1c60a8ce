//! The event store's fast path (SIMD scan, values cut out before serde, the previous
//! snapshot checked by its bytes) against a full serde_json parse of every record.

use std::sync::OnceLock;

use agent_audit::store::{ReadOptions, Store};
use agent_audit_testkit::synth::{Synth, SynthOptions};
use proptest::prelude::*;

/// A day of synthetic events of a few agents, one record per line.
fn records() -> &'static [Vec<u8>] {
    static RECORDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut synth = Synth::new(SynthOptions {
            agents: 3,
            days: 1,
            start: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            seed: 5,
            zone: chrono_tz::UTC,
        });
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while synth.next_event(&mut buf).is_some() && out.len() < 400 {
            out.push(std::mem::take(&mut buf));
        }
        out
    })
}

/// Everything the rest of the program can see of a store: each agent's events with their
/// snapshots as the hooks see them, the agent's profile, and whether anything was skipped.
fn view(store: &Store) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    for agent in &store.agents {
        lines.push(format!("agent {} {:?}", agent.arn, agent.profile));
        for e in &agent.events {
            let snap = e.current.map(|s| format!("{:?}", store.raw_snapshot(s)));
            lines.push(format!(
                "{} {} {:?} {} {snap:?}",
                e.at.0,
                e.seq,
                store.event_id(e),
                store.str(e.event_type)
            ));
        }
        for p in &agent.previous {
            let snap = p.snapshot.map(|s| format!("{:?}", store.raw_snapshot(s)));
            lines.push(format!("previous {} {snap:?}", p.seq));
        }
    }
    (lines, store.problems.total() > 0)
}

fn both(input: &[u8]) -> ((Vec<String>, bool), (Vec<String>, bool)) {
    let fast = Store::read_stream("t", input, &ReadOptions::default()).unwrap();
    let full = ReadOptions {
        full_parse: true,
        ..ReadOptions::default()
    };
    let full = Store::read_stream("t", input, &full).unwrap();
    (view(&fast), view(&full))
}

#[test]
fn the_fast_path_equals_a_full_parse_on_valid_input() {
    let input: Vec<u8> = records()
        .iter()
        .flat_map(|r| [&r[..], b"\n"].concat())
        .collect();
    let (fast, full) = both(&input);
    assert!(!fast.1, "valid input has no problems");
    assert!(fast.0.len() > 400, "{}", fast.0.len());
    assert_eq!(fast, full);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(500)))]

    /// One record of three is mutated (bytes replaced, inserted or removed, often the
    /// characters the scan looks at); whatever the mutation, the fast path takes exactly
    /// the records and values a full parse takes.
    #[test]
    fn the_fast_path_equals_a_full_parse_on_mutated_records(
        at in 0usize..397,
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'),
                Just(b':'), Just(b','), Just(b' '), any::<u8>(),
            ]),
            1..4,
        ),
    ) {
        let records = records();
        let mut victim = records[at + 1].clone();
        for (index, kind, byte) in edits {
            let i = index.index(victim.len().max(1));
            match kind {
                0 if i < victim.len() => victim[i] = byte,
                1 => victim.insert(i.min(victim.len()), byte),
                _ if i < victim.len() => {
                    victim.remove(i);
                }
                _ => {}
            }
        }
        let mut input = Vec::new();
        for r in [&records[at], &victim, &records[at + 2]] {
            input.extend_from_slice(r);
            input.push(b'\n');
        }
        let (fast, full) = both(&input);
        if fast != full {
            let first = fast.0.iter().zip(&full.0).find(|(a, b)| a != b);
            let cut = |s: &String| s.chars().take(100).collect::<String>();
            let original = &records[at + 1];
            let from = original.iter().zip(&victim).position(|(a, b)| a != b).unwrap_or(0);
            let mutated = format!(
                "{} (was {}) | fast agents {} full agents {}",
                String::from_utf8_lossy(&victim[from.saturating_sub(100)..(from + 60).min(victim.len())]),
                String::from_utf8_lossy(&original[from.saturating_sub(100)..(from + 60).min(original.len())]),
                fast.0.iter().filter(|l| l.starts_with("agent ")).count(),
                full.0.iter().filter(|l| l.starts_with("agent ")).count(),
            );
            prop_assert!(
                false,
                "fast and full parse differ on {}: {:?} / {:?}; problems {} vs {}",
                cut(&mutated),
                first.map(|(a, _)| cut(a)),
                first.map(|(_, b)| cut(b)),
                fast.1,
                full.1
            );
        }
    }
}
