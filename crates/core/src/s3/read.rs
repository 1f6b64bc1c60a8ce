//! Objects as `Read` streams, with bounded prefetch.
//!
//! An object is downloaded by a task on the S3 runtime that pushes the body's chunks into a
//! small bounded channel; the reader drains it on the caller's thread. Memory per object is
//! at most [`CHUNKS`] chunks, whatever its size, and nothing is written to disk.
//!
//! Objects are many and often small (Firehose writes one per few minutes per shard), so a
//! request's latency would dominate if each were fetched only when the reader reaches it.
//! [`plan`] tells this module the input order; opening an object also starts the next
//! [`AHEAD`] ones, so at most `AHEAD` + (reading threads) requests are in flight and at most
//! that many objects' first chunks are held.
//!
//! An object that cannot be fetched (denied, deleted since it was listed, retries
//! exhausted) is a stream whose read fails with the reason, which fails the whole read
//! (`crate::input::SourceFailure`). Requests share one retry budget (`super::budget`).

use std::collections::HashMap;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore};
use tokio::sync::mpsc;

use super::Error;
use super::Object;
use super::client::{client, from_store, key_of, runtime};

/// Chunks buffered per object.
pub const CHUNKS: usize = 8;
/// Objects fetched ahead of the one being opened.
pub const AHEAD: usize = 32;

type Chunk = io::Result<Bytes>;

/// The input order of the objects being read, and the downloads started ahead.
#[derive(Default)]
struct Plan {
    position: HashMap<Object, usize>,
    order: Vec<Object>,
    started: HashMap<Object, mpsc::Receiver<Chunk>>,
    /// Objects opened already: never fetched ahead again (two readers opening neighbours
    /// at once would otherwise each start the other's download, one `GET` too many).
    opened: std::collections::HashSet<Object>,
}

fn plans() -> &'static Mutex<Plan> {
    static PLAN: OnceLock<Mutex<Plan>> = OnceLock::new();
    PLAN.get_or_init(Default::default)
}

/// Records the order in which `objects` will be opened (the input order), so that opening
/// one fetches the next ones ahead. Downloads started for an earlier plan are dropped.
pub fn plan(objects: Vec<Object>) {
    let mut plan = plans().lock().unwrap_or_else(|e| e.into_inner());
    plan.started.clear();
    plan.opened.clear();
    plan.position = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.clone(), i))
        .collect();
    plan.order = objects;
}

/// Opens `object` as a stream of its bytes.
pub fn open(object: &Object) -> ObjectReader {
    let mut plan = plans().lock().unwrap_or_else(|e| e.into_inner());
    let rx = plan
        .started
        .remove(object)
        .unwrap_or_else(|| start(object, None));
    plan.opened.insert(object.clone());
    if let Some(&at) = plan.position.get(object) {
        let next: Vec<Object> = plan
            .order
            .iter()
            .skip(at + 1)
            .take(AHEAD)
            .filter(|o| !plan.started.contains_key(*o) && !plan.opened.contains(*o))
            .cloned()
            .collect();
        for o in next {
            let rx = start(&o, None);
            plan.started.insert(o, rx);
        }
    }
    ObjectReader {
        rx,
        current: Bytes::new(),
        done: false,
    }
}

/// Opens the bytes `range` of `object` (a piece of a large object read on its own core).
pub fn open_range(object: &Object, range: Range<u64>) -> ObjectReader {
    ObjectReader {
        rx: start(object, Some(range)),
        current: Bytes::new(),
        done: false,
    }
}

/// Reads the bytes `range` of `object` (fewer at its end).
pub fn read_range(object: &Object, range: Range<u64>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_range(object, range).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Starts downloading `object` (or a range of it) into a bounded channel.
fn start(object: &Object, range: Option<Range<u64>>) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel(CHUNKS);
    let url = object.url();
    let failed = |tx: &mpsc::Sender<Chunk>, e: Error| {
        // The channel is new and empty: this cannot find it full.
        let _ = tx.try_send(Err(e.into_io()));
    };
    let store = match client(&object.bucket, &object.settings) {
        Ok(s) => s,
        Err(e) => {
            failed(&tx, e);
            return rx;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            failed(&tx, Error::new(&url, e.to_string()));
            return rx;
        }
    };
    let key = key_of(&object.key);
    let options = GetOptions {
        range: range.map(GetRange::Bounded),
        ..GetOptions::default()
    };
    if let Some(why) = super::budget::spent() {
        failed(&tx, Error::new(&url, why));
        return rx;
    }
    rt.spawn(async move {
        let result = match store.get_opts(&key, options).await {
            Ok(r) => r,
            Err(e) => {
                super::budget::failed(&e);
                let _ = tx.send(Err(from_store(&url, &e).into_io())).await;
                return;
            }
        };
        let mut body = result.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                super::budget::failed(&e);
                from_store(&url, &e).into_io()
            });
            let stop = chunk.is_err();
            // The reader was dropped: nobody wants the rest.
            if tx.send(chunk).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// The bytes of one object, as they arrive.
pub struct ObjectReader {
    rx: mpsc::Receiver<Chunk>,
    current: Bytes,
    done: bool,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}
