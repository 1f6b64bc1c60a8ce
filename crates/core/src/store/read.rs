//! Sources → the event store: every record parsed once, in parallel, merged in input order.
//!
//! Each part of the input (a whole source, or a piece of a large file of JSON lines) is
//! framed (`input::framing`), cut out and scanned (`input::scan`), and parsed into its own
//! small store; the parts are merged in input order, which is what "first occurrence wins"
//! and "ties keep input order" are defined against. Ordering and de-duplication happen in
//! `reduce`. What the report does not need is never parsed: an agent's `Configuration` only
//! when its bytes changed, `PreviousAgentSnapshot` only for the earliest event of its agent
//! in the part being read.
//!
//! What was read of each source is kept ([`SourceState`]) for `watch`'s way in,
//! [`Store::refresh`] (in `refresh`).

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::fields::{self, Fields};
use super::refresh::SourceState;
use super::{AgentProfile, ConfigId, Previous, ProfileOnly, Store, StoredEvent};
use crate::event::{Conf, Malformed, RawSnapshot, Str};
use crate::input::blocks::{self, Extent, Found, Span, Wanted};
use crate::input::framing::{self, Flow, Outcome, Position};
use crate::input::scan;
use crate::input::{self, InputError, Source};
use crate::time::Timestamp;

/// Options for reading input.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Fail on the first malformed record instead of skipping it. Every record is then
    /// parsed, whichever agent is asked for.
    pub strict: bool,
    /// Parse only records that contain one of these byte strings (for example an agent's
    /// quoted login or ARN); pass over the others unparsed. Ignored with `strict`.
    pub only_containing: Vec<Vec<u8>>,
    /// Size of the pieces large files of JSON lines are read in (0: the default, 64 MiB).
    pub piece_size: u64,
    /// Parse only the records of agents whose ARN belongs to this shard.
    pub shard: Option<crate::batch::Shard>,
    /// Parse every record whole with serde, cutting nothing out first: the reference the
    /// fast path is tested against.
    pub full_parse: bool,
    /// Keep the raw bytes of small sources here, and read them from here when they are
    /// (see [`input::Held`]).
    pub held: Option<std::sync::Arc<input::Held>>,
}

/// A record or region of a source that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputProblem {
    pub source: String,
    pub at: Position,
    pub message: String,
    /// The source's id in the store.
    pub source_id: u32,
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

/// Skipped records: the first [`Problems::KEPT`] in input order with their locations, and
/// how many there were in all. Memory does not grow with the number of bad records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems {
    kept: Vec<InputProblem>,
    total: u64,
}

impl Problems {
    /// How many problems are kept with their location.
    pub const KEPT: usize = 100;

    pub fn push(&mut self, p: InputProblem) {
        self.total += 1;
        if self.kept.len() < Self::KEPT {
            self.kept.push(p);
        }
    }

    pub fn extend(&mut self, other: Problems) {
        self.total += other.total;
        let room = Self::KEPT.saturating_sub(self.kept.len());
        self.kept.extend(other.kept.into_iter().take(room));
    }

    /// The problems kept, in input order.
    pub fn kept(&self) -> &[InputProblem] {
        &self.kept
    }

    pub fn first(&self) -> Option<&InputProblem> {
        self.kept.first()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub(super) fn drop_source(&mut self, id: u32) {
        let before = self.kept.len() as u64;
        self.kept.retain(|p| p.source_id != id);
        self.total -= before - self.kept.len() as u64;
    }
}

/// Why reading the input failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Input(#[from] InputError),
    /// A malformed record under `--strict`.
    #[error("{0} (--strict stops at the first malformed record)")]
    Malformed(InputProblem),
}

/// Large files of JSON lines are read in pieces of about this size, one per core at a time.
const PIECE_SIZE: u64 = 64 << 20;

/// One part of the input to read: a piece of a source, read as source `id`.
pub(super) struct Part {
    pub(super) id: u32,
    /// Read whole into memory in one request (see [`input::Facts::read_whole`]).
    pub(super) whole: bool,
    pub(super) piece: input::Piece,
    /// Line breaks and bytes before the part in its source (for messages).
    pub(super) lines_before: Option<u64>,
}

impl Store {
    /// Reads every source (in parallel) into a new store, in input order.
    pub fn read(sources: &[Source], options: &ReadOptions) -> Result<Store, ReadError> {
        let facts = input::Facts::of_all(sources)?;
        Store::read_known(sources, &facts, options)
    }

    /// [`Store::read`] of sources whose [`input::Facts`] are known already (one per source).
    pub fn read_known(
        sources: &[Source],
        facts: &[input::Facts],
        options: &ReadOptions,
    ) -> Result<Store, ReadError> {
        let mut store = Store::default();
        store.add_sources(sources, facts, options)?;
        Ok(store)
    }

    /// Reads one whole input from a stream (already decompressed); `name` is used in
    /// messages.
    pub fn read_stream<R: Read>(
        name: &str,
        reader: R,
        options: &ReadOptions,
    ) -> Result<Store, ReadError> {
        let mut store = read_part(0, 0, name, reader, options)?;
        store.finish(0..store.agents.len());
        Ok(store)
    }

    /// Reads `sources` as new sources, ranked after every source already read.
    pub(super) fn add_sources(
        &mut self,
        sources: &[Source],
        facts: &[input::Facts],
        options: &ReadOptions,
    ) -> Result<Vec<usize>, ReadError> {
        let first = self.sources.len();
        if first + sources.len() >= 1 << 24 {
            return Err(ReadError::Input(InputError::TooMany(first + sources.len())));
        }
        let size = if options.piece_size == 0 {
            PIECE_SIZE
        } else {
            options.piece_size
        };
        let pieces = input::pieces(sources, facts, size)?;
        for (i, (source, facts)) in sources.iter().zip(facts).enumerate() {
            let mut state =
                SourceState::of(source, (first + i) as u64, None, facts, !facts.read_whole());
            state.pieces = pieces.iter().filter(|p| p.source == i).count() as u64;
            self.sources.push(state);
        }
        let parts: Vec<Part> = pieces
            .into_iter()
            .map(|piece| Part {
                id: (first + piece.source) as u32,
                lines_before: piece.range.as_ref().map(|_| 0),
                whole: piece.range.is_none() && facts[piece.source].read_whole(),
                piece,
            })
            .collect();
        self.read_parts(parts, options)
    }

    /// Reads parts of sources already registered; returns the agents they touched.
    pub(super) fn read_parts(
        &mut self,
        parts: Vec<Part>,
        options: &ReadOptions,
    ) -> Result<Vec<usize>, ReadError> {
        // A few parts per core at a time, merged in input order before the next ones are
        // read: memory holds the merged store, never every part's own tables at once.
        let window = rayon::current_num_threads().max(1) * 2;
        let mut touched: Vec<usize> = Vec::new();
        let mut lines: FxHashMap<u32, u64> = FxHashMap::default();
        for group in parts.chunks(window) {
            type Read = (Store, Option<std::sync::Arc<[u8]>>);
            let batches: Vec<Result<Read, InputError>> = group
                .par_iter()
                .map(|part| {
                    let source = &self.sources[part.id as usize].source;
                    // A small file or object: one request for all of it.
                    let (reader, bytes) = if part.whole {
                        let bytes = input::whole(source, options.held.as_deref())?;
                        (input::open_bytes(source, bytes.clone())?, Some(bytes))
                    } else {
                        (input::open_piece(source, &part.piece)?, None)
                    };
                    let base = (u64::from(part.id) << 40) | (part.piece.chunk << 28);
                    let store = read_part(base, part.id, &source.display(), reader, options)?;
                    Ok((store, bytes))
                })
                .collect();
            for (part, batch) in group.iter().zip(batches) {
                let (mut batch, bytes) = batch?;
                if let (Some(bytes), Some(state)) = (bytes, self.sources.get_mut(part.id as usize))
                {
                    state.hash_bytes(&bytes);
                }
                let before = lines.entry(part.id).or_insert(0);
                if let (Some(range), Some(extra)) = (&part.piece.range, part.lines_before) {
                    for p in &mut batch.problems.kept {
                        p.at.line += *before + extra;
                        p.at.offset += range.start;
                    }
                    if part.piece.chunk > 0 {
                        batch.notes.clear();
                        batch.stats.sources = 0;
                    }
                }
                *before += batch.stats.lines;
                if let Some(state) = self.sources.get_mut(part.id as usize) {
                    state.lines += batch.stats.lines;
                }
                if options.strict
                    && let Some(p) = batch.problems.first()
                {
                    return Err(ReadError::Malformed(p.clone()));
                }
                for agent in &batch.agents {
                    touched.push(self.agent_slot(&agent.arn));
                }
                self.merge(batch);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        self.finish(touched.iter().copied());
        Ok(touched)
    }
}

/// One event record, borrowed: like [`crate::event::RawEvent`], with the previous
/// snapshot kept raw so it is parsed only when wanted.
#[derive(Deserialize)]
#[serde(expecting = "an event (a JSON object)")]
pub(super) struct RawEvent<'a> {
    #[serde(rename = "AgentARN", borrow)]
    pub(super) agent_arn: Str<'a>,
    #[serde(rename = "EventId", borrow, default)]
    pub(super) event_id: Option<Str<'a>>,
    #[serde(rename = "EventTimestamp", borrow)]
    pub(super) event_timestamp: Str<'a>,
    #[serde(rename = "EventType", borrow, default)]
    pub(super) event_type: Option<Str<'a>>,
    #[serde(rename = "CurrentAgentSnapshot", borrow, default)]
    pub(super) current: Option<&'a RawValue>,
    #[serde(rename = "PreviousAgentSnapshot", borrow, default)]
    pub(super) previous: Option<&'a RawValue>,
}

impl<'a> RawEvent<'a> {
    fn fields(self) -> Fields<'a> {
        Fields {
            agent_arn: self.agent_arn,
            event_id: self.event_id,
            event_timestamp: self.event_timestamp,
            event_type: self.event_type,
            current: self.current.map(RawValue::get),
            previous: self.previous.map(RawValue::get),
        }
    }
}

/// Per part: what has been seen so far, of each agent (by a hash of its ARN) and of the
/// bytes parsed (by their digest, whichever agent they came from).
#[derive(Default)]
struct Seen {
    /// The earliest event (time, input order) of each agent in this part.
    earliest: FxHashMap<u64, (Timestamp, u64)>,
    /// Digests of the configurations parsed, and their interned forms. Any configuration
    /// seen before, not only the agent's last: a contact's slots (`AvailableSlots`) make
    /// an agent's configuration cycle through a few byte strings all day.
    config: FxHashMap<u128, ConfigId>,
    /// Digests of the current snapshots parsed (so valid), and the snapshots they gave.
    /// Again any seen before: a heartbeat repeats the agent's last one, and a previous
    /// snapshot is some earlier current one.
    current: FxHashMap<u128, Option<super::SnapId>>,
}

/// A record with the values the scan cut out of it.
struct Cut<'r, 's> {
    record: &'r [u8],
    spans: &'r [Span],
    /// Room to put a snapshot back together without its configuration.
    scratch: &'s mut Vec<u8>,
}

/// Reads one part into its own store, to be merged with others; record numbers start after
/// `base` (see [`StoredEvent::seq`]).
fn read_part<R: Read>(
    base: u64,
    id: u32,
    name: &str,
    reader: R,
    options: &ReadOptions,
) -> Result<Store, InputError> {
    let mut store = Store::default();
    let mut seen = Seen::default();
    let mut problems = Problems::default();
    let mut record_index = 0u64;
    let mut found = Found::default();
    let mut scratch = Vec::new();
    let mut snapshot_scratch = Vec::new();
    let filters = if options.strict {
        &[][..]
    } else {
        &options.only_containing[..]
    };
    let finders: Vec<memchr::memmem::Finder<'_>> =
        filters.iter().map(memchr::memmem::Finder::new).collect();
    let stats = framing::read_records(
        reader,
        |bytes| {
            let wanted = if options.full_parse {
                &[][..]
            } else {
                &CUT[..]
            };
            let end = match blocks::object(bytes, wanted, &mut found) {
                Extent::Incomplete => return Outcome::Incomplete,
                Extent::NotObject => return parse_any(bytes),
                Extent::Complete(end) => end,
            };
            let record = &bytes[..end];
            // JSON is UTF-8: checked once for the whole record, so that no part of it, cut
            // out or passed over, is taken unchecked.
            if found.non_ascii
                && let Err(e) = std::str::from_utf8(record)
            {
                return Outcome::Rejected(
                    end,
                    format!(
                        "malformed record: not UTF-8 (invalid byte at offset {} of the record)",
                        e.valid_up_to()
                    ),
                );
            }
            // Another agent's record is passed over unparsed; one without a usable
            // `AgentARN` is no agent's, so it is parsed and reported as in any report.
            let arn = || scan::string_value(record, b"\"AgentARN\"").filter(|a| !a.is_empty());
            if !finders.is_empty()
                && !finders.iter().any(|f| f.find(record).is_some())
                && arn().is_some()
            {
                return Outcome::Skipped(end);
            }
            if let Some(shard) = options.shard
                && let Some(arn) = arn()
                && !shard.owns(arn)
            {
                return Outcome::Skipped(end);
            }
            // Parse the record without its snapshots (each replaced by its index); they
            // are parsed from their own bytes when wanted.
            let spans = &found.spans;
            let text: &[u8] = if spans.is_empty() {
                record
            } else {
                blocks::replace_spans(record, 0..end, spans, &mut scratch);
                &scratch
            };
            // What is left is nearly always a flat object of plain strings, read without
            // serde; the reference path (`full_parse`) is serde's alone.
            let plain = (!options.full_parse).then(|| fields::plain(text)).flatten();
            let parsed = match plain {
                Some(fields) => Ok(fields),
                None => serde_json::from_slice::<RawEvent<'_>>(text).map(RawEvent::fields),
            };
            let ev = match parsed {
                Ok(ev) => ev,
                Err(_) => {
                    // Let the original bytes explain what is wrong, at the right place.
                    return match serde_json::from_slice::<RawEvent<'_>>(record) {
                        Err(e) => Outcome::Invalid(e),
                        Ok(_) => Outcome::Rejected(
                            end,
                            "malformed record: unreadable `Configuration`".to_string(),
                        ),
                    };
                }
            };
            // Input order numbers a record within its piece in 28 bits.
            if record_index + 1 >= 1 << 28 {
                return Outcome::Rejected(
                    end,
                    "more than 268 million records in one piece of input: split the file"
                        .to_string(),
                );
            }
            // Records taken are numbered one after the other (a skipped one takes no number).
            let seq = base | (record_index + 1);
            let cut = Cut {
                record,
                spans,
                scratch: &mut snapshot_scratch,
            };
            match add(&mut store, &mut seen, &ev, seq, cut) {
                Ok(()) => {
                    record_index += 1;
                    Outcome::Accepted(end)
                }
                Err(why) => Outcome::Rejected(end, why.to_string()),
            }
        },
        |p| {
            problems.push(InputProblem {
                source: name.to_string(),
                at: p.at,
                message: p.message,
                source_id: id,
            });
            if options.strict {
                Flow::Stop
            } else {
                Flow::Continue
            }
        },
    );
    if let Some(failed) = stats.failed {
        return Err(InputError::Incomplete {
            path: name.to_string(),
            line: failed.at.line,
            column: failed.at.column,
            message: failed.message,
        });
    }
    if stats.bytes == 0 && problems.is_empty() {
        store.notes.push(format!("{name}: empty file, no events"));
    } else if stats.records == 0 && stats.skipped == 0 && problems.is_empty() {
        store.notes.push(format!("{name}: no events in file"));
    }
    store.stats = super::StoreStats {
        sources: 1,
        bytes: stats.bytes,
        records: store.agents.iter().map(|a| a.events.len() as u64).sum(),
        problems: problems.total(),
        lines: stats.lines,
    };
    store.problems = problems;
    Ok(store)
}

/// Adds one parsed event; an error is the reason to skip the record.
fn add(
    store: &mut Store,
    seen: &mut Seen,
    ev: &Fields<'_>,
    seq: u64,
    cut: Cut<'_, '_>,
) -> Result<(), Malformed> {
    let Cut {
        record,
        spans,
        scratch,
    } = cut;
    let at = Timestamp::parse_rfc3339(ev.event_timestamp.as_str())
        .map_err(|e| Malformed::Timestamp(ev.event_timestamp.as_str().to_string(), e))?;
    let arn = ev.agent_arn.as_str();
    if arn.is_empty() {
        return Err(Malformed::NoAgent);
    }
    // The agent is entered in the store only once the record is known to be good.
    let key = xxhash_rust::xxh3::xxh3_64(arn.as_bytes());
    // Most events repeat a current snapshot byte for byte (heartbeats repeat the agent's
    // last one): it is recognised by its digest and not parsed again.
    let current_bytes = ev
        .current
        .and_then(|raw| cut_out(raw, record, spans, CURRENT));
    let current_digest = current_bytes.map(xxhash_rust::xxh3::xxh3_128);
    let repeated = current_digest.and_then(|d| seen.current.get(&d).copied());
    // The previous snapshot matters only for the agent's first event (SPEC §3.2), and for
    // the configuration of an event that has no current snapshot.
    let earliest = seen
        .earliest
        .get(&key)
        .is_none_or(|&first| (at, seq) < first);
    let bad_previous = |e: serde_json::Error| Malformed::Snapshot("PreviousAgentSnapshot", e);
    let previous_raw = ev.previous.filter(|&raw| raw != "null");
    let previous = match previous_raw {
        Some(raw) if earliest || ev.current.is_none() => {
            let bytes = cut_out(raw, record, spans, PREVIOUS).unwrap_or(raw.as_bytes());
            let parsed: Option<RawSnapshot<'_>> =
                serde_json::from_slice(bytes).map_err(bad_previous)?;
            parsed
        }
        Some(raw) => {
            // Not wanted, but a record is taken only if all of it is JSON: the bytes are
            // checked unless they are those of a current snapshot that was parsed (as
            // Connect writes it, the previous snapshot is the agent's last state).
            if let Some(bytes) = cut_out(raw, record, spans, PREVIOUS)
                && !seen
                    .current
                    .contains_key(&xxhash_rust::xxh3::xxh3_128(bytes))
            {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(bad_previous)?;
            }
            None
        }
        None => None,
    };
    let snapshot_config = |store: &mut Store, seen: &mut Seen, snap: &RawSnapshot<'_>| {
        configuration_id(store, seen, snap.configuration.as_ref(), record, spans)
    };
    let current = match (repeated, ev.current) {
        (Some(snap), _) => snap,
        (None, None) => None,
        (None, Some(raw)) => {
            // Its own bytes, with its configuration replaced by a placeholder.
            let span = span_of(raw, spans, CURRENT);
            let text: &[u8] = match span {
                Some(span) => {
                    blocks::replace_spans(record, span.range.clone(), spans, scratch);
                    scratch
                }
                None => raw.as_bytes(),
            };
            // Cut out, it is nearly always plain (statuses, contacts: objects of strings)
            // and read without serde; never on the reference path, which cuts nothing.
            match span.and_then(|_| fields::snapshot(text)) {
                Some(plain) => {
                    let config = match plain.configuration {
                        Some(t) => {
                            let bytes = cut_out(t, record, spans, CONFIGURATION);
                            Some(configuration_of(
                                store,
                                seen,
                                bytes.unwrap_or(t.as_bytes()),
                            )?)
                        }
                        None => None,
                    };
                    Some(store.add_snapshot(&plain.snapshot, config))
                }
                None => {
                    let snap: Option<RawSnapshot<'_>> = serde_json::from_slice(text)
                        .map_err(|e| Malformed::Snapshot("CurrentAgentSnapshot", e))?;
                    match snap {
                        Some(snap) => {
                            let config = snapshot_config(store, seen, &snap)?;
                            Some(store.add_snapshot(&snap, config))
                        }
                        None => None,
                    }
                }
            }
        }
    };
    let previous = match &previous {
        Some(snap) => {
            let config = snapshot_config(store, seen, snap)?;
            Some((snap, config))
        }
        None => None,
    };
    if let Some(d) = current_digest {
        seen.current.insert(d, current);
    }
    let slot = store.agent_slot(arn);
    if earliest {
        seen.earliest.insert(key, (at, seq));
        let snapshot = previous.map(|(snap, config)| store.add_snapshot(snap, config));
        store.agents[slot].previous.push(Previous { seq, snapshot });
    }
    if current.is_none()
        && let Some((_, Some(config))) = previous
    {
        store.agents[slot]
            .profile_only
            .push(ProfileOnly { at, seq, config });
    }
    let event_type = store
        .strings
        .sym(ev.event_type.as_ref().map(Str::as_str).unwrap_or(""));
    let event_id = ev.event_id.as_ref().map(Str::as_str);
    let id = event_key(event_id, seq);
    if let Some(odd) = event_id
        && parse_uuid(odd).is_none()
    {
        store.odd_ids.insert(id, odd.into());
    }
    store.agents[slot].events.push(StoredEvent {
        at,
        seq,
        id,
        event_type,
        current,
    });
    Ok(())
}

/// The interned configuration of a snapshot; parsed only when its bytes differ from every
/// configuration parsed before (most events repeat one byte for byte).
fn configuration_id(
    store: &mut Store,
    seen: &mut Seen,
    conf: Option<&Conf<'_>>,
    record: &[u8],
    spans: &[Span],
) -> Result<Option<ConfigId>, Malformed> {
    let Some(conf) = conf else {
        return Ok(None);
    };
    match configuration_bytes(conf, record, spans) {
        Some(bytes) => configuration_of(store, seen, bytes).map(Some),
        None => {
            let parsed = conf.parse()?;
            Ok(Some(store.intern_profile(AgentProfile::from_raw(&parsed))))
        }
    }
}

/// The interned configuration of a configuration's raw bytes, parsed unless a digest of
/// the same bytes was seen.
fn configuration_of(
    store: &mut Store,
    seen: &mut Seen,
    bytes: &[u8],
) -> Result<ConfigId, Malformed> {
    let digest = xxhash_rust::xxh3::xxh3_128(bytes);
    if let Some(&id) = seen.config.get(&digest) {
        return Ok(id);
    }
    let parsed = crate::event::parse_configuration(bytes)?;
    let id = store.intern_profile(AgentProfile::from_raw(&parsed));
    seen.config.insert(digest, id);
    Ok(id)
}

/// The raw bytes of a configuration: cut out of the record before parsing (the value is
/// then a placeholder holding the index of its span), or as parsed.
fn configuration_bytes<'r>(
    conf: &'r Conf<'_>,
    record: &'r [u8],
    spans: &[Span],
) -> Option<&'r [u8]> {
    if let Conf::Raw(placeholder) = conf
        && let Some(bytes) = cut_out(placeholder.get(), record, spans, CONFIGURATION)
    {
        return Some(bytes);
    }
    conf.raw_bytes()
}

/// The values the scan cuts out of a record before serde parses the rest: an agent's
/// previous snapshot (wanted only for its first event) and each snapshot's configuration
/// (parsed only when its bytes change).
pub(crate) const CUT: [Wanted<'static>; 3] = [
    Wanted {
        key: b"PreviousAgentSnapshot",
        depth: 1,
        within: None,
    },
    Wanted {
        key: b"Configuration",
        depth: 2,
        within: Some(CURRENT),
    },
    // Parsed only when its bytes differ from the agent's last current snapshot.
    Wanted {
        key: b"CurrentAgentSnapshot",
        depth: 1,
        within: None,
    },
];

/// Indices of the keys in [`CUT`].
const PREVIOUS: usize = 0;
const CONFIGURATION: usize = 1;
const CURRENT: usize = 2;

/// The span behind a placeholder left by [`blocks::replace_spans`].
fn span_of<'s>(placeholder: &str, spans: &'s [Span], which: usize) -> Option<&'s Span> {
    // A number in the input itself is no placeholder: the span must be of the right key.
    spans
        .get(placeholder.parse::<usize>().ok()?)
        .filter(|s| s.which == which)
}

/// The original bytes behind a placeholder left by [`blocks::replace_spans`].
fn cut_out<'r>(
    placeholder: &str,
    record: &'r [u8],
    spans: &[Span],
    which: usize,
) -> Option<&'r [u8]> {
    record.get(span_of(placeholder, spans, which)?.range.clone())
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
pub(crate) fn event_key(id: Option<&str>, seq: u64) -> [u64; 2] {
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
