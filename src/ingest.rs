//! Event records → compact per-agent event lists.
//!
//! Each source is framed (`input`), each record parsed into a borrowed [`RawEvent`], and
//! each snapshot classified by the catalogue right away, so what is kept per event is a
//! few dozen bytes ([`EventRecord`]) whatever the size of the JSON. Sources are read in
//! parallel and merged in input order, which is what "first occurrence wins" and "ties keep
//! input order" are defined against. Ordering and de-duplication happen in `reduce`.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::catalog::{Classification, Classifier, LabelSource};
use crate::event::{Conf, EventKind, RawConfiguration, RawEvent, StatusType, Str};
use crate::input::framing::{self, Flow, Outcome, Position};
use crate::input::scan::{self, Extent};
use crate::input::{self, InputError, Source};
use crate::script::ScriptError;
use crate::time::Timestamp;

/// Options for reading input.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Fail on the first malformed record instead of skipping it.
    pub strict: bool,
    /// Parse only records that contain one of these byte strings (for example an agent's
    /// quoted login or ARN); pass over the others unparsed.
    pub only_containing: Vec<Vec<u8>>,
    /// Size of the pieces large files of JSON lines are read in (0: the default, 64 MiB).
    pub piece_size: u64,
    /// Parse only the records of agents whose ARN belongs to this shard.
    pub shard: Option<crate::batch::Shard>,
}

/// A record or region of a source that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    pub source: String,
    pub at: Position,
    pub message: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.source, self.at.line, self.at.column, self.message
        )
    }
}

/// Why reading the input failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Input(#[from] InputError),
    /// A malformed record under `--strict`.
    #[error("{0} (--strict stops at the first malformed record)")]
    Malformed(InputProblem),
}

/// An interned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

/// An interned [`Class`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClassId(NonZeroU32);

/// A classification, interned: the label and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Class {
    pub label: Sym,
    pub source: ClassSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClassSource {
    Status(StatusType),
    Contact { channel: Sym, contact: Sym },
    Script { offline: bool },
}

/// The interned classifications of a run.
#[derive(Debug, Default)]
pub struct Classes {
    strings: Vec<Box<str>>,
    string_index: FxHashMap<Box<str>, Sym>,
    classes: Vec<Class>,
    class_index: FxHashMap<Class, ClassId>,
    before_login: Option<ClassId>,
}

impl Classes {
    pub fn sym(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.string_index.get(s) {
            return sym;
        }
        let sym = Sym(self.strings.len() as u32);
        self.strings.push(s.into());
        self.string_index.insert(s.into(), sym);
        sym
    }

    pub fn str(&self, sym: Sym) -> &str {
        &self.strings[sym.0 as usize]
    }

    pub fn intern(&mut self, c: &Classification<'_>) -> ClassId {
        let label = self.sym(&c.label);
        let source = match c.source {
            LabelSource::Status(kind) => ClassSource::Status(kind),
            LabelSource::Contact {
                channel,
                contact_id,
            } => ClassSource::Contact {
                channel: self.sym(channel),
                contact: self.sym(contact_id),
            },
            LabelSource::Script { offline } => ClassSource::Script { offline },
        };
        self.intern_class(Class { label, source })
    }

    fn intern_class(&mut self, class: Class) -> ClassId {
        if let Some(&id) = self.class_index.get(&class) {
            return id;
        }
        self.classes.push(class);
        let id = ClassId(NonZeroU32::MIN.saturating_add(self.classes.len() as u32 - 1));
        self.class_index.insert(class, id);
        id
    }

    /// The label before a first `LOGIN` (see [`Ingested::classify_before_login`]).
    pub fn before_login(&self) -> Option<ClassId> {
        self.before_login
    }

    pub fn get(&self, id: ClassId) -> &Class {
        &self.classes[id.0.get() as usize - 1]
    }

    pub fn label(&self, id: ClassId) -> &str {
        self.str(self.get(id).label)
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

    /// Copies `other`'s class into this table.
    fn import(&mut self, other: &Classes, id: ClassId) -> ClassId {
        let c = other.get(id);
        let label = self.sym(other.str(c.label));
        let source = match c.source {
            ClassSource::Status(k) => ClassSource::Status(k),
            ClassSource::Contact { channel, contact } => ClassSource::Contact {
                channel: self.sym(other.str(channel)),
                contact: self.sym(other.str(contact)),
            },
            ClassSource::Script { offline } => ClassSource::Script { offline },
        };
        self.intern_class(Class { label, source })
    }
}

/// One event, as the reducer needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub at: Timestamp,
    /// Input order: source index in the high 24 bits, then the piece of a large file in 12
    /// bits, then the record within it in 28 (see `input::pieces`).
    pub seq: u64,
    /// `EventId` as 128 bits (exact for UUIDs); a missing id gets a unique value.
    pub id: [u64; 2],
    pub kind: EventKind,
    pub current: Option<ClassId>,
}

/// An agent's earliest event (by time, then input order) and the label of its previous
/// snapshot: the state before it. Only this event's previous snapshot matters (SPEC §3),
/// so no other is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstEvent {
    pub at: Timestamp,
    pub seq: u64,
    pub kind: EventKind,
    pub previous: Option<ClassId>,
}

/// Who an agent is, from their latest snapshot.
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

    fn same_as(&self, c: &RawConfiguration<'_>) -> bool {
        let eq = |a: &str, b: &Option<Str<'_>>| a == b.as_ref().map(Str::as_str).unwrap_or("");
        eq(&self.login, &c.username)
            && eq(&self.first_name, &c.first_name)
            && eq(&self.last_name, &c.last_name)
            && eq(
                &self.routing_profile,
                &c.routing_profile.as_ref().and_then(|r| r.name.clone()),
            )
            && {
                let levels: Vec<_> = c.hierarchy.iter().flat_map(|h| h.levels()).collect();
                levels.len() == self.hierarchy.len()
                    && levels
                        .iter()
                        .zip(&self.hierarchy)
                        .all(|(l, g)| eq(&g.name, &l.name) && eq(&g.arn, &l.arn))
            }
    }

    fn from_raw(c: &RawConfiguration<'_>) -> AgentProfile {
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
}

/// One agent's events, in input order until `reduce` sorts them.
#[derive(Clone, Debug)]
pub struct Agent {
    pub arn: String,
    pub profile: AgentProfile,
    /// When the profile was last seen, and in which record.
    profile_at: Option<(Timestamp, u64)>,
    /// The xxh3 digest of the raw `Configuration` the profile was read from.
    config_digest: Option<u128>,
    pub events: Vec<EventRecord>,
    pub first: Option<FirstEvent>,
    /// The first script failure while classifying one of this agent's events: every report
    /// of this agent fails with it (other agents' reports are unaffected).
    pub failure: Option<ScriptError>,
}

/// Counts for a whole read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Line breaks read.
    pub lines: u64,
    pub sources: u64,
    pub bytes: u64,
    pub records: u64,
    pub problems: u64,
}

/// Everything read from the input.
#[derive(Debug, Default)]
pub struct Ingested {
    pub agents: Vec<Agent>,
    by_arn: FxHashMap<Box<str>, usize>,
    pub classes: Classes,
    /// Skipped records and regions, in input order.
    pub problems: Vec<InputProblem>,
    /// Remarks about whole sources (an empty file, for example).
    pub notes: Vec<String>,
    pub stats: IngestStats,
}

impl Ingested {
    /// Classifies the state before a `LOGIN` that has no previous snapshot — an agent
    /// status named `Offline` of type OFFLINE — through the same pipeline as any snapshot
    /// (so a script that renames Offline renames it too), if some agent's first event is
    /// such a LOGIN. A script failure here fails those agents' reports only.
    fn classify_before_login(&mut self, classifier: &Classifier) {
        use std::borrow::Cow;
        let starts_with_login = |a: &Agent| {
            a.first
                .is_some_and(|f| f.kind == EventKind::Login && f.previous.is_none())
        };
        if !self.agents.iter().any(starts_with_login) {
            return;
        }
        let snapshot = crate::event::RawSnapshot {
            status: Some(crate::event::RawStatus {
                name: Some(Str(Cow::Borrowed("Offline"))),
                kind: Some(Str(Cow::Borrowed("OFFLINE"))),
                ..Default::default()
            }),
            ..Default::default()
        };
        match classifier.classify("LOGIN", "", &snapshot) {
            Ok(c) => self.classes.before_login = c.map(|c| self.classes.intern(&c)),
            Err(e) => {
                let e = e.with_event("the state before a LOGIN (status `Offline`)".to_string());
                for agent in self.agents.iter_mut().filter(|a| starts_with_login(a)) {
                    agent.failure.get_or_insert_with(|| e.clone());
                }
            }
        }
    }

    /// The agent whose latest login is `wanted`, or whose ARN is `wanted`.
    pub fn find_agent(&self, wanted: &str) -> Result<&Agent, crate::Error> {
        let matches: Vec<&Agent> = self
            .agents
            .iter()
            .filter(|a| a.profile.login == wanted)
            .collect();
        match matches.as_slice() {
            [one] => return Ok(one),
            [] => {}
            many => {
                return Err(crate::Error::AmbiguousAgent {
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
        Err(crate::Error::AgentNotFound {
            login: wanted.to_string(),
            hint,
        })
    }

    pub fn agent_by_arn(&self, arn: &str) -> Option<&Agent> {
        self.by_arn.get(arn).map(|&i| &self.agents[i])
    }

    fn agent_slot(&mut self, arn: &str) -> usize {
        if let Some(&i) = self.by_arn.get(arn) {
            return i;
        }
        let i = self.agents.len();
        self.agents.push(Agent {
            arn: arn.to_string(),
            profile: AgentProfile::default(),
            profile_at: None,
            config_digest: None,
            events: Vec::new(),
            first: None,
            failure: None,
        });
        self.by_arn.insert(arn.into(), i);
        i
    }

    /// Adds one parsed event; an error is the reason to skip the record.
    fn add(&mut self, classifier: &Classifier, ev: &RawEvent<'_>, seq: u64) -> Result<(), String> {
        let at = Timestamp::parse_rfc3339(ev.event_timestamp.as_str()).map_err(|e| {
            format!(
                "malformed record: bad `EventTimestamp` `{}`: {e}",
                ev.event_timestamp.as_str()
            )
        })?;
        let arn = ev.agent_arn.as_str();
        if arn.is_empty() {
            return Err("malformed record: `AgentARN` is empty".to_string());
        }
        let event_type = ev.event_type.as_ref().map(Str::as_str).unwrap_or("");
        let timestamp = ev.event_timestamp.as_str();
        let mut failure = None;
        let mut classify = |snapshot: &Option<crate::event::RawSnapshot<'_>>,
                            classes: &mut Classes| {
            let snapshot = snapshot.as_ref()?;
            match classifier.classify(event_type, timestamp, snapshot) {
                Ok(c) => c.map(|c| classes.intern(&c)),
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            }
        };
        let slot = self.agent_slot(arn);
        let kind = EventKind::parse(ev.event_type.as_ref().map(Str::as_str));
        let current = classify(&ev.current, &mut self.classes);
        let earliest = self.agents[slot]
            .first
            .is_none_or(|f| (at, seq) < (f.at, f.seq));
        if earliest {
            let previous = classify(&ev.previous, &mut self.classes);
            self.agents[slot].first = Some(FirstEvent {
                at,
                seq,
                kind,
                previous,
            });
        }
        let agent = &mut self.agents[slot];
        if let Some(e) = failure
            && agent.failure.is_none()
        {
            let login = ev
                .current
                .iter()
                .chain(&ev.previous)
                .find_map(|s| s.configuration.as_ref()?.parse().ok()?.username.clone())
                .map(|u| format!("agent `{}`", u.as_str()))
                .unwrap_or_else(|| format!("agent `{arn}`"));
            let id = ev.event_id.as_ref().map(Str::as_str).unwrap_or("(none)");
            agent.failure = Some(e.with_event(format!(
                "{login}, EventId `{id}`, EventTimestamp `{timestamp}`"
            )));
        }
        let config = ev
            .current
            .as_ref()
            .and_then(|s| s.configuration.as_ref())
            .or_else(|| ev.previous.as_ref().and_then(|s| s.configuration.as_ref()));
        if let Some(config) = config
            && agent.profile_at.is_none_or(|p| (at, seq) >= p)
        {
            // Most events repeat the agent's configuration byte for byte: parse only news.
            let digest = config.raw_bytes().map(xxhash_rust::xxh3::xxh3_128);
            if digest.is_none() || digest != agent.config_digest {
                let parsed = config.parse()?;
                if !agent.profile.same_as(&parsed) {
                    agent.profile = AgentProfile::from_raw(&parsed);
                }
                agent.config_digest = digest;
            }
            agent.profile_at = Some((at, seq));
        }
        agent.events.push(EventRecord {
            at,
            seq,
            id: event_key(ev.event_id.as_ref().map(Str::as_str), seq),
            kind,
            current,
        });
        Ok(())
    }

    /// Appends a later source's events, keeping input order.
    fn merge(&mut self, other: Ingested) {
        for agent in other.agents {
            let slot = self.agent_slot(&agent.arn);
            let mut map: HashMap<ClassId, ClassId> = HashMap::new();
            let mut remap = |id: Option<ClassId>, this: &mut Classes| {
                id.map(|id| {
                    *map.entry(id)
                        .or_insert_with(|| this.import(&other.classes, id))
                })
            };
            let mut events = Vec::with_capacity(agent.events.len());
            for e in &agent.events {
                events.push(EventRecord {
                    current: remap(e.current, &mut self.classes),
                    ..*e
                });
            }
            let first = agent.first.map(|f| FirstEvent {
                previous: remap(f.previous, &mut self.classes),
                ..f
            });
            let target = &mut self.agents[slot];
            target.events.append(&mut events);
            if let Some(f) = first
                && target.first.is_none_or(|t| (f.at, f.seq) < (t.at, t.seq))
            {
                target.first = Some(f);
            }
            if target.failure.is_none() {
                target.failure = agent.failure;
            }
            if let Some(at) = agent.profile_at
                && target.profile_at.is_none_or(|p| at >= p)
            {
                target.profile_at = Some(at);
                target.profile = agent.profile;
                target.config_digest = agent.config_digest;
            }
        }
        self.problems.extend(other.problems);
        self.notes.extend(other.notes);
        self.stats.sources += other.stats.sources;
        self.stats.bytes += other.stats.bytes;
        self.stats.records += other.stats.records;
        self.stats.problems += other.stats.problems;
    }
}

/// Reads every source (in parallel) and returns their events merged in input order.
pub fn ingest(
    sources: &[Source],
    classifier: &Classifier,
    options: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let size = if options.piece_size == 0 {
        PIECE_SIZE
    } else {
        options.piece_size
    };
    if sources.len() >= 1 << 24 {
        return Err(IngestError::Input(InputError::TooMany(sources.len())));
    }
    let pieces = input::pieces(sources, size)?;
    let mut all = Ingested::default();
    // Positions in a piece count from the piece's start: make them count from the file's.
    let (mut lines_before, mut current) = (0u64, usize::MAX);
    // A few pieces per core at a time, merged in input order before the next ones are
    // read: memory holds the merged events, never every piece's own tables at once.
    let window = rayon::current_num_threads().max(1) * 2;
    for group in pieces.chunks(window) {
        let batches: Vec<Result<Ingested, InputError>> = group
            .par_iter()
            .map(|piece| {
                let source = &sources[piece.source];
                let reader = input::open_piece(source, piece)?;
                let base = ((piece.source as u64) << 40) | (piece.chunk << 28);
                Ok(read_batch(
                    base,
                    &source.display(),
                    reader,
                    classifier,
                    options,
                ))
            })
            .collect();
        for (piece, batch) in group.iter().zip(batches) {
            let mut batch = batch?;
            if piece.source != current {
                (lines_before, current) = (0, piece.source);
            }
            if let Some(range) = &piece.range {
                for p in &mut batch.problems {
                    p.at.line += lines_before;
                    p.at.offset += range.start;
                }
                lines_before += batch.stats.lines;
                if piece.chunk > 0 {
                    batch.notes.clear();
                    batch.stats.sources = 0;
                }
            }
            if options.strict
                && let Some(p) = batch.problems.first()
            {
                return Err(IngestError::Malformed(p.clone()));
            }
            all.merge(batch);
        }
    }
    all.classify_before_login(classifier);
    Ok(all)
}

/// Large files of JSON lines are read in pieces of about this size, one per core at a time.
const PIECE_SIZE: u64 = 64 << 20;

/// Reads one whole input from a stream (already decompressed); `name` is used in messages.
pub fn read_stream<R: std::io::Read>(
    index: u64,
    name: &str,
    reader: R,
    classifier: &Classifier,
    options: &IngestOptions,
) -> Ingested {
    let mut all = read_batch(index << 40, name, reader, classifier, options);
    all.classify_before_login(classifier);
    all
}

/// Reads one stream into its own table, to be merged with others; record numbers start
/// after `base` (see [`EventRecord::seq`]).
fn read_batch<R: std::io::Read>(
    base: u64,
    name: &str,
    reader: R,
    classifier: &Classifier,
    options: &IngestOptions,
) -> Ingested {
    let mut batch = Ingested::default();
    let mut problems = Vec::new();
    let mut record_index = 0u64;
    let mut spans = Vec::new();
    let mut scratch = Vec::new();
    let finders: Vec<memchr::memmem::Finder<'_>> = options
        .only_containing
        .iter()
        .map(memchr::memmem::Finder::new)
        .collect();
    let stats = framing::read_records(
        reader,
        |bytes| {
            spans.clear();
            let end = match scan::object(bytes, b"Configuration", 2, &mut spans) {
                Extent::Incomplete => return Outcome::Incomplete,
                Extent::NotObject => return parse_any(bytes),
                Extent::Complete(end) => end,
            };
            let record = &bytes[..end];
            if !finders.is_empty() && !finders.iter().any(|f| f.find(record).is_some()) {
                return Outcome::Skipped(end);
            }
            if let Some(shard) = options.shard
                && let Some(arn) = scan::string_value(record, b"AgentARN")
                && !shard.owns(arn)
            {
                return Outcome::Skipped(end);
            }
            // Parse the record without its configurations (each replaced by its index),
            // then point each snapshot at its configuration's bytes.
            let parsed = if spans.is_empty() {
                serde_json::from_slice::<RawEvent<'_>>(record)
            } else {
                scan::replace_spans(record, &spans, &mut scratch);
                serde_json::from_slice::<RawEvent<'_>>(&scratch)
            };
            let Ok(mut ev) = parsed else {
                // Let the original bytes explain what is wrong, at the right place.
                return match serde_json::from_slice::<RawEvent<'_>>(record) {
                    Err(e) => Outcome::Invalid(e),
                    Ok(_) => Outcome::Rejected(
                        end,
                        "malformed record: unreadable `Configuration`".to_string(),
                    ),
                };
            };
            for snap in [ev.current.as_mut(), ev.previous.as_mut()]
                .into_iter()
                .flatten()
            {
                if let Some(Conf::Raw(placeholder)) = &snap.configuration
                    && let Ok(n) = placeholder.get().parse::<usize>()
                    && let Some(span) = spans.get(n)
                {
                    snap.configuration = Some(Conf::Bytes(&record[span.clone()]));
                }
            }
            // Input order numbers a record within its piece in 28 bits.
            if record_index + 1 >= 1 << 28 {
                return Outcome::Rejected(
                    end,
                    "more than 268 million records in one piece of input: split the file"
                        .to_string(),
                );
            }
            record_index += 1;
            match batch.add(classifier, &ev, base | record_index) {
                Ok(()) => Outcome::Accepted(end),
                Err(why) => Outcome::Rejected(end, why),
            }
        },
        |p| {
            problems.push(InputProblem {
                source: name.to_string(),
                at: p.at,
                message: p.message,
            });
            if options.strict {
                Flow::Stop
            } else {
                Flow::Continue
            }
        },
    );
    if stats.bytes == 0 && problems.is_empty() {
        batch.notes.push(format!("{name}: empty file, no events"));
    } else if stats.records == 0 && stats.skipped == 0 && problems.is_empty() {
        batch.notes.push(format!("{name}: no events in file"));
    }
    batch.stats = IngestStats {
        sources: 1,
        bytes: stats.bytes,
        records: batch.agents.iter().map(|a| a.events.len() as u64).sum(),
        problems: problems.len() as u64,
        lines: stats.lines,
    };
    batch.problems = problems;
    batch
}

/// A value that is not an object (or not JSON): serde says what it is.
fn parse_any(bytes: &[u8]) -> Outcome {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<RawEvent<'_>>();
    match stream.next() {
        Some(Ok(_)) => Outcome::Rejected(
            stream.byte_offset(),
            "malformed record: not an event".to_string(),
        ),
        Some(Err(e)) => Outcome::Invalid(e),
        None => Outcome::Accepted(bytes.len()),
    }
}

/// `EventId` as a 128-bit key: the UUID's own bits when it is one, else a 128-bit hash.
fn event_key(id: Option<&str>, seq: u64) -> [u64; 2] {
    let Some(id) = id else {
        return [u64::MAX, seq];
    };
    if let Some(v) = parse_uuid(id) {
        return [(v >> 64) as u64, v as u64];
    }
    let mut a = DefaultHasher::new();
    (0u8, id).hash(&mut a);
    let mut b = DefaultHasher::new();
    (1u8, id).hash(&mut b);
    [a.finish(), b.finish()]
}

fn parse_uuid(s: &str) -> Option<u128> {
    if s.len() != 36 && s.len() != 32 {
        return None;
    }
    let mut v: u128 = 0;
    let mut digits = 0;
    for (i, c) in s.bytes().enumerate() {
        if c == b'-' && s.len() == 36 && matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        // Only the canonical lower-case form: `EventId`s are compared as strings.
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u128::from(d);
        digits += 1;
    }
    (digits == 32).then_some(v)
}
