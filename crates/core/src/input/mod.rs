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
    /// Whether the source can be read more than once: a regular file or an S3 object.
    /// Standard input, a FIFO or a process substitution (`--events <(…)`, a `/dev/fd/N`
    /// pipe) is read once: a second read would wait forever or find nothing.
    pub fn is_rereadable(&self) -> bool {
        match self {
            Source::File(p) => std::fs::metadata(p).is_ok_and(|m| m.is_file()),
            Source::Stdin => false,
            Source::S3(_) => true,
        }
    }

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
    /// An `s3://` location that cannot be listed (or holds nothing).
    #[error(transparent)]
    S3(#[from] crate::s3::Error),
}

/// Expands the given paths into sources in input order: the order of the paths, each
/// directory's files in lexicographic path order. `-` may appear once. Entries of a
/// directory that cannot be followed (a symlink loop, a dangling link) are skipped with a
/// warning on standard error.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Source>, InputError> {
    let (sources, skipped) = expand_reporting(paths)?;
    for warning in skipped {
        eprintln!("warning: {}", crate::diagnostic::terminal_safe(&warning));
    }
    Ok(sources)
}

/// [`expand`], returning the warnings about skipped directory entries instead of printing
/// them.
pub fn expand_reporting(paths: &[PathBuf]) -> Result<(Vec<Source>, Vec<String>), InputError> {
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
            let objects = crate::s3::list(&location?)?;
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
            sniff(file).map_err(unreadable)
        }
        Source::Stdin => sniff(io::stdin()).map_err(unreadable),
        // An object that cannot be fetched is that object's problem, reported when it is
        // read; the other objects are still read.
        Source::S3(object) => {
            Ok(sniff(crate::s3::read::open(object)).unwrap_or_else(|e| Box::new(Failed(Some(e)))))
        }
    }
}

/// A stream whose first read fails.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

fn sniff<R: Read + Send + 'static>(mut reader: R) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut reader, &mut magic)?;
    let whole = Cursor::new(magic[..n].to_vec()).chain(reader);
    if magic[..n] == [0x1f, 0x8b] {
        Ok(Box::new(MultiGzDecoder::new(io::BufReader::with_capacity(
            256 << 10,
            whole,
        ))))
    } else {
        Ok(Box::new(whole))
    }
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
pub fn pieces(sources: &[Source], size: u64) -> Result<Vec<Piece>, InputError> {
    let mut out = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let whole = Piece {
            source: i,
            chunk: 0,
            range: None,
        };
        let unreadable = |e| InputError::Unreadable {
            path: source.display(),
            source: e,
        };
        let len = match source {
            Source::File(path) => std::fs::metadata(path).map_err(unreadable)?.len(),
            Source::S3(object) => object.size,
            Source::Stdin => 0,
        };
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
    if head.starts_with(&[0x1f, 0x8b]) {
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
            (Some(range), Source::S3(object)) => {
                Ok(Box::new(crate::s3::read::open_range(object, range.clone())))
            }
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
    Ok(Box::new(file.take(range.end - range.start)))
}
