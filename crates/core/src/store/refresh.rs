//! `watch`'s way into the store: [`Store::refresh`] compares the sources with what was
//! read of them ([`SourceState`]) and reads only new files, the new tail of a grown file of
//! JSON lines, and files whose content changed otherwise (read again whole); files that are
//! gone are forgotten.

use std::io::{Read, Seek, SeekFrom};
use std::time::SystemTime;

use rustc_hash::FxHashMap;

use super::Store;
use super::read::{Part, ReadError, ReadOptions};
use crate::input::{self, Source};

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
    pub(super) fn of(
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
    pub(super) fn hash_bytes(&mut self, bytes: &[u8]) {
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

impl Store {
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
