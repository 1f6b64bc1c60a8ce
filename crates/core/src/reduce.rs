//! One agent's events → status segments (SPEC §3).
//!
//! Events are de-duplicated by `EventId` (the first in input order wins), sorted by
//! `EventTimestamp` (ties keep input order), and folded into segments: a segment starts at
//! every event whose label differs from the label before it, and lasts until the next one
//! starts. The reducer knows nothing of days or time zones; `report` cuts segments into a
//! day's rows.

use rustc_hash::FxHashMap;

use crate::classify::{ClassId, Label, Labels};
use crate::event::EventKind;
use crate::script::ScriptError;
use crate::store::{Agent, Store, StoredEvent, event_kind};
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
    /// The events behind the segment (SPEC §3.8); the rule is its class's.
    pub lineage: Lineage,
}

/// What a segment was built from: the event whose snapshot gave its label, and the events
/// inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lineage {
    pub cause: Cause,
    /// The agent's events (after de-duplication) from the segment's start to its end.
    pub events: u32,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
}

/// The event whose snapshot gave a segment its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The event that started the segment: its current snapshot.
    Event(StoredEvent),
    /// The agent's first event, whose previous snapshot gave the label before it.
    PreviousOf(StoredEvent),
    /// The agent's first event, a `LOGIN` without a previous snapshot: Offline before it.
    BeforeLogin(StoredEvent),
}

impl Cause {
    /// The event whose record holds the snapshot.
    pub fn event(&self) -> &StoredEvent {
        match self {
            Cause::Event(e) | Cause::PreviousOf(e) | Cause::BeforeLogin(e) => e,
        }
    }
}

impl Lineage {
    fn new(cause: Cause) -> Lineage {
        Lineage {
            cause,
            events: 0,
            first_event: None,
            last_event: None,
        }
    }
}

/// An agent's whole history as segments.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub segments: Vec<Segment>,
    /// The last segment's label does not come from an OFFLINE-type status: the data ended
    /// while the agent was logged in.
    pub open: bool,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// The time of every event kept (after de-duplication), in order.
    pub event_times: Vec<Timestamp>,
    /// Events that repeat an earlier `EventId` with different content (the first was kept).
    pub conflicting_duplicates: Vec<Conflict>,
    /// The first script failure while classifying one of the agent's snapshots: every
    /// report of the agent fails with it.
    pub failure: Option<ScriptError>,
    /// The previous snapshot of the agent's first event was not kept (only possible after
    /// `watch` dropped a source): the store must be read again.
    pub needs_reread: bool,
}

/// An event that repeats an earlier event's `EventId` with different content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub kept: StoredEvent,
    pub repeat: StoredEvent,
}

impl Timeline {
    /// How many of the agent's events fall in `[start, end)`.
    pub fn events_between(&self, start: Timestamp, end: Timestamp) -> usize {
        let a = self.event_times.partition_point(|&t| t < start);
        let b = self.event_times.partition_point(|&t| t < end);
        b - a
    }
}

/// Builds an agent's timeline from their events (kept in input order).
pub fn reduce(store: &Store, agent: &Agent, labels: &Labels, stale_after_ms: i64) -> Timeline {
    let classes = &labels.classes;
    let mut timeline = Timeline::default();
    let events = order(store, &agent.events, labels, &mut timeline);
    let Some(first) = events.first() else {
        return timeline;
    };
    timeline.first_event = Some(first.at);
    timeline.last_event = events.last().map(|e| e.at);
    timeline.event_times = events.iter().map(|e| e.at).collect();

    let fail = |timeline: &mut Timeline, e: &ScriptError, event: &StoredEvent| {
        if timeline.failure.is_none() {
            let who = if agent.profile.login.is_empty() {
                format!("agent `{}`", agent.arn)
            } else {
                format!("agent `{}`", agent.profile.login)
            };
            let id = store
                .event_id(event)
                .unwrap_or_else(|| "(none)".to_string());
            timeline.failure = Some(e.clone().with_event(format!(
                "{who}, EventId `{id}`, EventTimestamp `{}`",
                event.at.to_rfc3339()
            )));
        }
    };
    let same_label = |a: ClassId, b: ClassId| classes.get(a).label == classes.get(b).label;
    let mut segments: Vec<Segment> = Vec::new();
    let previous = match store.first_previous(agent, first.seq) {
        Some(p) => p,
        None => {
            timeline.needs_reread = true;
            None
        }
    };
    let mut before_login_failure = None;
    let before_first = match (previous, event_kind(store.str(first.event_type))) {
        (Some(snap), _) => match labels.of_previous(snap, first) {
            Some(Label::Known { class, since }) => {
                class.map(|c| (c, *since, Cause::PreviousOf(*first)))
            }
            Some(Label::Failed(e)) => {
                fail(&mut timeline, e, first);
                None
            }
            None => None,
        },
        (None, EventKind::Login) => match classes.before_login() {
            Ok(class) => class.map(|c| (c, None, Cause::BeforeLogin(*first))),
            Err(e) => {
                // Reported unless an event's own classification failed too.
                before_login_failure = Some(e.clone());
                None
            }
        },
        (None, _) => None,
    };
    if let Some((class, since, cause)) = before_first {
        segments.push(Segment {
            // The snapshot's own start for its label, when it is before the first event.
            start: since.filter(|&s| s < first.at),
            end: None,
            class,
            silences: Vec::new(),
            lineage: Lineage::new(cause),
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

        let class = match labels.of_event(e) {
            Some(Label::Known {
                class: Some(class), ..
            }) => *class,
            Some(Label::Failed(err)) => {
                fail(&mut timeline, err, e);
                continue;
            }
            _ => continue,
        };
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
            lineage: Lineage::new(Cause::Event(*e)),
        });
    }

    if timeline.failure.is_none() {
        timeline.failure = before_login_failure;
    }
    for i in 1..segments.len() {
        segments[i - 1].end = segments[i].start;
    }
    // Segments tile time from the first one's start: the events inside each are the ones
    // between its start and its end, so the counts of a day's rows add up to its events.
    let times = &timeline.event_times;
    for segment in &mut segments {
        let from = segment
            .start
            .map_or(0, |s| times.partition_point(|&t| t < s));
        let to = segment
            .end
            .map_or(times.len(), |e| times.partition_point(|&t| t < e));
        let inside = times.get(from..to).unwrap_or_default();
        segment.lineage.events = u32::try_from(inside.len()).unwrap_or(u32::MAX);
        segment.lineage.first_event = inside.first().copied();
        segment.lineage.last_event = inside.last().copied();
    }
    timeline.open = segments
        .last()
        .is_some_and(|s| !classes.is_offline(s.class));
    timeline.segments = segments;
    timeline
}

/// The agent's events as the reducer reads them: de-duplicated and in time order (what a
/// segment's lineage counts; `explain` lists them).
pub fn events_in_order(store: &Store, agent: &Agent, labels: &Labels) -> Vec<StoredEvent> {
    order(store, &agent.events, labels, &mut Timeline::default())
}

/// De-duplicates by `EventId` in input order, then sorts by timestamp (stable, so ties keep
/// input order).
fn order(
    store: &Store,
    events: &[StoredEvent],
    labels: &Labels,
    timeline: &mut Timeline,
) -> Vec<StoredEvent> {
    let mut in_input_order: Vec<(u64, StoredEvent)> =
        events.iter().map(|e| (store.order(e.seq), *e)).collect();
    if !in_input_order.is_sorted_by_key(|e| e.0) {
        in_input_order.sort_by_key(|e| e.0);
    }
    let label = |e: &StoredEvent| match labels.of_event(e) {
        Some(Label::Known { class, .. }) => class.map(|c| labels.classes.label(c)),
        _ => None,
    };
    let mut seen: FxHashMap<[u64; 2], usize> = FxHashMap::default();
    seen.reserve(events.len());
    let mut kept: Vec<StoredEvent> = Vec::with_capacity(events.len());
    for (_, e) in in_input_order {
        if let Some(&k) = seen.get(&e.id) {
            let first = &kept[k];
            if (first.at, first.event_type) != (e.at, e.event_type) || label(first) != label(&e) {
                timeline.conflicting_duplicates.push(Conflict {
                    kept: *first,
                    repeat: e,
                });
            }
            continue;
        }
        seen.insert(e.id, kept.len());
        kept.push(e);
    }
    kept.sort_by_key(|e| e.at);
    kept
}
