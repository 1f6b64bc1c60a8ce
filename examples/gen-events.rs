//! `gen-events`: writes a synthetic Amazon Connect agent event stream (see
//! `agent_audit_testkit::synth`) for benchmarks — any number of agents and days, as JSON lines,
//! concatenated objects (Kinesis Firehose's default) or JSON arrays, optionally gzip, to one
//! file or to Firehose's `YYYY/MM/DD/HH/` layout with one file per UTC hour.
//!
//! ```sh
//! cargo run --release --example gen-events -- --agents 500 --days 1 --out /tmp/g.jsonl
//! cargo run --release --example gen-events -- --agents 5000 --days 2 --out /tmp/fh --hourly --format concat --gzip
//! ```
//!
//! Exit status: 0 written; 1 an output could not be written; 2 a usage error.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;
use std::time::Instant;

use agent_audit::time::{parse_date, parse_timezone};
use agent_audit_testkit::synth::{Synth, SynthOptions};
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use clap::{Parser, ValueEnum};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Writes a deterministic synthetic agent event stream.
#[derive(Debug, Parser)]
#[command(name = "gen-events")]
struct Args {
    /// Number of agents (logins agent00001, agent00002, ...).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    agents: u32,

    /// Number of local days with shifts.
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u32).range(1..=3660))]
    days: u32,

    /// The output file, or with --hourly the output folder.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,

    /// How records are framed in a file.
    #[arg(long, value_enum, default_value_t = Framing::Lines)]
    format: Framing,

    /// Compress each file with gzip.
    #[arg(long)]
    gzip: bool,

    /// Write PATH/YYYY/MM/DD/HH/agent-events-1-<YYYY-MM-DD-HH>-<n>.json[.gz], one file per
    /// UTC hour of EventTimestamp (n counts the files written, from 1).
    #[arg(long)]
    hourly: bool,

    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// The first local day.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2026-11-02", value_parser = parse_date)]
    start: NaiveDate,

    /// The IANA time zone shifts are planned in.
    #[arg(long, value_name = "ZONE", default_value = "America/New_York", value_parser = parse_timezone)]
    zone: Tz,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Framing {
    /// One object per line.
    Lines,
    /// Objects back to back with no delimiter (Kinesis Firehose's default).
    Concat,
    /// One JSON array per file.
    Array,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's first paragraph (the message and any detail lines), on one line.
            let text = e.to_string();
            let first = text.trim().split("\n\n").next().unwrap_or_default();
            let line: Vec<&str> = first
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("{}", line.join(" "));
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let mut synth = Synth::new(SynthOptions {
        agents: args.agents as usize,
        days: args.days,
        start: args.start,
        seed: args.seed,
        zone: args.zone,
    });
    // This thread generates and frames; a writer thread compresses and writes, so the two
    // overlap. Buffers go back and forth through two channels and are reused.
    let (full_tx, full_rx) = mpsc::sync_channel::<Chunk>(3);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    let writer = {
        let out = args.out.clone();
        let (hourly, gzip) = (args.hourly, args.gzip);
        thread::spawn(move || write_chunks(&out, hourly, gzip, full_rx, empty_tx))
    };
    let mut framer = Framer {
        format: args.format,
        full: full_tx,
        empty: empty_rx,
        chunk: Vec::with_capacity(CHUNK + (64 << 10)),
        file: None,
    };
    let mut record = Vec::with_capacity(16 << 10);
    let mut events: u64 = 0;
    let mut json_bytes: u64 = 0;
    let generated = loop {
        record.clear();
        let Some(at) = synth.next_event(&mut record) else {
            break framer.finish(args.hourly);
        };
        let hour = if args.hourly {
            at.div_euclid(HOUR_MS)
        } else {
            0
        };
        if framer.push(hour, at, &record).is_err() {
            break Err(());
        }
        events += 1;
        json_bytes += record.len() as u64;
    };
    drop(framer);
    // A failed send means the writer stopped: its error says why.
    let disk_bytes = writer
        .join()
        .map_err(|_| "the writer thread failed".to_owned())??;
    generated.map_err(|()| "the writer thread stopped".to_owned())?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = json_bytes as f64 / 1e6 / seconds.max(1e-9);
    let mean = json_bytes.checked_div(events).unwrap_or(0);
    eprintln!(
        "{events} events, {disk_bytes} bytes written ({json_bytes} bytes of JSON, {mean} per event) \
         in {seconds:.2} s: {rate:.0} MB/s"
    );
    Ok(())
}

const HOUR_MS: i64 = 3_600_000;
/// Bytes of framed JSON handed to the writer at a time.
const CHUNK: usize = 4 << 20;

/// Framed bytes for one output file: `hour` tells files apart (always 0 without --hourly),
/// `first_at` is the timestamp of the file's first event (it names the file).
struct Chunk {
    hour: i64,
    first_at: i64,
    bytes: Vec<u8>,
}

/// Frames records into chunks (lines, back to back, or an array per file).
struct Framer {
    format: Framing,
    full: SyncSender<Chunk>,
    empty: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    /// The current file: (hour, first event's timestamp).
    file: Option<(i64, i64)>,
}

impl Framer {
    fn push(&mut self, hour: i64, at: i64, record: &[u8]) -> Result<(), ()> {
        let first = match self.file {
            Some((h, _)) if h == hour => false,
            _ => {
                self.close_file()?;
                self.file = Some((hour, at));
                true
            }
        };
        match self.format {
            Framing::Lines => {
                self.chunk.extend_from_slice(record);
                self.chunk.push(b'\n');
            }
            Framing::Concat => self.chunk.extend_from_slice(record),
            Framing::Array => {
                self.chunk
                    .extend_from_slice(if first { b"[\n" } else { b",\n" });
                self.chunk.extend_from_slice(record);
            }
        }
        if self.chunk.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), ()> {
        let Some((hour, first_at)) = self.file else {
            return Ok(());
        };
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + (64 << 10)));
        let bytes = std::mem::replace(&mut self.chunk, next);
        self.full
            .send(Chunk {
                hour,
                first_at,
                bytes,
            })
            .map_err(|_| ())
    }

    fn close_file(&mut self) -> Result<(), ()> {
        if self.file.is_some() {
            if self.format == Framing::Array {
                self.chunk.extend_from_slice(b"\n]\n");
            }
            self.send()?;
        }
        self.file = None;
        Ok(())
    }

    /// Closes the last file; without --hourly and without events, still writes the (empty)
    /// output file.
    fn finish(&mut self, hourly: bool) -> Result<(), ()> {
        if self.file.is_none() && !hourly {
            self.file = Some((0, 0));
            if self.format == Framing::Array {
                self.chunk.extend_from_slice(b"[");
            }
        }
        self.close_file()
    }
}

/// The writer thread: one file per distinct `hour` (the whole output without --hourly).
/// Returns the bytes written to disk.
fn write_chunks(
    out: &Path,
    hourly: bool,
    gzip: bool,
    full: Receiver<Chunk>,
    empty: Sender<Vec<u8>>,
) -> Result<u64, String> {
    let mut current: Option<(i64, PathBuf, Sink)> = None;
    let mut files: u64 = 0;
    let mut written: u64 = 0;
    for chunk in full {
        if current.as_ref().is_none_or(|(h, _, _)| *h != chunk.hour) {
            if let Some((_, path, sink)) = current.take() {
                written += sink.finish().map_err(|e| cannot_write(&path, e))?;
            }
            files += 1;
            let path = if hourly {
                file_path(out, chunk.first_at, files, gzip)?
            } else {
                out.to_path_buf()
            };
            let sink = Sink::create(&path, gzip)?;
            current = Some((chunk.hour, path, sink));
        }
        if let Some((_, path, sink)) = current.as_mut() {
            sink.write_all(&chunk.bytes)
                .map_err(|e| cannot_write(path, e))?;
        }
        let mut bytes = chunk.bytes;
        bytes.clear();
        let _ = empty.send(bytes);
    }
    if let Some((_, path, sink)) = current.take() {
        written += sink.finish().map_err(|e| cannot_write(&path, e))?;
    }
    Ok(written)
}

fn cannot_write(path: &Path, e: io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// `out/YYYY/MM/DD/HH/agent-events-1-YYYY-MM-DD-HH-<n>.json[.gz]`, creating the folders.
fn file_path(out: &Path, at: i64, n: u64, gzip: bool) -> Result<PathBuf, String> {
    let t = DateTime::from_timestamp_millis(at)
        .ok_or_else(|| format!("timestamp {at} out of range"))?;
    let dir = out.join(t.format("%Y/%m/%d/%H").to_string());
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let gz = if gzip { ".gz" } else { "" };
    let name = format!("agent-events-1-{}-{n}.json{gz}", t.format("%Y-%m-%d-%H"));
    Ok(dir.join(name))
}

/// A file being written: buffered, maybe gzip, counting the bytes that reach the disk.
enum Sink {
    Plain(BufWriter<Counting<File>>),
    Gzip(Box<GzEncoder<BufWriter<Counting<File>>>>),
}

impl Sink {
    fn create(path: &Path, gzip: bool) -> Result<Sink, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let buffered = BufWriter::with_capacity(
            1 << 20,
            Counting {
                inner: file,
                bytes: 0,
            },
        );
        Ok(if gzip {
            Sink::Gzip(Box::new(GzEncoder::new(buffered, Compression::fast())))
        } else {
            Sink::Plain(buffered)
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
        }
    }

    /// Flushes and closes; returns the bytes written to the file.
    fn finish(self) -> io::Result<u64> {
        let buffered = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
        };
        let counting = buffered.into_inner().map_err(|e| e.into_error())?;
        Ok(counting.bytes)
    }
}

struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
