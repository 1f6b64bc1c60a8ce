//! `s3://bucket/prefix` locations: the client, listing, streaming reads, writes and polling.
//!
//! The locations, objects and settings are plain data, in every build. The client is the
//! `s3` cargo feature (on by default; [`client`]); a build without it has the same calls
//! refusing every `s3://` path with one message ([`absent`]), so an S3 path is never read
//! as a local file. Everything asynchronous stays inside this module: one tokio runtime runs
//! the `object_store` client, and the rest of the library sees synchronous calls and
//! `Read` streams ([`read`]). Every call takes the configuration's [`Settings`], and an
//! object carries those it was listed with: there is no process-wide S3 state. Credentials and region come from the standard AWS chain
//! (environment, the shared profile files, web identity for Kubernetes service accounts,
//! container and instance roles); an S3-compatible store is named by `AWS_ENDPOINT_URL` or
//! by `endpoint_url` in the configuration's `[s3]` table, which wins. Transient failures
//! (throttling, 5xx, dropped connections) are retried with exponential backoff by the
//! client; every error that reaches the user names the bucket and key.
//!
//! What a listed object holds is not this module's concern: `input` frames it like a file.

pub mod poll;

#[cfg(feature = "s3")]
mod budget;
#[cfg(feature = "s3")]
mod client;
#[cfg(feature = "s3")]
mod profile;
#[cfg(feature = "s3")]
pub mod read;
#[cfg(feature = "s3")]
pub use client::{delete, get, install_tls_provider, list, names, put};

#[cfg(not(feature = "s3"))]
mod absent;
#[cfg(not(feature = "s3"))]
pub use absent::{delete, get, list, names, put, read};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The URL scheme of an S3 location.
pub const SCHEME: &str = "s3://";

/// How often `watch` lists its `s3://` prefixes, unless the configuration says otherwise.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);

/// The configuration's `[s3]` table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Settings {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); wins over `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// How often `watch` lists its `s3://` prefixes.
    pub poll: Duration,
    /// Send unsigned requests (public buckets, which need no credentials).
    pub unsigned: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint_url: None,
            poll: DEFAULT_POLL,
            unsigned: false,
        }
    }
}

/// Whether a path names an S3 location rather than a local file.
pub fn is_s3(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// `s3://bucket/prefix`, split. The prefix has no leading or trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub bucket: String,
    pub prefix: String,
}

impl Location {
    /// Parses `s3://bucket[/prefix]`; `None` when the path is not an S3 URL.
    pub fn of(path: &Path) -> Option<Result<Location, Error>> {
        let text = path.to_str()?;
        let rest = text.strip_prefix(SCHEME)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(Error::new(
                text,
                "an S3 URL needs a bucket: `s3://BUCKET/PREFIX`",
            )));
        }
        Some(Ok(Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        }))
    }

    /// The URL of the object `name` (a `/`-separated relative key) under this location.
    pub fn join(&self, name: &str) -> Location {
        let prefix = match (self.prefix.is_empty(), name.trim_matches('/')) {
            (_, "") => self.prefix.clone(),
            (true, name) => name.to_string(),
            (false, name) => format!("{}/{name}", self.prefix),
        };
        Location {
            bucket: self.bucket.clone(),
            prefix,
        }
    }

    pub fn url(&self) -> String {
        url(&self.bucket, &self.prefix)
    }

    /// The location as a path (the form batch files and manifests carry).
    pub fn to_path(&self) -> PathBuf {
        PathBuf::from(self.url())
    }
}

/// Whether the S3 URL `path` lies at or under the S3 location `prefix`.
pub fn is_under(path: &Path, prefix: &Path) -> bool {
    match (Location::of(path), Location::of(prefix)) {
        (Some(Ok(p)), Some(Ok(under))) => {
            p.bucket == under.bucket
                && (under.prefix.is_empty()
                    || p.prefix == under.prefix
                    || p.prefix.starts_with(&format!("{}/", under.prefix)))
        }
        _ => false,
    }
}

fn url(bucket: &str, key: &str) -> String {
    if key.is_empty() {
        format!("{SCHEME}{bucket}")
    } else {
        format!("{SCHEME}{bucket}/{key}")
    }
}

/// A failed S3 operation, named by the URL it was about: `s3://b/2026/11/02/13/x.gz: access
/// denied`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {message}")]
pub struct Error {
    pub url: String,
    pub message: String,
    /// The object or bucket does not exist (as opposed to being unreadable).
    pub not_found: bool,
}

impl Error {
    fn new(url: &str, message: impl Into<String>) -> Error {
        Error {
            url: url.to_string(),
            message: message.into(),
            not_found: false,
        }
    }

    /// As an I/O error (for `Read` streams and writers), without the URL, which the reader's
    /// messages already carry.
    pub fn into_io(self) -> io::Error {
        let kind = if self.not_found {
            io::ErrorKind::NotFound
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, self.message)
    }
}

/// One object found under a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Object {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// What `watch` compares to see that an object changed.
    pub etag: Option<String>,
    /// The settings it was listed with, which every read of it uses.
    pub settings: Arc<Settings>,
}

impl Object {
    pub fn url(&self) -> String {
        url(&self.bucket, &self.key)
    }
}
