//! Invariants of the reducer over random event sequences: a day's rows never overlap,
//! follow each other without holes, their durations add up to the covered part of the
//! window and their lineage counts to the events inside them, in zones with and without
//! DST.

use agent_audit::catalog::CatalogName;
use agent_audit::time::{Timestamp, Window};
use chrono::NaiveDate;
use proptest::prelude::*;

use crate::support::*;

const KINDS: [&str; 4] = ["LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT"];
const STATUSES: [&str; 4] = ["Available", "Offline", "Lunch", "Break"];
const ZONES: [&str; 5] = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];

#[derive(Clone, Debug)]
struct Gen {
    offset_ms: i64,
    kind: usize,
    current: Option<(usize, Option<usize>)>,
    previous: Option<usize>,
}

fn gen_event() -> impl Strategy<Value = Gen> {
    (
        0i64..3 * 86_400_000,
        0usize..4,
        proptest::option::weighted(0.9, (0usize..4, proptest::option::of(0usize..6))),
        proptest::option::weighted(0.3, 0usize..4),
    )
        .prop_map(|(offset_ms, kind, current, previous)| Gen {
            offset_ms,
            kind,
            current,
            previous,
        })
}

/// 2026-10-31T00:00Z: the sequences span the US and EU end of DST.
const BASE_MS: i64 = 1_793_404_800_000;

fn build(gens: &[Gen]) -> Vec<Event> {
    gens.iter()
        .map(|g| {
            let ts = Timestamp(BASE_MS + g.offset_ms).to_string();
            let mut e = event("a", KINDS[g.kind], &ts.replace("+00:00", "Z"));
            match g.current {
                Some((status, c)) => {
                    e = e.status(STATUSES[status]);
                    if let Some(c) = c {
                        let states = [
                            "CONNECTING",
                            "CONNECTED",
                            "ENDED",
                            "MISSED",
                            "CONNECTED_ONHOLD",
                            "ERROR",
                        ];
                        e = e.contact(connected(contact("c", "VOICE", "INBOUND", states[c])));
                    }
                }
                None => e = e.without_current(),
            }
            if let Some(p) = g.previous {
                e = e.previous(STATUSES[p]);
            }
            e
        })
        .collect()
}

/// Where coverage starts, computed from the sequence directly: before the first event if
/// it carries a previous snapshot or is a LOGIN; otherwise at the first event that has a
/// current snapshot.
fn coverage_start(gens: &[Gen]) -> Option<i64> {
    let mut sorted: Vec<&Gen> = gens.iter().collect();
    sorted.sort_by_key(|g| g.offset_ms);
    let first = sorted.first()?;
    if first.previous.is_some() || KINDS[first.kind] == "LOGIN" {
        return Some(i64::MIN);
    }
    sorted
        .iter()
        .find(|g| g.current.is_some())
        .map(|g| BASE_MS + g.offset_ms)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(300)))]

    #[test]
    fn rows_tile_the_covered_part_of_every_window(gens in proptest::collection::vec(gen_event(), 1..40)) {
        let classifier = rules(CatalogName::Connect);
        let events = build(&gens);
        let (store, labels) = ingest_with(&classifier, &events);
        let cover = coverage_start(&gens);
        for zone in ZONES {
            for day in 30..=34u32 {
                let date = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + chrono::Duration::days(i64::from(day));
                let window = Window::local_day(date, tz(zone)).unwrap();
                // By ARN: a sequence whose events all lack snapshots carries no login.
                let r = audit(&store, &labels, &classifier.catalog, &arn("a"), window, 300_000).unwrap();
                for pair in r.rows.windows(2) {
                    prop_assert_eq!(pair[0].end, pair[1].start, "rows must follow each other");
                }
                for row in &r.rows {
                    prop_assert!(row.start < row.end);
                    prop_assert!(row.start >= window.start && row.end <= window.end);
                }
                let covered = match cover {
                    Some(c) if c < window.end.0 => window.end.0 - c.max(window.start.0),
                    _ => 0,
                };
                prop_assert_eq!(total_ms(&r), covered, "{} {}", zone, date);
                if covered > 0 {
                    prop_assert_eq!(r.rows.last().map(|r| r.end), Some(window.end));
                }
                // Lineage: each event from the first row on is counted by exactly one row.
                let inside = r.rows.first().map_or(0, |first| {
                    gens.iter()
                        .map(|g| BASE_MS + g.offset_ms)
                        .filter(|&t| t >= first.start.0 && t < window.end.0)
                        .count()
                });
                prop_assert_eq!(r.rows.iter().map(|r| r.events).sum::<usize>(), inside);
            }
        }
    }
}
