//! The store's snapshots → status labels, for one generation (SPEC §4, §6).
//!
//! Every distinct snapshot in the store is classified once through the generation's
//! [`Classifier`] (hooks first, then the catalogue's rules), in parallel; a hook that reads
//! the event's own time or type (`snap.timestamp`, `snap.event_type`) is instead asked per
//! event, as that is what it sees. The result, [`Labels`], is what `reduce` reads. Nothing
//! here reads the input: a new generation re-classifies from the store alone.

use std::num::NonZeroU32;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::catalog::{Classification, Classifier, LabelSource};
use crate::event::{RawSnapshot, StatusType};
use crate::script::ScriptError;
use crate::store::{SnapId, Snapshot, Store, StoredEvent, Strings, Sym};
use crate::time::Timestamp;

/// An interned [`Class`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClassId(NonZeroU32);

/// A classification, interned: the label, where it came from, and the rule that gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Class {
    pub label: Sym,
    pub source: ClassSource,
    /// `file:line` of the rule or hook `return` that decided (SPEC §3.8).
    pub rule: Sym,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClassSource {
    Status(StatusType),
    Contact { channel: Sym, contact: Sym },
    Script { offline: bool },
}

/// The interned classifications of a generation.
#[derive(Debug, Default)]
pub struct Classes {
    strings: Strings,
    classes: Vec<Class>,
    class_index: FxHashMap<Class, ClassId>,
    before_login: Option<ClassId>,
    before_login_failure: Option<ScriptError>,
}

impl Classes {
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    pub fn intern(&mut self, c: &Classification<'_>) -> ClassId {
        let label = self.strings.sym(&c.label);
        let source = match c.source {
            LabelSource::Status(kind) => ClassSource::Status(kind),
            LabelSource::Contact {
                channel,
                contact_id,
            } => ClassSource::Contact {
                channel: self.strings.sym(channel),
                contact: self.strings.sym(contact_id),
            },
            LabelSource::Script { offline } => ClassSource::Script { offline },
        };
        let rule = self.strings.sym(&c.rule);
        let class = Class {
            label,
            source,
            rule,
        };
        if let Some(&id) = self.class_index.get(&class) {
            return id;
        }
        self.classes.push(class);
        let id = ClassId(NonZeroU32::MIN.saturating_add(self.classes.len() as u32 - 1));
        self.class_index.insert(class, id);
        id
    }

    /// The label before a first `LOGIN` that has no previous snapshot.
    pub fn before_login(&self) -> Result<Option<ClassId>, &ScriptError> {
        match &self.before_login_failure {
            Some(e) => Err(e),
            None => Ok(self.before_login),
        }
    }

    pub fn get(&self, id: ClassId) -> &Class {
        &self.classes[id.0.get() as usize - 1]
    }

    pub fn label(&self, id: ClassId) -> &str {
        self.str(self.get(id).label)
    }

    /// `file:line` of what decided the label (see [`Classification::rule`]).
    pub fn rule(&self, id: ClassId) -> &str {
        self.str(self.get(id).rule)
    }

    /// Whether the label comes from an OFFLINE-type agent status.
    pub fn is_offline(&self, id: ClassId) -> bool {
        matches!(
            self.get(id).source,
            ClassSource::Status(StatusType::Offline) | ClassSource::Script { offline: true }
        )
    }

    /// The agent status type behind a label, when it came from the agent's status.
    pub fn status_type(&self, id: ClassId) -> Option<StatusType> {
        match self.get(id).source {
            ClassSource::Status(kind) => Some(kind),
            ClassSource::Script { offline: true } => Some(StatusType::Offline),
            ClassSource::Contact { .. } | ClassSource::Script { .. } => None,
        }
    }

    /// Channel and contact id, when a contact decided the label.
    pub fn contact(&self, id: ClassId) -> Option<(&str, &str)> {
        match self.get(id).source {
            ClassSource::Contact { channel, contact } => {
                Some((self.str(channel), self.str(contact)))
            }
            ClassSource::Status(_) | ClassSource::Script { .. } => None,
        }
    }
}

/// What a snapshot was classified as: a label or none, the time the snapshot gives for
/// that label's start (SPEC §3.2), or the script failure that stopped it.
#[derive(Clone, Debug)]
pub enum Label {
    Known {
        class: Option<ClassId>,
        since: Option<Timestamp>,
    },
    Failed(ScriptError),
}

/// The labels of one store's snapshots under one generation.
#[derive(Debug)]
pub struct Labels {
    pub classes: Classes,
    by_snapshot: Vec<Label>,
    /// Set when a hook reads event times: labels are then computed per event.
    per_event: Option<PerEvent>,
}

/// Per-event labels, by (snapshot, event time, event type).
#[derive(Debug, Default)]
struct PerEvent {
    labels: FxHashMap<(SnapId, Timestamp, Sym), Label>,
}

impl Labels {
    /// The label of `event`'s current snapshot.
    pub fn of_event(&self, event: &StoredEvent) -> Option<&Label> {
        let snap = event.current?;
        match &self.per_event {
            Some(p) => p.labels.get(&(snap, event.at, event.event_type)),
            None => self.by_snapshot.get(snap.index()),
        }
    }

    /// The label of the previous snapshot of `event` (an agent's first event).
    pub fn of_previous(&self, snap: SnapId, event: &StoredEvent) -> Option<&Label> {
        match &self.per_event {
            Some(p) => p.labels.get(&(snap, event.at, event.event_type)),
            None => self.by_snapshot.get(snap.index()),
        }
    }
}

/// Classifies every snapshot of `store`.
pub fn classify(store: &Store, classifier: &Classifier) -> Labels {
    let hooks_need_times = classifier.hooks.need_times();
    let one = |snap: &RawSnapshot<'_>, event_type: &str, timestamp: &str| {
        classifier
            .classify(event_type, timestamp, snap)
            .map(|c| c.map(|c| (owned(&c), since(&c, snap))))
    };
    // Without hooks that read event times, a snapshot's label is the same at every event.
    let count = if hooks_need_times {
        0
    } else {
        store.snapshot_count()
    };
    // Nor does it depend on the snapshot's times: snapshots alike but for their times (a
    // status held for hours, re-stamped contacts) are classified once.
    let mut groups: FxHashMap<TimeFree, usize> = FxHashMap::default();
    let mut representatives: Vec<usize> = Vec::new();
    let group_of: Vec<usize> = (0..count)
        .map(|i| {
            let key = TimeFree::of(store.snapshot(SnapId::from_index(i)));
            *groups.entry(key).or_insert_with(|| {
                representatives.push(i);
                representatives.len() - 1
            })
        })
        .collect();
    let results: Vec<_> = representatives
        .par_iter()
        .map(|&i| {
            let snap = store.raw_snapshot(SnapId::from_index(i));
            classifier
                .classify("", "", &snap)
                .map(|c| c.map(|c| owned(&c)))
        })
        .collect();
    let mut classes = Classes::default();
    let group_classes: Vec<Result<Option<ClassId>, ScriptError>> = results
        .into_iter()
        .map(|r| r.map(|c| c.map(|c| classes.intern(&c.borrowed()))))
        .collect();
    let by_snapshot: Vec<Label> = group_of
        .iter()
        .enumerate()
        .map(|(i, &g)| match &group_classes[g] {
            Ok(None) => Label::Known {
                class: None,
                since: None,
            },
            Ok(Some(class)) => Label::Known {
                class: Some(*class),
                since: since_stored(
                    store,
                    store.snapshot(SnapId::from_index(i)),
                    &classes,
                    *class,
                ),
            },
            Err(e) => Label::Failed(e.clone()),
        })
        .collect();
    let intern = |r: Result<Option<(Owned, Option<Timestamp>)>, ScriptError>,
                  classes: &mut Classes| match r {
        Ok(None) => Label::Known {
            class: None,
            since: None,
        },
        Ok(Some((c, since))) => Label::Known {
            class: Some(classes.intern(&c.borrowed())),
            since,
        },
        Err(e) => Label::Failed(e),
    };
    let per_event = hooks_need_times.then(|| {
        let mut keys: Vec<(SnapId, Timestamp, Sym)> = store
            .agents
            .iter()
            .flat_map(|a| a.events.iter())
            .filter_map(|e| Some((e.current?, e.at, e.event_type)))
            .collect();
        // The previous snapshots kept for first events, seen at those events.
        for agent in &store.agents {
            for p in &agent.previous {
                if let Some(snap) = p.snapshot
                    && let Some(e) = agent.events.iter().find(|e| e.seq == p.seq)
                {
                    keys.push((snap, e.at, e.event_type));
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let results: Vec<_> = keys
            .par_iter()
            .map(|&(snap, at, event_type)| {
                let raw = store.raw_snapshot(snap);
                one(&raw, store.str(event_type), &at.to_rfc3339())
            })
            .collect();
        let labels = keys
            .into_iter()
            .zip(results)
            .map(|(k, r)| (k, intern(r, &mut classes)))
            .collect();
        PerEvent { labels }
    });
    // Asked only when some agent's first event is a LOGIN with no previous snapshot.
    let starts_with_login = store.agents.iter().any(|a| {
        let first = a.events.iter().min_by_key(|e| (e.at, store.order(e.seq)));
        first.is_some_and(|f| {
            crate::store::event_kind(store.str(f.event_type)) == crate::event::EventKind::Login
                && store.first_previous(a, f.seq).flatten().is_none()
        })
    });
    if starts_with_login {
        match classifier.classify("LOGIN", "", &offline_snapshot()) {
            Ok(c) => classes.before_login = c.map(|c| classes.intern(&c)),
            Err(e) => {
                classes.before_login_failure =
                    Some(e.with_event("the state before a LOGIN (status `Offline`)".to_string()))
            }
        }
    }
    Labels {
        classes,
        by_snapshot,
        per_event,
    }
}

/// The state before a `LOGIN` that has no previous snapshot: an agent status named
/// `Offline` of type OFFLINE, classified through the same pipeline as any snapshot, so a
/// script that renames Offline renames it too.
pub fn offline_snapshot() -> RawSnapshot<'static> {
    use crate::event::{RawStatus, Str};
    use std::borrow::Cow;
    RawSnapshot {
        status: Some(RawStatus {
            name: Some(Str(Cow::Borrowed("Offline"))),
            kind: Some(Str(Cow::Borrowed("OFFLINE"))),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A snapshot without its times: all that a label can depend on unless a hook reads times.
#[derive(PartialEq, Eq, Hash)]
struct TimeFree {
    status: Option<[Option<Sym>; 3]>,
    next: Option<Option<Sym>>,
    contacts: Vec<([Option<Sym>; 5], bool)>,
    config: Option<crate::store::ConfigId>,
}

impl TimeFree {
    fn of(s: &Snapshot) -> TimeFree {
        TimeFree {
            status: s.status.map(|st| [st.arn, st.name, st.kind]),
            next: s.next_status.map(|n| n.name),
            contacts: s
                .contacts
                .iter()
                .map(|c| ([c.id, c.channel, c.method, c.state, c.queue], c.connected))
                .collect(),
            config: s.config,
        }
    }
}

/// [`since`] for a snapshot of the store, given its class.
fn since_stored(
    store: &Store,
    snap: &Snapshot,
    classes: &Classes,
    class: ClassId,
) -> Option<Timestamp> {
    let c = classes.get(class);
    let raw = match c.source {
        ClassSource::Contact { contact, .. } => {
            let id = classes.str(contact);
            snap.contacts
                .iter()
                .find(|k| k.id.map_or("", |i| store.str(i)) == id)
                .and_then(|k| k.state_start)
        }
        ClassSource::Status(_) => snap.status.and_then(|s| s.start),
        ClassSource::Script { .. } => snap
            .status
            .filter(|s| s.name.is_some_and(|n| store.str(n) == classes.str(c.label)))
            .and_then(|s| s.start),
    }?;
    Timestamp::parse_rfc3339(store.str(raw)).ok()
}

/// When the snapshot says its label began: the deciding contact's `StateStartTimestamp`,
/// or the agent status's `StartTimestamp` for a label from the status (SPEC §3.2).
fn since(c: &Classification<'_>, snap: &RawSnapshot<'_>) -> Option<Timestamp> {
    let raw = match c.source {
        LabelSource::Contact { contact_id, .. } => snap
            .contacts()
            .iter()
            .find(|k| k.id.as_ref().map(|i| i.as_str()).unwrap_or("") == contact_id)
            .and_then(|k| k.state_start.as_ref()),
        LabelSource::Status(_) => snap.status.as_ref().and_then(|s| s.start.as_ref()),
        LabelSource::Script { .. } => snap
            .status
            .as_ref()
            .filter(|s| s.name.as_ref().is_some_and(|n| n.as_str() == c.label))
            .and_then(|s| s.start.as_ref()),
    }?;
    Timestamp::parse_rfc3339(raw.as_str()).ok()
}

/// A classification that owns its strings (to cross threads).
struct Owned {
    label: String,
    source: OwnedSource,
    rule: String,
}

enum OwnedSource {
    Status(StatusType),
    Contact { channel: String, contact_id: String },
    Script { offline: bool },
}

fn owned(c: &Classification<'_>) -> Owned {
    Owned {
        label: c.label.to_string(),
        source: match c.source {
            LabelSource::Status(k) => OwnedSource::Status(k),
            LabelSource::Contact {
                channel,
                contact_id,
            } => OwnedSource::Contact {
                channel: channel.to_string(),
                contact_id: contact_id.to_string(),
            },
            LabelSource::Script { offline } => OwnedSource::Script { offline },
        },
        rule: c.rule.to_string(),
    }
}

impl Owned {
    fn borrowed(&self) -> Classification<'_> {
        Classification {
            label: std::borrow::Cow::Borrowed(&self.label),
            source: match &self.source {
                OwnedSource::Status(k) => LabelSource::Status(*k),
                OwnedSource::Contact {
                    channel,
                    contact_id,
                } => LabelSource::Contact {
                    channel,
                    contact_id,
                },
                OwnedSource::Script { offline } => LabelSource::Script { offline: *offline },
            },
            rule: std::borrow::Cow::Borrowed(&self.rule),
        }
    }
}
