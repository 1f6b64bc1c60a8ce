//! One agent's events → status segments (SPEC §3).
//!
//! Events are de-duplicated by `EventId` (the first in input order wins), sorted by
//! `EventTimestamp` (ties keep input order), and folded into segments: a segment starts at
//! every event whose label differs from the label before it, and lasts until the next one
//! starts. The reducer knows nothing of days or time zones; `report` cuts segments into a
//! day's rows.

use rustc_hash::FxHashMap;

use crate::event::EventKind;
use crate::ingest::{Agent, ClassId, Classes, EventRecord};
use crate::time::Timestamp;

/// Heartbeats come every 120 s; a silence longer than this inside a logged-in row is a gap.
pub const DEFAULT_STALE_AFTER_MS: i64 = 300_000;

/// A stretch of time with one label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `None`: the segment covers everything before the agent's first event.
    pub start: Option<Timestamp>,
    /// `None`: the agent's last segment, which lasts beyond every window after it.
    pub end: Option<Timestamp>,
    /// The classification of the event that started the segment.
    pub class: ClassId,
    /// Silences longer than `stale_after` between two consecutive events inside the segment.
    pub silences: Vec<(Timestamp, Timestamp)>,
}

/// An agent's whole history as segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    pub segments: Vec<Segment>,
    /// The last segment's label does not come from an OFFLINE-type status: the data ended
    /// while the agent was logged in.
    pub open: bool,
    pub first_event: Option<Timestamp>,
    /// Events that repeat an earlier `EventId` with different content (the first was kept).
    pub conflicting_duplicates: usize,
}

/// Builds an agent's timeline from their events (kept in input order).
pub fn reduce(agent: &Agent, classes: &Classes, stale_after_ms: i64) -> Timeline {
    let mut timeline = Timeline::default();
    let events = order(&agent.events, &mut timeline);
    let Some(first) = events.first() else {
        return timeline;
    };
    timeline.first_event = Some(first.at);

    let same_label = |a: ClassId, b: ClassId| classes.get(a).label == classes.get(b).label;
    let mut segments: Vec<Segment> = Vec::new();
    // The earliest event's previous snapshot was kept when it was read. (Only if a
    // conflicting duplicate moved the first event elsewhere is it not this one.)
    let previous = agent
        .first
        .filter(|f| (f.at, f.seq) == (first.at, first.seq))
        .and_then(|f| f.previous);
    let before_first = match (previous, first.kind) {
        (Some(previous), _) => Some(previous),
        (None, EventKind::Login) => classes.before_login(),
        (None, _) => None,
    };
    if let Some(class) = before_first {
        segments.push(Segment {
            start: None,
            end: None,
            class,
            silences: Vec::new(),
        });
    }

    let mut previous_at: Option<Timestamp> = None;
    for e in &events {
        if let (Some(p), Some(last)) = (previous_at, segments.last_mut())
            && e.at.0 - p.0 > stale_after_ms
            && !classes.is_offline(last.class)
        {
            last.silences.push((p, e.at));
        }
        previous_at = Some(e.at);

        let Some(class) = e.current else { continue };
        if let Some(last) = segments.last() {
            if same_label(last.class, class) {
                continue;
            }
            if last.start == Some(e.at) {
                // The label changed twice at the same instant: the one in between lasted
                // no time and is not shown.
                segments.pop();
                if segments.last().is_some_and(|l| same_label(l.class, class)) {
                    continue;
                }
            }
        }
        segments.push(Segment {
            start: Some(e.at),
            end: None,
            class,
            silences: Vec::new(),
        });
    }

    for i in 1..segments.len() {
        segments[i - 1].end = segments[i].start;
    }
    timeline.open = segments
        .last()
        .is_some_and(|s| !classes.is_offline(s.class));
    timeline.segments = segments;
    timeline
}

/// De-duplicates by `EventId` in input order, then sorts by timestamp (stable, so ties keep
/// input order).
fn order(events: &[EventRecord], timeline: &mut Timeline) -> Vec<EventRecord> {
    let mut in_input_order = events.to_vec();
    if !in_input_order.is_sorted_by_key(|e| e.seq) {
        in_input_order.sort_by_key(|e| e.seq);
    }
    let mut seen: FxHashMap<[u64; 2], usize> = FxHashMap::default();
    seen.reserve(events.len());
    let mut kept: Vec<EventRecord> = Vec::with_capacity(events.len());
    for e in in_input_order {
        if let Some(&k) = seen.get(&e.id) {
            let first = &kept[k];
            if (first.at, first.kind, first.current) != (e.at, e.kind, e.current) {
                timeline.conflicting_duplicates += 1;
            }
            continue;
        }
        seen.insert(e.id, kept.len());
        kept.push(e);
    }
    kept.sort_by_key(|e| e.at);
    kept
}
