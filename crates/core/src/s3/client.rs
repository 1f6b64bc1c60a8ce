//! The S3 client (the `s3` cargo feature): `object_store` on one tokio runtime, behind
//! synchronous calls. Every call takes the [`Settings`] of the configuration it serves (an
//! object carries those it was listed with), so two configurations alive at once, as
//! `watch` and `serve` hold across a reload, each reach their own endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};

use super::{Error, Location, Object, Settings, budget, profile, url};

/// An error of the client, named by the URL it was about.
pub(super) fn from_store(url: &str, e: &object_store::Error) -> Error {
    let (message, not_found) = describe(e);
    Error {
        url: url.to_string(),
        message,
        not_found,
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
pub(super) fn chain(e: &dyn std::error::Error) -> String {
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
pub(super) fn runtime() -> Result<&'static tokio::runtime::Runtime, NoRuntime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, NoRuntime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("agent-audit-s3")
                .enable_all()
                .build()
                .map_err(|e| NoRuntime(Arc::new(e)))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The client's runtime could not be started (no threads to be had).
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot start the S3 client: {0}")]
pub(super) struct NoRuntime(Arc<std::io::Error>);

/// Runs a client future to completion from synchronous code.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, NoRuntime> {
    Ok(runtime()?.block_on(future))
}

type Clients = Mutex<HashMap<(String, Option<String>, bool), Arc<AmazonS3>>>;

/// The client for `bucket` under `settings`, built once per bucket, endpoint and signing.
pub(super) fn client(bucket: &str, settings: &Settings) -> Result<Arc<AmazonS3>, Error> {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    let key = (
        bucket.to_string(),
        settings.endpoint_url.clone(),
        settings.unsigned,
    );
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(c) = clients.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let built = Arc::new(build(bucket, settings)?);
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

pub(super) fn key_of(prefix: &str) -> Key {
    Key::parse(prefix).unwrap_or_else(|_| Key::from(prefix))
}

/// Every object under `location`, in the order a directory walk would give if each `/`
/// were a folder (so the same tree reads in the same input order from S3 as from disk).
/// A location that is itself an object is that one object; a prefix with nothing under it
/// is an error, never an empty input.
pub fn list(location: &Location, settings: &Settings) -> Result<Vec<Object>, Error> {
    let store = client(&location.bucket, settings)?;
    let settings = Arc::new(settings.clone());
    let prefix = (!location.prefix.is_empty()).then(|| key_of(&location.prefix));
    let listed: Result<Vec<object_store::ObjectMeta>, object_store::Error> =
        block_on(store.list(prefix.as_ref()).try_collect())
            .map_err(|e| Error::new(&location.url(), e.to_string()))?;
    let metas = listed.map_err(|e| from_store(&location.url(), &e))?;
    let mut objects: Vec<Object> = metas
        .into_iter()
        .map(|m| Object {
            bucket: location.bucket.clone(),
            key: m.location.as_ref().to_string(),
            size: m.size,
            etag: m.e_tag,
            settings: settings.clone(),
        })
        .collect();
    if objects.is_empty()
        && let Some(prefix) = &prefix
    {
        // Not a folder: perhaps one object named exactly.
        match block_on(store.head(prefix))
            .map_err(|e| Error::new(&location.url(), e.to_string()))?
        {
            Ok(m) => objects.push(Object {
                bucket: location.bucket.clone(),
                key: m.location.as_ref().to_string(),
                size: m.size,
                etag: m.e_tag,
                settings,
            }),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(from_store(&location.url(), &e)),
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
pub fn put(location: &Location, settings: &Settings, bytes: &[u8]) -> Result<(), Error> {
    let store = client(&location.bucket, settings)?;
    let payload = PutPayload::from(bytes.to_vec());
    block_on(store.put(&key_of(&location.prefix), payload))
        .map_err(|e| Error::new(&location.url(), e.to_string()))?
        .map(|_| ())
        .map_err(|e| from_store(&location.url(), &e))
}

/// Deletes one object (a report a batch no longer writes); deleting a missing object is
/// no error.
pub fn delete(location: &Location, settings: &Settings) -> Result<(), Error> {
    let store = client(&location.bucket, settings)?;
    match block_on(store.delete(&key_of(&location.prefix)))
        .map_err(|e| Error::new(&location.url(), e.to_string()))?
    {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(from_store(&location.url(), &e)),
    }
}

/// Reads one whole (small) object: a manifest, for `merge`.
pub fn get(location: &Location, settings: &Settings) -> Result<Vec<u8>, Error> {
    let store = client(&location.bucket, settings)?;
    let fetch = async {
        let result = store.get(&key_of(&location.prefix)).await?;
        result.bytes().await
    };
    block_on(fetch)
        .map_err(|e| Error::new(&location.url(), e.to_string()))?
        .map(|b| b.to_vec())
        .map_err(|e| from_store(&location.url(), &e))
}

/// The names of the objects directly under `location` (one level, like a folder listing).
pub fn names(location: &Location, settings: &Settings) -> Result<Vec<String>, Error> {
    let store = client(&location.bucket, settings)?;
    let prefix = (!location.prefix.is_empty()).then(|| key_of(&location.prefix));
    let listed = block_on(store.list_with_delimiter(prefix.as_ref()))
        .map_err(|e| Error::new(&location.url(), e.to_string()))?
        .map_err(|e| from_store(&location.url(), &e))?;
    let mut names: Vec<String> = listed
        .objects
        .iter()
        .filter_map(|m| m.location.filename().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
