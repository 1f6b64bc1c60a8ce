//! Paths → byte streams → framed records.
//!
//! A path is a file, a directory (walked recursively in lexicographic path order, any layout
//! such as Firehose's `YYYY/MM/DD/HH/`), an `s3://bucket/prefix` (every object under it, in
//! the same order, streamed by `crate::s3`) or `-` for standard input. Gzip is recognised by its
//! magic bytes, never by the file name, and concatenated gzip members are all read. What a
//! record means is not this module's concern: see `ingest`.

pub mod blocks;
pub mod framing;
pub mod scan;

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// One input stream, in input order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    File(PathBuf),
    /// An object listed under an `s3://` prefix.
    S3(crate::s3::Object),
    Stdin,
}

impl Source {
    /// The name used in messages (`-` is shown as `<stdin>`).
    pub fn display(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::S3(o) => o.url(),
            Source::Stdin => "<stdin>".to_string(),
        }
    }
}

/// A path that could not be expanded or opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no such file or directory: `{0}`")]
    NotFound(String),
    /// Input order numbers a file in 24 bits.
    #[error("{0} input files: at most 16,777,215 can be read at once")]
    TooMany(usize),
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A source that failed while it was read (see [`SourceFailure`]).
    #[error(
        "{path}:{line}:{column}: {message}; a source that cannot be read in full fails every report over it"
    )]
    Incomplete {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// An `s3://` location that cannot be listed (or holds nothing).
    #[error(transparent)]
    S3(#[from] crate::s3::Error),
}

/// Expands the given paths into sources in input order: the order of the paths, each
/// directory's files in lexicographic path order. `-` may appear once. Entries of a
/// directory that cannot be followed (a symlink loop, a dangling link) are skipped with a
/// warning on standard error. `s3://` prefixes are listed with the configuration's `s3`
/// settings, which every object listed keeps for its reads.
pub fn expand(paths: &[PathBuf], s3: &crate::s3::Settings) -> Result<Vec<Source>, InputError> {
    let (sources, skipped) = expand_reporting(paths, s3)?;
    for warning in skipped {
        eprintln!("warning: {}", crate::diagnostic::terminal_safe(&warning));
    }
    Ok(sources)
}

/// [`expand`], returning the warnings about skipped directory entries instead of printing
/// them.
pub fn expand_reporting(
    paths: &[PathBuf],
    s3: &crate::s3::Settings,
) -> Result<(Vec<Source>, Vec<String>), InputError> {
    let mut skipped = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            if !sources.contains(&Source::Stdin) {
                sources.push(Source::Stdin);
            }
            continue;
        }
        if let Some(location) = crate::s3::Location::of(path) {
            let objects = crate::s3::list(&location?, s3)?;
            sources.extend(objects.into_iter().map(Source::S3));
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => InputError::NotFound(path.display().to_string()),
            _ => InputError::Unreadable {
                path: path.display().to_string(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            walk(path, &mut sources, &mut skipped)?;
        } else {
            sources.push(Source::File(path.clone()));
        }
    }
    crate::s3::read::plan(
        sources
            .iter()
            .filter_map(|s| match s {
                Source::S3(o) => Some(o.clone()),
                _ => None,
            })
            .collect(),
    );
    Ok((sources, skipped))
}

fn walk(
    dir: &Path,
    sources: &mut Vec<Source>,
    skipped: &mut Vec<String>,
) -> Result<(), InputError> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by(|a, b| a.file_name().cmp(b.file_name()));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(dir).display().to_string();
                // A link that leads back up the tree, or nowhere, holds no events: skip it
                // rather than fail every report over it.
                if let Some(ancestor) = e.loop_ancestor() {
                    skipped.push(format!(
                        "skipped `{path}`: a symbolic link loop back to `{}`",
                        ancestor.display()
                    ));
                    continue;
                }
                let dangling = e
                    .io_error()
                    .is_some_and(|io| io.kind() == io::ErrorKind::NotFound)
                    && e.path().is_some_and(|p| p.symlink_metadata().is_ok());
                if dangling {
                    skipped.push(format!(
                        "skipped `{path}`: a symbolic link to something that does not exist"
                    ));
                    continue;
                }
                return Err(InputError::Unreadable {
                    path,
                    source: e.into(),
                });
            }
        };
        if entry.file_type().is_file() {
            sources.push(Source::File(entry.into_path()));
        }
    }
    Ok(())
}

/// Opens a source for reading, decompressing gzip when the content starts with its magic
/// bytes.
pub fn open(source: &Source) -> Result<Box<dyn Read + Send>, InputError> {
    let unreadable = |e| InputError::Unreadable {
        path: source.display(),
        source: e,
    };
    match source {
        Source::File(path) => {
            let file = File::open(path).map_err(unreadable)?;
            sniff(Fetched(file)).map_err(unreadable)
        }
        Source::Stdin => sniff(Fetched(io::stdin())).map_err(unreadable),
        Source::S3(object) => sniff(Fetched(crate::s3::read::open(object))).map_err(unreadable),
    }
}

/// A failure of what holds a source's bytes (a disk's read error, an S3 download that
/// failed after its retries), as opposed to bad bytes in it (a corrupt gzip member, a
/// malformed record). Bad bytes are that record's problem and the rest is read; a source
/// that could not be read in full fails the whole read (see `crate::store::ReadError`):
/// a report of it could be missing any number of events without a sign of it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceFailure(io::Error);

/// Whether an error that ended a stream is a [`SourceFailure`].
pub fn is_source_failure(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<SourceFailure>())
}

/// A source's raw bytes, whose read errors are marked as [`SourceFailure`]s (the
/// decompressor passes them through unchanged).
struct Fetched<R>(R);

impl<R: Read> Read for Fetched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted || is_source_failure(&e) {
                e
            } else {
                io::Error::new(e.kind(), SourceFailure(e))
            }
        })
    }
}

fn sniff<R: Read + Send + 'static>(mut reader: R) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 6];
    let n = read_up_to(&mut reader, &mut magic)?;
    let head = &magic[..n];
    if let Some(what) = unsupported(head) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, what));
    }
    // A UTF-8 byte order mark (Windows editors and some exporters write one) is read as
    // three spaces: whitespace before the first record, and every offset stays the file's.
    let head = match head.strip_prefix(BOM) {
        Some(rest) => [&b"   "[..], rest].concat(),
        None => head.to_vec(),
    };
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let whole = Cursor::new(head).chain(reader);
    if gzip {
        Ok(Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(
            256 << 10,
            whole,
        ))))
    } else {
        Ok(Box::new(whole))
    }
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// What a source's first bytes say it is when that is something agent-audit does not
/// read: another text encoding than UTF-8, or a compressor other than gzip. Said plainly,
/// instead of "malformed JSON" at byte 1.
pub fn unsupported(head: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (
            b"\xff\xfe",
            "UTF-16 (little-endian) text is not supported: event files are UTF-8; convert with `iconv -f UTF-16 -t UTF-8`",
        ),
        (
            b"\xfe\xff",
            "UTF-16 (big-endian) text is not supported: event files are UTF-8; convert with `iconv -f UTF-16 -t UTF-8`",
        ),
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed input is not supported: decompress it with `zstd -d` (gzip is read as it is)",
        ),
        (
            b"BZh",
            "bzip2-compressed input is not supported: decompress it with `bunzip2` (gzip is read as it is)",
        ),
        (
            b"\xfd7zXZ\x00",
            "xz-compressed input is not supported: decompress it with `unxz` (gzip is read as it is)",
        ),
        (
            b"PK\x03\x04",
            "a zip archive is not supported: unzip it and pass the files or their folder",
        ),
    ];
    KNOWN
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, what)| *what)
}

/// What is known of a source before it is read: found once (one `stat` of a file, the
/// listing of an S3 object) and used by everything that plans the read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
    /// A regular file or an S3 object: it can be read again, and its length is its size.
    /// Standard input, a FIFO or a process substitution (`--events <(…)`, a `/dev/fd/N`
    /// pipe) is read once: a second read would wait forever or find nothing.
    pub regular: bool,
}

impl Facts {
    pub fn of(source: &Source) -> Result<Facts, InputError> {
        match source {
            Source::File(path) => {
                let meta = std::fs::metadata(path).map_err(|e| InputError::Unreadable {
                    path: source.display(),
                    source: e,
                })?;
                Ok(Facts {
                    len: meta.len(),
                    modified: meta.modified().ok(),
                    regular: meta.is_file(),
                })
            }
            Source::S3(object) => Ok(Facts {
                len: object.size,
                modified: None,
                regular: true,
            }),
            Source::Stdin => Ok(Facts::default()),
        }
    }

    /// The facts of every source, in order.
    pub fn of_all(sources: &[Source]) -> Result<Vec<Facts>, InputError> {
        sources.iter().map(Facts::of).collect()
    }

    /// Whether the source is read whole into memory in one request (one `open`, one
    /// S3 `GET`) and framed from there: small enough, and a file or an object.
    pub fn read_whole(&self) -> bool {
        self.regular && self.len <= WHOLE
    }
}

/// Sources up to this size are read whole into memory before they are framed.
pub const WHOLE: u64 = 1 << 20;

/// The raw bytes of small sources read once, kept for a second read of the same input
/// (a single-agent report reads twice: once to find the agent's ARN, once for its
/// records), up to a byte budget; beyond it, a source is simply read again.
#[derive(Debug)]
pub struct Held {
    kept: std::sync::Mutex<rustc_hash::FxHashMap<Source, std::sync::Arc<[u8]>>>,
    room: std::sync::atomic::AtomicU64,
}

impl Held {
    pub fn new(budget: u64) -> Held {
        Held {
            kept: Default::default(),
            room: std::sync::atomic::AtomicU64::new(budget),
        }
    }

    fn get(&self, source: &Source) -> Option<std::sync::Arc<[u8]>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(source).cloned()
    }

    fn keep(&self, source: &Source, bytes: &std::sync::Arc<[u8]>) {
        use std::sync::atomic::Ordering;
        let n = bytes.len() as u64;
        let fits = self
            .room
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |room| {
                room.checked_sub(n)
            })
            .is_ok();
        if fits {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.insert(source.clone(), std::sync::Arc::clone(bytes));
        }
    }
}

/// The raw (still compressed) bytes of a small file or object, read in one request, or
/// taken from `held`, where they are also kept.
pub fn whole(source: &Source, held: Option<&Held>) -> Result<std::sync::Arc<[u8]>, InputError> {
    if let Some(bytes) = held.and_then(|h| h.get(source)) {
        return Ok(bytes);
    }
    let unreadable = |e| InputError::Unreadable {
        path: source.display(),
        source: e,
    };
    let mut bytes = Vec::new();
    match source {
        Source::File(path) => {
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(unreadable)?;
        }
        Source::S3(object) => {
            crate::s3::read::open(object)
                .read_to_end(&mut bytes)
                .map_err(unreadable)?;
        }
        Source::Stdin => {}
    }
    let bytes: std::sync::Arc<[u8]> = bytes.into();
    if let Some(held) = held {
        held.keep(source, &bytes);
    }
    Ok(bytes)
}

/// A stream over bytes read whole, decompressed when they are gzip, as [`open`] gives.
pub fn open_bytes(
    source: &Source,
    bytes: std::sync::Arc<[u8]>,
) -> Result<Box<dyn Read + Send>, InputError> {
    sniff(Cursor::new(bytes)).map_err(|e| InputError::Unreadable {
        path: source.display(),
        source: e,
    })
}

/// A part of the input read on its own: a whole source, or a byte range of an
/// uncompressed file of JSON lines that starts at the beginning of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Index into the sources.
    pub source: usize,
    /// Index of the piece within its source.
    pub chunk: u64,
    /// `None`: the whole source.
    pub range: Option<Range<u64>>,
}

/// Cuts large uncompressed files of JSON lines into pieces of about `size` bytes that
/// start at line starts, so that one big file is read on every core. A newline never
/// occurs inside a JSON string, so a line break followed by `{` in such a file always
/// starts a record. Everything else (gzip, concatenated objects, arrays, small files,
/// standard input) is one piece.
pub fn pieces(sources: &[Source], facts: &[Facts], size: u64) -> Result<Vec<Piece>, InputError> {
    let mut out = Vec::new();
    for (i, (source, facts)) in sources.iter().zip(facts).enumerate() {
        let whole = Piece {
            source: i,
            chunk: 0,
            range: None,
        };
        let unreadable = |e| InputError::Unreadable {
            path: source.display(),
            source: e,
        };
        let len = facts.len;
        if len < 2 * size || !is_json_lines(&read_at(source, 0, 1 << 20).map_err(unreadable)?) {
            out.push(whole);
            continue;
        }
        // Input order numbers a piece in 12 bits (see `ingest::EventRecord::seq`).
        let size = size.max(len.div_ceil(MAX_PIECES));
        let mut starts = vec![0u64];
        for k in 1..len.div_ceil(size) {
            if let Some(at) = next_line_start(source, k * size).map_err(unreadable)?
                && at > *starts.last().unwrap_or(&0)
                && at < len
            {
                starts.push(at);
            }
        }
        for (chunk, w) in starts.iter().enumerate() {
            let end = starts.get(chunk + 1).copied().unwrap_or(len);
            out.push(Piece {
                source: i,
                chunk: chunk as u64,
                range: Some(*w..end),
            });
        }
    }
    Ok(out)
}

/// The most pieces one file is cut into.
pub const MAX_PIECES: u64 = 1 << 12;

/// Up to `n` bytes of a file or object from offset `from` (none of standard input).
fn read_at(source: &Source, from: u64, n: usize) -> io::Result<Vec<u8>> {
    match source {
        Source::File(path) => {
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(from))?;
            let mut buf = vec![0u8; n];
            let k = read_up_to(&mut file, &mut buf)?;
            buf.truncate(k);
            Ok(buf)
        }
        Source::S3(object) => crate::s3::read::read_range(object, from..from + n as u64),
        Source::Stdin => Ok(Vec::new()),
    }
}

/// Whether a file's first bytes are an object that ends at a line break followed by
/// another object (and not gzip).
fn is_json_lines(head: &[u8]) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(BOM) {
        return false;
    }
    let mut spans = Vec::new();
    match scan::object(head.trim_ascii_start(), b"", 0, &mut spans) {
        scan::Extent::Complete(end) => {
            let offset = head.len() - head.trim_ascii_start().len();
            let rest = &head[offset + end..];
            let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
            rest.starts_with(b"\n{")
        }
        _ => false,
    }
}

/// The first offset at or after `from` (within 4 MiB) that follows a line break and holds
/// `{`. The window grows from 64 KiB: a few records away is where it nearly always is, and
/// for an S3 object each window is a request.
fn next_line_start(source: &Source, from: u64) -> io::Result<Option<u64>> {
    let start = from.saturating_sub(1);
    let mut size = 64 << 10;
    loop {
        let window = read_at(source, start, size)?;
        if let Some(i) = memchr::memmem::find(&window, b"\n{") {
            return Ok(Some(start + i as u64 + 1));
        }
        if window.len() < size || size >= 4 << 20 {
            return Ok(None);
        }
        size *= 4;
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Opens a piece: the whole source as [`open`] does, or the piece's byte range.
pub fn open_piece(source: &Source, piece: &Piece) -> Result<Box<dyn Read + Send>, InputError> {
    let (Some(range), Source::File(path)) = (&piece.range, source) else {
        return match (&piece.range, source) {
            (Some(range), Source::S3(object)) => Ok(Box::new(Fetched(
                crate::s3::read::open_range(object, range.clone()),
            ))),
            _ => open(source),
        };
    };
    let unreadable = |e| InputError::Unreadable {
        path: source.display(),
        source: e,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    file.seek(SeekFrom::Start(range.start))
        .map_err(unreadable)?;
    Ok(Box::new(Fetched(file.take(range.end - range.start))))
}
