//! Where reports, manifests and index pages go: a local path or an `s3://bucket/key`.
//!
//! Both are written so that no reader ever sees half a file under its final name: a local
//! file through a temporary file and a rename ([`crate::report::save_atomically`]), an S3
//! object with a single PUT, which S3 makes visible whole or not at all. An S3 path is
//! reached with the configuration's `s3` settings, which every call takes. Callers name the
//! path in their messages; the errors here say only what went wrong.

use std::io;
use std::path::Path;

use crate::s3;

/// Writes `bytes` as the file or object `path`, creating local parent directories.
pub fn write_atomically(path: &Path, bytes: &[u8], settings: &s3::Settings) -> io::Result<()> {
    match s3::Location::of(path) {
        Some(location) => s3::put(&location.map_err(s3::Error::into_io)?, settings, bytes)
            .map_err(s3::Error::into_io),
        None => {
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)?;
            }
            crate::report::save_atomically(path, bytes)
        }
    }
}

/// [`write_atomically`] without waiting for a local disk (a batch's reports, made durable
/// together by [`sync_dir`] before the manifest lists them). An S3 PUT is durable when it
/// returns.
pub fn write_unsynced(path: &Path, bytes: &[u8], settings: &s3::Settings) -> io::Result<()> {
    if s3::is_s3(path) {
        return write_atomically(path, bytes, settings);
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    crate::report::save_atomically_unsynced(path, bytes)
}

/// Makes what was written under the local directory `dir` durable (creating it if
/// needed); nothing to do for an S3 prefix.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    if s3::is_s3(dir) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    crate::report::sync_folder(dir)
}

/// Removes the file or object `path` (a report that its batch no longer writes); one that
/// is already gone is no error.
pub fn remove(path: &Path, settings: &s3::Settings) -> io::Result<()> {
    match s3::Location::of(path) {
        Some(location) => {
            s3::delete(&location.map_err(s3::Error::into_io)?, settings).map_err(s3::Error::into_io)
        }
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    }
}

/// Reads the whole file or object `path`.
pub fn read(path: &Path, settings: &s3::Settings) -> io::Result<Vec<u8>> {
    match s3::Location::of(path) {
        Some(location) => {
            s3::get(&location.map_err(s3::Error::into_io)?, settings).map_err(s3::Error::into_io)
        }
        None => std::fs::read(path),
    }
}

/// The names of the files directly in the directory (or under the prefix) `dir`, sorted.
pub fn names(dir: &Path, settings: &s3::Settings) -> io::Result<Vec<String>> {
    match s3::Location::of(dir) {
        Some(location) => {
            s3::names(&location.map_err(s3::Error::into_io)?, settings).map_err(s3::Error::into_io)
        }
        None => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            names.sort();
            Ok(names)
        }
    }
}

/// `dir` joined with a relative `name`, for local directories and S3 prefixes alike
/// (`Path::join` would do for both, but a URL's `//` must survive).
pub fn join(dir: &Path, name: &str) -> std::path::PathBuf {
    match s3::Location::of(dir) {
        Some(Ok(location)) => location.join(name).to_path(),
        _ => dir.join(name),
    }
}
