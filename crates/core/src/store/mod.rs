//! The compact event store: what classification, reduction, lineage and policies need of
//! every event, and nothing more (SPEC §9).
//!
//! `input` frames bytes into records; [`read`] parses each record once into this store.
//! What is kept per event is a fixed 40-byte [`StoredEvent`]: time, input order, `EventId`,
//! event type and the id of its *projected snapshot* — the agent status, the next status,
//! the contacts and the configuration, exactly the fields the script API (SPEC §6) exposes.
//! Snapshots, configurations and strings are interned, so the heartbeats that repeat an
//! agent's state for hours cost one snapshot, and an agent's configuration is stored once
//! per change, not per event. Classification (`classify`) and reduction (`reduce`) read the
//! store, never the JSON; `run` and `report` build it once, and `watch` keeps it, so a new
//! generation re-classifies from memory and a new or grown event file is the only one read.
//!
//! The store knows nothing of labels: nothing here depends on the status catalogue or the
//! scripts, which is what lets one store serve every generation.

mod fields;
pub mod locate;
pub mod read;
mod refresh;
mod select;

use std::borrow::Cow;
use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

use crate::event::{
    Conf, EventKind, RawConfiguration, RawContact, RawHierarchy, RawNamed, RawSnapshot, RawStatus,
    Str,
};
use crate::time::Timestamp;

pub use locate::RecordAt;
pub use read::{InputProblem, Problems, ReadError, ReadOptions};
pub use refresh::SourceState;

/// An agent asked for by login or ARN that the events do not single out.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// No agent has this login or ARN; `hint` names the closest logins.
    #[error("agent `{login}` not found in the events{hint}")]
    NotFound { login: String, hint: String },
    #[error("login `{login}` belongs to {} agents ({}); pass the agent's ARN to --agent instead", arns.len(), arns.join(", "))]
    Ambiguous { login: String, arns: Vec<String> },
}

/// An interned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

/// Values each stored once, numbered in the order first seen. The index holds numbers
/// only, so a value is in memory once, not twice (as a map from value to number would).
#[derive(Clone)]
struct Interner<T> {
    values: Vec<T>,
    index: hashbrown::HashTable<u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            index: hashbrown::HashTable::new(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Interner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.values).finish()
    }
}

impl<T: std::hash::Hash + Eq> Interner<T> {
    fn hash<Q: std::hash::Hash + ?Sized>(value: &Q) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(value)
    }

    /// The number of `value` (which `owned` makes into a `T` when it is new).
    fn intern<Q>(&mut self, value: &Q, owned: impl FnOnce(&Q) -> T) -> u32
    where
        Q: std::hash::Hash + Eq + ?Sized,
        T: std::borrow::Borrow<Q>,
    {
        let hash = Self::hash(value);
        let values = &self.values;
        if let Some(&i) = self
            .index
            .find(hash, |&i| values[i as usize].borrow() == value)
        {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(owned(value));
        let values = &self.values;
        self.index
            .insert_unique(hash, i, |&j| Self::hash(values[j as usize].borrow()));
        i
    }

    /// The number of `value`, moved in when it is new (no copy made).
    fn intern_value(&mut self, value: T) -> u32 {
        let hash = Self::hash(&value);
        let values = &self.values;
        if let Some(&i) = self.index.find(hash, |&i| values[i as usize] == value) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(value);
        let values = &self.values;
        self.index
            .insert_unique(hash, i, |&j| Self::hash(&values[j as usize]));
        i
    }

    fn get(&self, i: u32) -> &T {
        &self.values[i as usize]
    }

    fn len(&self) -> usize {
        self.values.len()
    }
}

/// Strings, each stored once.
#[derive(Clone, Debug, Default)]
pub struct Strings {
    strings: Interner<Box<str>>,
}

impl Strings {
    pub fn sym(&mut self, s: &str) -> Sym {
        let i = self.strings.intern(s, |s| s.into());
        Sym(NonZeroU32::MIN.saturating_add(i))
    }

    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym.0.get() - 1)
    }

    fn opt(&mut self, s: &Option<Str<'_>>) -> Option<Sym> {
        s.as_ref().map(|s| self.sym(s.as_str()))
    }

    fn len(&self) -> usize {
        self.strings.len()
    }
}

/// `AgentStatus` or `NextAgentStatus`, projected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status {
    pub arn: Option<Sym>,
    pub name: Option<Sym>,
    /// `StartTimestamp` as written.
    pub start: Option<Sym>,
    /// `Type` as written (`StatusType::of` infers it when missing).
    pub kind: Option<Sym>,
}

/// One contact of a snapshot, projected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Contact {
    pub id: Option<Sym>,
    pub channel: Option<Sym>,
    pub method: Option<Sym>,
    pub state: Option<Sym>,
    pub state_start: Option<Sym>,
    /// Whether `ConnectedToAgentTimestamp` is set.
    pub connected: bool,
    pub queue: Option<Sym>,
}

/// An interned agent configuration ([`AgentProfile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigId(u32);

/// A snapshot as the script API sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub status: Option<Status>,
    pub next_status: Option<Status>,
    pub contacts: Box<[Contact]>,
    pub config: Option<ConfigId>,
}

/// An interned [`Snapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapId(u32);

impl SnapId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(i: usize) -> SnapId {
        SnapId(i as u32)
    }
}

/// Who an agent is, from a snapshot's `Configuration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AgentProfile {
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    /// Hierarchy groups, top level first.
    pub hierarchy: Vec<Group>,
    pub routing_profile: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Group {
    pub name: String,
    pub arn: String,
}

impl AgentProfile {
    /// `First Last`, or whichever of the two is known.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }

    pub(crate) fn from_raw(c: &RawConfiguration<'_>) -> AgentProfile {
        let s = |v: &Option<Str<'_>>| v.as_ref().map(Str::as_str).unwrap_or("").to_string();
        AgentProfile {
            login: s(&c.username),
            first_name: s(&c.first_name),
            last_name: s(&c.last_name),
            hierarchy: c
                .hierarchy
                .iter()
                .flat_map(|h| h.levels())
                .map(|l| Group {
                    name: s(&l.name),
                    arn: s(&l.arn),
                })
                .collect(),
            routing_profile: c
                .routing_profile
                .as_ref()
                .map(|r| s(&r.name))
                .unwrap_or_default(),
        }
    }

    /// The profile as a configuration, for the classifier and the hooks.
    fn to_raw(&self) -> RawConfiguration<'_> {
        fn s(v: &str) -> Option<Str<'_>> {
            Some(Str(Cow::Borrowed(v)))
        }
        fn named<'x>(name: &'x str, arn: &'x str) -> RawNamed<'x> {
            RawNamed {
                arn: (!arn.is_empty()).then_some(Str(Cow::Borrowed(arn))),
                name: s(name),
            }
        }
        let level = |i: usize| self.hierarchy.get(i).map(|g| named(&g.name, &g.arn));
        RawConfiguration {
            username: s(&self.login),
            first_name: s(&self.first_name),
            last_name: s(&self.last_name),
            hierarchy: (!self.hierarchy.is_empty()).then(|| RawHierarchy {
                level1: level(0),
                level2: level(1),
                level3: level(2),
                level4: level(3),
                level5: level(4),
            }),
            routing_profile: Some(named(&self.routing_profile, "")),
        }
    }
}

/// One event, as everything after the store needs it: 40 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub at: Timestamp,
    /// Input order: the source's id in the high 24 bits (see [`Store::order`] for how ids
    /// rank), the piece of a large file in the next 12, then the record within it in 28.
    pub seq: u64,
    /// `EventId` as 128 bits (exact for lower-case UUIDs); a missing id gets a unique value.
    pub id: [u64; 2],
    /// `EventType` as written.
    pub event_type: Sym,
    /// The current snapshot, or, for an event that has none, nothing.
    pub current: Option<SnapId>,
}

impl StoredEvent {
    pub fn source(&self) -> u32 {
        (self.seq >> 40) as u32
    }
}

/// A snapshot read for an agent's configuration only: the previous snapshot of an event
/// with no current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileOnly {
    pub at: Timestamp,
    pub seq: u64,
    pub config: ConfigId,
}

/// The previous snapshot of an event that was the earliest of its agent in the part of
/// the input it was read with (SPEC §3.2 needs it only for the agent's first event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Previous {
    pub seq: u64,
    pub snapshot: Option<SnapId>,
}

/// One agent's events, in input order.
#[derive(Clone, Debug)]
pub struct Agent {
    pub arn: String,
    /// From the agent's latest snapshot with a configuration (see [`Store::finish`]).
    pub profile: AgentProfile,
    pub events: Vec<StoredEvent>,
    /// Configurations seen only in previous snapshots.
    pub profile_only: Vec<ProfileOnly>,
    /// Candidates for the agent's first event's previous snapshot.
    pub previous: Vec<Previous>,
}

impl Agent {
    fn new(arn: &str) -> Agent {
        Agent {
            arn: arn.to_string(),
            profile: AgentProfile::default(),
            events: Vec::new(),
            profile_only: Vec::new(),
            previous: Vec::new(),
        }
    }
}

/// Counts for everything read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub sources: u64,
    pub bytes: u64,
    pub records: u64,
    pub problems: u64,
    /// Line breaks read.
    pub lines: u64,
}

/// Every agent's events, read once.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub strings: Strings,
    snapshots: Interner<Snapshot>,
    profiles: Interner<AgentProfile>,
    pub agents: Vec<Agent>,
    by_arn: FxHashMap<Box<str>, usize>,
    /// Skipped records and regions: the first few in input order, and their count.
    pub problems: Problems,
    /// Remarks about whole sources (an empty file, for example).
    pub notes: Vec<String>,
    pub stats: StoreStats,
    /// What was read of each source, by source id (see [`StoredEvent::seq`]).
    pub sources: Vec<SourceState>,
    /// `EventId`s that are not lower-case UUIDs, by their key (UUIDs are their own key).
    odd_ids: FxHashMap<[u64; 2], Box<str>>,
}

impl Store {
    pub fn snapshot(&self, id: SnapId) -> &Snapshot {
        self.snapshots.get(id.0)
    }

    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    pub fn profile(&self, id: ConfigId) -> &AgentProfile {
        self.profiles.get(id.0)
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    pub fn event_count(&self) -> usize {
        self.agents.iter().map(|a| a.events.len()).sum()
    }

    pub fn agent_by_arn(&self, arn: &str) -> Option<&Agent> {
        self.by_arn.get(arn).map(|&i| &self.agents[i])
    }

    pub fn agent_index(&self, arn: &str) -> Option<usize> {
        self.by_arn.get(arn).copied()
    }

    /// The agent whose latest login is `wanted`, or whose ARN is `wanted`.
    pub fn find_agent(&self, wanted: &str) -> Result<&Agent, FindError> {
        let matches: Vec<&Agent> = self
            .agents
            .iter()
            .filter(|a| !a.profile.login.is_empty() && crate::login::same(&a.profile.login, wanted))
            .collect();
        match matches.as_slice() {
            [one] => return Ok(one),
            [] => {}
            many => {
                return Err(FindError::Ambiguous {
                    login: wanted.to_string(),
                    arns: many.iter().map(|a| a.arn.clone()).collect(),
                });
            }
        }
        if let Some(agent) = self.agent_by_arn(wanted) {
            return Ok(agent);
        }
        let logins = self
            .agents
            .iter()
            .map(|a| a.profile.login.as_str())
            .filter(|l| !l.is_empty());
        let suggestions = crate::diagnostic::closest(wanted, logins);
        let hint = if suggestions.is_empty() {
            format!(" ({} agents in the events)", self.agents.len())
        } else {
            format!(
                "; closest logins: {}",
                suggestions
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(FindError::NotFound {
            login: wanted.to_string(),
            hint,
        })
    }

    /// The rank of a source in input order: sources are numbered as they are first read,
    /// which is input order except for files that appear later under `watch`.
    pub fn order(&self, seq: u64) -> u64 {
        let id = (seq >> 40) as usize;
        let rank = self.sources.get(id).map_or(id as u64, |s| s.rank);
        (rank << 40) | (seq & ((1 << 40) - 1))
    }

    /// The snapshot as the classifier and the hooks read it.
    pub fn raw_snapshot(&self, id: SnapId) -> RawSnapshot<'_> {
        let snap = self.snapshot(id);
        RawSnapshot {
            status: snap.status.as_ref().map(|s| self.raw_status(s)),
            next_status: snap.next_status.as_ref().map(|s| self.raw_status(s)),
            configuration: snap
                .config
                .map(|c| Conf::Parsed(Box::new(self.profile(c).to_raw()))),
            contacts: Some(
                snap.contacts
                    .iter()
                    .map(|c| RawContact {
                        id: self.raw(c.id),
                        channel: self.raw(c.channel),
                        initiation_method: self.raw(c.method),
                        state: self.raw(c.state),
                        state_start: self.raw(c.state_start),
                        connected_at: c.connected.then_some(Str(Cow::Borrowed(""))),
                        queue: c.queue.map(|q| RawNamed {
                            arn: None,
                            name: self.raw(Some(q)),
                        }),
                    })
                    .collect(),
            ),
        }
    }

    /// An event's `EventId` as written, or `None` when it had none.
    pub fn event_id(&self, e: &StoredEvent) -> Option<String> {
        if let Some(id) = self.odd_ids.get(&e.id) {
            return Some(id.to_string());
        }
        if e.id[0] == u64::MAX && e.id[1] == e.seq {
            return None;
        }
        let v = (u128::from(e.id[0]) << 64) | u128::from(e.id[1]);
        let hex = format!("{v:032x}");
        Some(format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        ))
    }

    fn raw(&self, sym: Option<Sym>) -> Option<Str<'_>> {
        sym.map(|s| Str(Cow::Borrowed(self.str(s))))
    }

    fn raw_status(&self, s: &Status) -> RawStatus<'_> {
        RawStatus {
            arn: self.raw(s.arn),
            name: self.raw(s.name),
            start: self.raw(s.start),
            kind: self.raw(s.kind),
        }
    }

    fn agent_slot(&mut self, arn: &str) -> usize {
        if let Some(&i) = self.by_arn.get(arn) {
            return i;
        }
        let i = self.agents.len();
        self.agents.push(Agent::new(arn));
        self.by_arn.insert(arn.into(), i);
        i
    }

    fn intern_profile(&mut self, profile: AgentProfile) -> ConfigId {
        ConfigId(self.profiles.intern_value(profile))
    }

    fn intern_snapshot(&mut self, snap: Snapshot) -> SnapId {
        SnapId(self.snapshots.intern_value(snap))
    }

    /// Projects and interns a parsed snapshot; `config` is its configuration, interned.
    fn add_snapshot(&mut self, raw: &RawSnapshot<'_>, config: Option<ConfigId>) -> SnapId {
        let status = |s: &RawStatus<'_>, strings: &mut Strings| Status {
            arn: strings.opt(&s.arn),
            name: strings.opt(&s.name),
            start: strings.opt(&s.start),
            kind: strings.opt(&s.kind),
        };
        let strings = &mut self.strings;
        let snap = Snapshot {
            status: raw.status.as_ref().map(|s| status(s, strings)),
            next_status: raw.next_status.as_ref().map(|s| status(s, strings)),
            contacts: raw
                .contacts()
                .iter()
                .map(|c| Contact {
                    id: strings.opt(&c.id),
                    channel: strings.opt(&c.channel),
                    method: strings.opt(&c.initiation_method),
                    state: strings.opt(&c.state),
                    state_start: strings.opt(&c.state_start),
                    connected: c.connected(),
                    queue: c.queue.as_ref().and_then(|q| strings.opt(&q.name)),
                })
                .collect(),
            config,
        };
        self.intern_snapshot(snap)
    }

    /// Appends a later part of the input (read into its own store), keeping input order.
    fn merge(&mut self, other: Store) {
        let mut syms: Vec<Option<Sym>> = vec![None; other.strings.len()];
        let mut sym = |s: Sym, this: &mut Strings| {
            let slot = &mut syms[s.0.get() as usize - 1];
            *slot.get_or_insert_with(|| this.sym(other.strings.get(s)))
        };
        let configs: Vec<ConfigId> = other
            .profiles
            .values
            .iter()
            .map(|p| self.intern_profile(p.clone()))
            .collect();
        let mut snaps: Vec<SnapId> = Vec::with_capacity(other.snapshots.len());
        for s in &other.snapshots.values {
            let mut opt = |v: Option<Sym>, this: &mut Strings| v.map(|v| sym(v, this));
            let strings = &mut self.strings;
            let mut status = |st: &Status, strings: &mut Strings| Status {
                arn: opt(st.arn, strings),
                name: opt(st.name, strings),
                start: opt(st.start, strings),
                kind: opt(st.kind, strings),
            };
            let snap = Snapshot {
                status: s.status.as_ref().map(|st| status(st, strings)),
                next_status: s.next_status.as_ref().map(|st| status(st, strings)),
                contacts: s
                    .contacts
                    .iter()
                    .map(|c| Contact {
                        id: opt(c.id, strings),
                        channel: opt(c.channel, strings),
                        method: opt(c.method, strings),
                        state: opt(c.state, strings),
                        state_start: opt(c.state_start, strings),
                        connected: c.connected,
                        queue: opt(c.queue, strings),
                    })
                    .collect(),
                config: s.config.map(|c| configs[c.0 as usize]),
            };
            snaps.push(self.intern_snapshot(snap));
        }
        for agent in other.agents {
            let slot = self.agent_slot(&agent.arn);
            let target = &mut self.agents[slot];
            target.events.reserve(agent.events.len());
            for e in &agent.events {
                target.events.push(StoredEvent {
                    event_type: sym(e.event_type, &mut self.strings),
                    current: e.current.map(|c| snaps[c.index()]),
                    ..*e
                });
            }
            target
                .profile_only
                .extend(agent.profile_only.iter().map(|p| ProfileOnly {
                    config: configs[p.config.0 as usize],
                    ..*p
                }));
            target
                .previous
                .extend(agent.previous.iter().map(|p| Previous {
                    snapshot: p.snapshot.map(|s| snaps[s.index()]),
                    ..*p
                }));
        }
        self.odd_ids.extend(other.odd_ids);
        self.problems.extend(other.problems);
        self.notes.extend(other.notes);
        self.stats.sources += other.stats.sources;
        self.stats.bytes += other.stats.bytes;
        self.stats.records += other.stats.records;
        self.stats.problems += other.stats.problems;
        self.stats.lines += other.stats.lines;
    }

    /// Brings each agent's derived facts up to date after a read: the profile from the
    /// latest snapshot (by time, then input order) that carries a configuration.
    pub(crate) fn finish(&mut self, agents: impl IntoIterator<Item = usize>) {
        for i in agents {
            let agent = &self.agents[i];
            let mut latest: Option<((Timestamp, u64), ConfigId)> = None;
            let mut consider = |at: Timestamp, order: u64, config: ConfigId| {
                if latest.is_none_or(|(k, _)| (at, order) >= k) {
                    latest = Some(((at, order), config));
                }
            };
            for e in &agent.events {
                if let Some(c) = e.current.and_then(|s| self.snapshots.get(s.0).config) {
                    consider(e.at, self.order(e.seq), c);
                }
            }
            for p in &agent.profile_only {
                consider(p.at, self.order(p.seq), p.config);
            }
            let profile = latest
                .map(|(_, c)| self.profiles.get(c.0).clone())
                .unwrap_or_default();
            self.agents[i].profile = profile;
        }
    }

    /// The previous snapshot of an agent's first event (by time, then input order): `None`
    /// when that event's previous snapshot was not kept (only after a source was dropped
    /// under `watch`: the caller reads everything again), `Some(None)` when it had none.
    pub fn first_previous(&self, agent: &Agent, first_seq: u64) -> Option<Option<SnapId>> {
        agent
            .previous
            .iter()
            .find(|p| p.seq == first_seq)
            .map(|p| p.snapshot)
    }

    /// Whether some agent's first event is one whose previous snapshot was not kept.
    pub fn lost_first_previous(&self) -> bool {
        self.agents.iter().any(|a| {
            let first = a.events.iter().min_by_key(|e| (e.at, self.order(e.seq)));
            first.is_some_and(|f| self.first_previous(a, f.seq).is_none())
        })
    }

    /// Forgets the agents that no event is left of (their files were deleted): a store
    /// after deletions holds what a fresh read of the remaining files would. Returns
    /// `touched` (agent indices) as they stand after, without the forgotten agents.
    pub(crate) fn forget_empty_agents(&mut self, touched: Vec<usize>) -> Vec<usize> {
        let empty = |a: &Agent| a.events.is_empty() && a.profile_only.is_empty();
        if !self.agents.iter().any(empty) {
            return touched;
        }
        let mut new_index = vec![usize::MAX; self.agents.len()];
        let mut kept = 0;
        for (i, a) in self.agents.iter().enumerate() {
            if !empty(a) {
                new_index[i] = kept;
                kept += 1;
            }
        }
        self.agents.retain(|a| !empty(a));
        self.by_arn = self
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.arn.clone().into_boxed_str(), i))
            .collect();
        touched
            .into_iter()
            .filter_map(|i| new_index.get(i).copied().filter(|&n| n != usize::MAX))
            .collect()
    }

    /// Drops everything read from source `id` (before it is read again).
    pub(crate) fn drop_source(&mut self, id: u32) -> Vec<usize> {
        let mut touched = Vec::new();
        for (i, agent) in self.agents.iter_mut().enumerate() {
            let before = agent.events.len() + agent.profile_only.len();
            let from = |seq: u64| (seq >> 40) as u32 == id;
            agent.events.retain(|e| !from(e.seq));
            agent.profile_only.retain(|p| !from(p.seq));
            agent.previous.retain(|p| !from(p.seq));
            if agent.events.len() + agent.profile_only.len() != before {
                touched.push(i);
            }
        }
        self.problems.drop_source(id);
        touched
    }
}

/// `EventType` values the reducer tells apart.
pub fn event_kind(s: &str) -> EventKind {
    EventKind::parse(Some(s))
}
