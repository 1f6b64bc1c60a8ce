//! `s3://bucket/prefix` locations: the client, listing, streaming reads, writes and polling.
//!
//! Everything asynchronous stays inside this module: one tokio runtime runs the
//! `object_store` client, and the rest of the library sees synchronous calls and
//! `Read` streams ([`read`]). Credentials and region come from the standard AWS chain
//! (environment, the shared profile files, web identity for Kubernetes service accounts,
//! container and instance roles); an S3-compatible store is named by `AWS_ENDPOINT_URL` or
//! by `endpoint_url` in the configuration's `[s3]` table, which wins. Transient failures
//! (throttling, 5xx, dropped connections) are retried with exponential backoff by the
//! client; every error that reaches the user names the bucket and key.
//!
//! What a listed object holds is not this module's concern: `input` frames it like a file.

mod budget;
pub mod poll;
pub mod read;

mod profile;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};

/// The URL scheme of an S3 location.
pub const SCHEME: &str = "s3://";

/// How often `watch` lists its `s3://` prefixes, unless the configuration says otherwise.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);

/// The configuration's `[s3]` table.
#[derive(Clone, Debug, PartialEq)]
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

static SETTINGS: RwLock<Option<Settings>> = RwLock::new(None);

/// Makes `settings` the ones every later S3 request uses (the configuration is loaded after
/// the command line is parsed, and before any `s3://` path is listed).
pub fn configure(settings: &Settings) {
    let mut current = SETTINGS.write().unwrap_or_else(|e| e.into_inner());
    *current = Some(settings.clone());
}

fn settings() -> Settings {
    SETTINGS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
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

    fn from_store(url: &str, e: &object_store::Error) -> Error {
        let (message, not_found) = describe(e);
        Error {
            url: url.to_string(),
            message,
            not_found,
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

/// A short message for a client error, and whether it means "not found". S3 explains
/// itself in an XML body (`<Code>`, `<Message>`), which the client passes on as text.
fn describe(e: &object_store::Error) -> (String, bool) {
    use object_store::Error as E;
    let chain = chain(e);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = chain.find(&open)? + open.len();
        let end = chain[start..].find(&format!("</{name}>"))?;
        Some(chain[start..start + end].to_string())
    };
    let code = tag("Code");
    let said = || match (&code, tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        _ => String::new(),
    };
    match (e, code.as_deref()) {
        (_, Some("NoSuchBucket")) => ("no such bucket".to_string(), true),
        (E::NotFound { .. }, _) | (_, Some("NoSuchKey")) => ("no such object".to_string(), true),
        (E::PermissionDenied { .. }, None | Some("AccessDenied")) | (_, Some("AccessDenied")) => {
            ("access denied".to_string(), false)
        }
        (E::Unauthenticated { .. } | E::PermissionDenied { .. }, _)
        | (_, Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken")) => (
            format!(
                "access denied: the credentials were not accepted ({})",
                said()
            ),
            false,
        ),
        (_, Some(_)) => (said(), false),
        // The last link of the credential chain is the instance metadata service.
        _ if chain.contains("169.254.169.254") || chain.contains("169.254.170.2") => (
            format!(
                "no AWS credentials: none in the environment or the profile files, and no \
                 web identity, container or instance role answered ({chain})"
            ),
            false,
        ),
        _ => (
            chain.trim_start_matches("Generic S3 error: ").to_string(),
            false,
        ),
    }
}

/// An error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// The runtime the client runs on. Two threads are plenty: they only move bytes between
/// sockets and the channels the readers drain.
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("agent-audit-s3")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the S3 client: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs a client future to completion from synchronous code.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    Ok(runtime()?.block_on(future))
}

type Clients = Mutex<HashMap<(String, Option<String>), Arc<AmazonS3>>>;

/// The client for `bucket`, built once per bucket and endpoint.
fn client(bucket: &str) -> Result<Arc<AmazonS3>, Error> {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    let settings = settings();
    let key = (bucket.to_string(), settings.endpoint_url.clone());
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(c) = clients.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let built = Arc::new(build(bucket, &settings)?);
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, built.clone());
    Ok(built)
}

/// Makes *ring* the process's TLS provider, once, before any HTTPS client is built. The
/// whole program uses one provider (the report page's TLS listener too); a second would
/// make rustls refuse to choose.
pub fn install_tls_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Already installed (by the binary, or a test): that one stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn build(bucket: &str, settings: &Settings) -> Result<AmazonS3, Error> {
    install_tls_provider();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = settings
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"));
    // The shared profile files come after the environment's keys, as in the AWS SDKs;
    // web identity, container and instance credentials are the client's own chain.
    let profile = profile::Profile::load();
    if env("AWS_ACCESS_KEY_ID").is_none()
        && let Some(keys) = profile.as_ref().and_then(|p| p.credentials.clone())
    {
        builder = builder
            .with_access_key_id(keys.access_key_id)
            .with_secret_access_key(keys.secret_access_key);
        if let Some(token) = keys.session_token {
            builder = builder.with_token(token);
        }
    }
    if env("AWS_REGION").is_none()
        && env("AWS_DEFAULT_REGION").is_none()
        && let Some(region) = profile.as_ref().and_then(|p| p.region.clone())
    {
        builder = builder.with_region(region);
    }
    let endpoint = endpoint.or_else(|| profile.and_then(|p| p.endpoint_url));
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
        || env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    // No limit on a whole request (a large object streams for minutes), but a connection
    // that stays silent is given up and retried.
    let options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout_disabled()
        .with_connect_timeout(Duration::from_secs(5))
        .with_read_timeout(Duration::from_secs(30));
    builder
        .with_client_options(options)
        .with_skip_signature(settings.unsigned)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: budget::RETRIES,
            retry_timeout: budget::RETRY_WINDOW,
        })
        .build()
        .map_err(|e| Error::new(&url(bucket, ""), chain(&e)))
}

fn key_of(prefix: &str) -> Key {
    Key::parse(prefix).unwrap_or_else(|_| Key::from(prefix))
}

/// One object found under a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Object {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// What `watch` compares to see that an object changed.
    pub etag: Option<String>,
}

impl Object {
    pub fn url(&self) -> String {
        url(&self.bucket, &self.key)
    }
}

/// Every object under `location`, in the order a directory walk would give if each `/`
/// were a folder (so the same tree reads in the same input order from S3 as from disk).
/// A location that is itself an object is that one object; a prefix with nothing under it
/// is an error, never an empty input.
pub fn list(location: &Location) -> Result<Vec<Object>, Error> {
    let store = client(&location.bucket)?;
    let prefix = (!location.prefix.is_empty()).then(|| key_of(&location.prefix));
    let listed: Result<Vec<object_store::ObjectMeta>, object_store::Error> =
        block_on(store.list(prefix.as_ref()).try_collect())
            .map_err(|e| Error::new(&location.url(), e))?;
    let metas = listed.map_err(|e| Error::from_store(&location.url(), &e))?;
    let mut objects: Vec<Object> = metas
        .into_iter()
        .map(|m| Object {
            bucket: location.bucket.clone(),
            key: m.location.as_ref().to_string(),
            size: m.size,
            etag: m.e_tag,
        })
        .collect();
    if objects.is_empty()
        && let Some(prefix) = &prefix
    {
        // Not a folder: perhaps one object named exactly.
        match block_on(store.head(prefix)).map_err(|e| Error::new(&location.url(), e))? {
            Ok(m) => objects.push(Object {
                bucket: location.bucket.clone(),
                key: m.location.as_ref().to_string(),
                size: m.size,
                etag: m.e_tag,
            }),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(Error::from_store(&location.url(), &e)),
        }
    }
    if objects.is_empty() {
        return Err(Error {
            url: location.url(),
            message: "no objects under this prefix (nothing to read)".to_string(),
            not_found: true,
        });
    }
    objects.sort_by(|a, b| a.key.split('/').cmp(b.key.split('/')));
    Ok(objects)
}

/// Writes one object. A single PUT is all or nothing: an upload that fails leaves no object
/// (and no partial one) under the key; a retried upload replaces the whole object.
pub fn put(location: &Location, bytes: &[u8]) -> Result<(), Error> {
    let store = client(&location.bucket)?;
    let payload = PutPayload::from(bytes.to_vec());
    block_on(store.put(&key_of(&location.prefix), payload))
        .map_err(|e| Error::new(&location.url(), e))?
        .map(|_| ())
        .map_err(|e| Error::from_store(&location.url(), &e))
}

/// Deletes one object (a report a batch no longer writes); deleting a missing object is
/// no error.
pub fn delete(location: &Location) -> Result<(), Error> {
    let store = client(&location.bucket)?;
    match block_on(store.delete(&key_of(&location.prefix)))
        .map_err(|e| Error::new(&location.url(), e))?
    {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(Error::from_store(&location.url(), &e)),
    }
}

/// Reads one whole (small) object: a manifest, for `merge`.
pub fn get(location: &Location) -> Result<Vec<u8>, Error> {
    let store = client(&location.bucket)?;
    let fetch = async {
        let result = store.get(&key_of(&location.prefix)).await?;
        result.bytes().await
    };
    block_on(fetch)
        .map_err(|e| Error::new(&location.url(), e))?
        .map(|b| b.to_vec())
        .map_err(|e| Error::from_store(&location.url(), &e))
}

/// The names of the objects directly under `location` (one level, like a folder listing).
pub fn names(location: &Location) -> Result<Vec<String>, Error> {
    let store = client(&location.bucket)?;
    let prefix = (!location.prefix.is_empty()).then(|| key_of(&location.prefix));
    let listed = block_on(store.list_with_delimiter(prefix.as_ref()))
        .map_err(|e| Error::new(&location.url(), e))?
        .map_err(|e| Error::from_store(&location.url(), &e))?;
    let mut names: Vec<String> = listed
        .objects
        .iter()
        .filter_map(|m| m.location.filename().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
