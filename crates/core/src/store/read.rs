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
//! [`Store::refresh`] is `watch`'s way in: it compares the sources with what was read of
//! them and reads only new files, the new tail of a grown file of JSON lines, and files
//! whose content changed otherwise (read again whole).

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::time::SystemTime;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::fields::{self, Fields};
use super::{AgentProfile, ConfigId, Previous, ProfileOnly, Store, StoredEvent};
use crate::event::{Conf, RawSnapshot, Str};
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

/// What was read of one source, to tell later what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceState {
    pub source: Source,
    /// Position in input order.
    pub rank: u64,
    /// Length and modification time when read (files only).
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// Hashes of the first bytes and of the bytes before `len`, to see that a grown
    /// file kept what was read of it.
    pub head: u64,
    pub tail: u64,
    /// An uncompressed file of JSON lines that ended on a line break: if it grows, only the
    /// new bytes are read.
    pub appendable: bool,
    /// Pieces read so far (the next tail read is the next piece).
    pub pieces: u64,
    /// Line breaks read so far.
    pub lines: u64,
}

const HASHED: u64 = 64 << 10;

impl SourceState {
    /// The state of a source about to be read (up to `len`, or its current length). A
    /// file's ends are hashed through one `open`; a source read whole is hashed from its
    /// bytes instead (see [`SourceState::hash_bytes`]).
    fn of(
        source: &Source,
        rank: u64,
        len: Option<u64>,
        facts: &input::Facts,
        hash: bool,
    ) -> SourceState {
        let mut state = SourceState {
            source: source.clone(),
            rank,
            len: 0,
            modified: None,
            head: 0,
            tail: 0,
            appendable: false,
            pieces: 0,
            lines: 0,
        };
        if let Source::File(path) = source {
            state.len = len.unwrap_or(facts.len);
            state.modified = facts.modified;
            if hash && let Ok((head, tail, appendable)) = hash_ends(path, state.len) {
                (state.head, state.tail, state.appendable) = (head, tail, appendable);
            }
        }
        state
    }

    /// Sets the hashes of a file read whole from its bytes.
    fn hash_bytes(&mut self, bytes: &[u8]) {
        if !matches!(self.source, Source::File(_)) {
            return;
        }
        let len = (self.len as usize).min(bytes.len());
        let bytes = &bytes[..len];
        self.head = xxhash_rust::xxh3::xxh3_64(&bytes[..len.min(HASHED as usize)]);
        self.tail = xxhash_rust::xxh3::xxh3_64(&bytes[len.saturating_sub(HASHED as usize)..]);
        self.appendable = !bytes.starts_with(&[0x1f, 0x8b]) && bytes.last() == Some(&b'\n');
    }

    fn retired(&self) -> bool {
        self.len == u64::MAX
    }

    fn retire(&mut self) {
        self.len = u64::MAX;
    }

    /// How the file changed since it was read; `signalled`, the file watcher said it was
    /// written to, which wins over a size and time that look the same (a same-size rewrite
    /// that keeps the modification time, as `rsync --inplace -t` makes).
    fn change(&self, signalled: bool) -> Change {
        match self.change_seen() {
            Change::Same if signalled => Change::Rewritten,
            other => other,
        }
    }

    /// How the file changed since it was read, as its size, time and ends show.
    fn change_seen(&self) -> Change {
        let Source::File(path) = &self.source else {
            return Change::Same;
        };
        let Ok(meta) = std::fs::metadata(path) else {
            return Change::Gone;
        };
        if meta.len() == self.len && meta.modified().ok() == self.modified {
            return Change::Same;
        }
        // Unreadable ends hash to 1, which no read ends hash to in practice: rewritten.
        let (head, tail, _) = hash_ends(path, self.len).unwrap_or((1, 1, false));
        let kept = head == self.head && tail == self.tail && meta.len() >= self.len;
        match (kept, meta.len() == self.len) {
            (true, true) => Change::Same,
            (true, false) if self.appendable => Change::Grown(self.len..meta.len()),
            _ => Change::Rewritten,
        }
    }
}

enum Change {
    Same,
    Gone,
    Grown(std::ops::Range<u64>),
    Rewritten,
}

/// The hashes of a file's first and last [`HASHED`] bytes up to `len`, and whether it is
/// uncompressed JSON lines whose last byte is a line break, through one `open`.
fn hash_ends(path: &std::path::Path, len: u64) -> std::io::Result<(u64, u64, bool)> {
    let mut file = std::fs::File::open(path)?;
    let mut read = |from: u64, to: u64| -> std::io::Result<Vec<u8>> {
        file.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::new();
        (&mut file)
            .take(to.saturating_sub(from))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let head = read(0, HASHED.min(len))?;
    let tail = read(len.saturating_sub(HASHED), len)?;
    let appendable = len > 0 && !head.starts_with(&[0x1f, 0x8b]) && tail.last() == Some(&b'\n');
    Ok((
        xxhash_rust::xxh3::xxh3_64(&head),
        xxhash_rust::xxh3::xxh3_64(&tail),
        appendable,
    ))
}

/// Large files of JSON lines are read in pieces of about this size, one per core at a time.
const PIECE_SIZE: u64 = 64 << 20;

/// One part of the input to read: a piece of a source, read as source `id`.
struct Part {
    id: u32,
    /// Read whole into memory in one request (see [`input::Facts::read_whole`]).
    whole: bool,
    piece: input::Piece,
    /// Line breaks and bytes before the part in its source (for messages).
    lines_before: Option<u64>,
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
    fn add_sources(
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
    fn read_parts(
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

    /// Catches up with the sources `paths` now expand to (for `watch`): reads new files,
    /// the new lines of grown JSON-lines files, and files that changed otherwise again
    /// whole; forgets files that are gone, and agents left without events. `signalled`
    /// says which sources the file watcher reported written to: those are read again even
    /// when their size and time look unchanged. Returns the indices (after the refresh) of
    /// the agents whose events changed, or `None` when nothing did.
    pub fn refresh(
        &mut self,
        sources: &[Source],
        options: &ReadOptions,
        signalled: &dyn Fn(&Source) -> bool,
    ) -> Result<Option<Vec<usize>>, ReadError> {
        let wanted: FxHashMap<&Source, usize> =
            sources.iter().enumerate().map(|(i, s)| (s, i)).collect();
        let mut known: FxHashMap<Source, u32> = FxHashMap::default();
        let (mut tails, mut reread, mut gone) = (Vec::new(), Vec::new(), Vec::new());
        for (id, state) in self.sources.iter().enumerate() {
            if state.retired() {
                continue;
            }
            known.insert(state.source.clone(), id as u32);
            if !wanted.contains_key(&state.source) {
                gone.push(id as u32);
                continue;
            }
            match state.change(signalled(&state.source)) {
                Change::Same => {}
                Change::Gone => gone.push(id as u32),
                Change::Grown(range) if state.pieces < input::MAX_PIECES => {
                    tails.push((id as u32, range))
                }
                Change::Grown(_) | Change::Rewritten => reread.push(id as u32),
            }
        }
        let new_sources: Vec<Source> = sources
            .iter()
            .filter(|s| !known.contains_key(*s))
            .cloned()
            .collect();
        if new_sources.is_empty() && tails.is_empty() && reread.is_empty() && gone.is_empty() {
            return Ok(None);
        }
        let mut touched: Vec<usize> = Vec::new();
        let mut again = Vec::new();
        for &id in gone.iter().chain(&reread) {
            touched.extend(self.drop_source(id));
            if let Some(state) = self.sources.get_mut(id as usize) {
                // Retired: a source read again gets a new id.
                state.retire();
                if reread.contains(&id) {
                    again.push(state.source.clone());
                }
            }
        }
        let mut parts = Vec::new();
        for (id, range) in tails {
            let Some(state) = self.sources.get_mut(id as usize) else {
                continue;
            };
            let piece = input::Piece {
                source: id as usize,
                chunk: state.pieces,
                range: Some(range.clone()),
            };
            let (pieces, lines) = (state.pieces + 1, state.lines);
            let facts = input::Facts::of(&state.source)?;
            *state = SourceState::of(&state.source, state.rank, Some(range.end), &facts, true);
            (state.pieces, state.lines) = (pieces, lines);
            parts.push(Part {
                id,
                whole: false,
                piece,
                lines_before: Some(0),
            });
        }
        touched.extend(self.read_parts(parts, options)?);
        touched.extend(self.add_sources(&again, &input::Facts::of_all(&again)?, options)?);
        let facts = input::Facts::of_all(&new_sources)?;
        touched.extend(self.add_sources(&new_sources, &facts, options)?);
        // Rank every source by where it now stands in input order.
        for state in &mut self.sources {
            if let Some(&p) = wanted.get(&state.source)
                && !state.retired()
            {
                state.rank = p as u64;
            }
        }
        touched.sort_unstable();
        touched.dedup();
        self.finish(touched.iter().copied());
        Ok(Some(self.forget_empty_agents(touched)))
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
                Err(why) => Outcome::Rejected(end, why),
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
) -> Result<(), String> {
    let Cut {
        record,
        spans,
        scratch,
    } = cut;
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
    let bad_previous =
        |e: serde_json::Error| format!("malformed record: bad `PreviousAgentSnapshot`: {e}");
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
                    let snap: Option<RawSnapshot<'_>> =
                        serde_json::from_slice(text).map_err(|e| {
                            format!("malformed record: bad `CurrentAgentSnapshot`: {e}")
                        })?;
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
) -> Result<Option<ConfigId>, String> {
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
fn configuration_of(store: &mut Store, seen: &mut Seen, bytes: &[u8]) -> Result<ConfigId, String> {
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
