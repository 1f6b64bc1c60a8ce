//! The records behind stored events, found again: `explain` names the file and line of each
//! event of a row.
//!
//! The store keeps no positions (an event is 40 bytes, and a position would be most of
//! another 16 for something only `explain` asks): the sources that hold the wanted events
//! are read again, and each record is matched by its `EventId`, the first in file order
//! winning as it did in the store. Standard input cannot be read twice, and an event without
//! an `EventId` cannot be told from its neighbours: those stay unlocated.

use rustc_hash::FxHashMap;

use super::read::event_key;
use super::{Store, StoredEvent};
use crate::input::framing::{self, Flow, Outcome, Position};
use crate::input::{self, Source, scan};

/// Where a record starts: its source as shown in messages, and its line and column
/// (1-based, in the decompressed stream; objects concatenated on one line, as Firehose
/// writes them, differ by column), shown `file:line:column` like a skipped record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordAt {
    pub source: String,
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for RecordAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

impl Store {
    /// The record of each of `events` (in the same order); `None` where it cannot be found.
    pub fn locate(&self, events: &[StoredEvent]) -> Vec<Option<RecordAt>> {
        let mut found: Vec<Option<RecordAt>> = vec![None; events.len()];
        // Wanted keys by source, each with the indices of the events that carry it.
        let mut by_source: FxHashMap<u32, FxHashMap<[u64; 2], Vec<usize>>> = FxHashMap::default();
        for (i, e) in events.iter().enumerate() {
            if self.event_id(e).is_some() {
                by_source
                    .entry(e.source())
                    .or_default()
                    .entry(e.id)
                    .or_default()
                    .push(i);
            }
        }
        let mut sources: Vec<u32> = by_source.keys().copied().collect();
        sources.sort_unstable();
        for id in sources {
            let Some(state) = self.sources.get(id as usize) else {
                continue;
            };
            // Files and S3 objects are read again; standard input cannot be.
            if matches!(state.source, Source::Stdin) {
                continue;
            }
            let Ok(reader) = input::open(&state.source) else {
                continue;
            };
            let Some(mut wanted) = by_source.remove(&id) else {
                continue;
            };
            let name = state.source.display();
            let done = std::cell::Cell::new(false);
            framing::read_records_at(
                reader,
                |bytes, at: Position| {
                    let end = match record_end(bytes) {
                        Ok(end) => end,
                        Err(outcome) => return outcome,
                    };
                    let record = &bytes[..end];
                    let key =
                        scan::string_value(record, b"\"EventId\"").map(|s| event_key(Some(s), 0));
                    if let Some(indices) = key.and_then(|k| wanted.remove(&k)) {
                        for i in indices {
                            found[i] = Some(RecordAt {
                                source: name.clone(),
                                line: at.line,
                                column: at.column,
                            });
                        }
                    }
                    if wanted.is_empty() {
                        // Every wanted record is found: stop reading (through `on_problem`).
                        done.set(true);
                        return Outcome::Rejected(end, String::new());
                    }
                    Outcome::Skipped(end)
                },
                |_| {
                    if done.get() {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                },
            );
        }
        found
    }
}

/// The length of the record at the start of `bytes`, or what the framer must do instead.
fn record_end(bytes: &[u8]) -> Result<usize, Outcome> {
    let mut found = crate::input::blocks::Found::default();
    match crate::input::blocks::object(bytes, &[], &mut found) {
        crate::input::blocks::Extent::Complete(end) => Ok(end),
        crate::input::blocks::Extent::Incomplete => Err(Outcome::Incomplete),
        crate::input::blocks::Extent::NotObject => {
            let mut values =
                serde_json::Deserializer::from_slice(bytes).into_iter::<serde::de::IgnoredAny>();
            Err(match values.next() {
                Some(Ok(_)) => Outcome::Skipped(values.byte_offset()),
                Some(Err(e)) => Outcome::Invalid(e),
                None => Outcome::Skipped(bytes.len()),
            })
        }
    }
}
