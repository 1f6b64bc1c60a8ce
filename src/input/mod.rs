//! Paths → byte streams → framed records.
//!
//! A path is a file, a directory (walked recursively in lexicographic path order, any layout
//! such as Firehose's `YYYY/MM/DD/HH/`) or `-` for standard input. Gzip is recognised by its
//! magic bytes, never by the file name, and concatenated gzip members are all read. What a
//! record means is not this module's concern: see `ingest`.

pub mod framing;

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// One input stream, in input order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    /// The name used in messages (`-` is shown as `<stdin>`).
    pub fn display(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "<stdin>".to_string(),
        }
    }
}

/// A path that could not be expanded or opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no such file or directory: `{0}`")]
    NotFound(String),
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Expands the given paths into sources in input order: the order of the paths, each
/// directory's files in lexicographic path order. `-` may appear once.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Source>, InputError> {
    let mut sources = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            if !sources.contains(&Source::Stdin) {
                sources.push(Source::Stdin);
            }
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
            walk(path, &mut sources)?;
        } else {
            sources.push(Source::File(path.clone()));
        }
    }
    Ok(sources)
}

fn walk(dir: &Path, sources: &mut Vec<Source>) -> Result<(), InputError> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by(|a, b| a.file_name().cmp(b.file_name()));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).display().to_string();
            InputError::Unreadable {
                path,
                source: e.into(),
            }
        })?;
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
    }
}

fn sniff<R: Read + Send + 'static>(mut reader: R) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < magic.len() {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
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
