//! A real S3 server on 127.0.0.1 for the tests: moto's standalone server (`pip install
//! 'moto[server]'`, which `.ci/run` does), started on a free port and stopped when the test
//! binary exits. Under CI (`CI=true`) a missing server fails the tests that need it; on a
//! developer's machine without it they say so and pass over their S3 part.
//!
//! Buckets are filled and read back with `object_store` directly, never through the code
//! under test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// A running moto server.
pub struct Server {
    pub endpoint: String,
    /// The server's request log (one line per request).
    log: tempfile::NamedTempFile,
    /// A shell that kills the server when its standard input closes, which happens when
    /// this process exits however it exits.
    _keeper: Child,
}

/// The program `name` on the `PATH`. Under CI (`CI=true`) a missing one fails the test
/// (`.ci/run` installs it with `pip install PACKAGE`); elsewhere the test says so and
/// passes over what needs it.
pub fn program(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed: `.ci/run` installs it (pip install '{package}')"
        );
        eprintln!("{name} not found (pip install '{package}'): this part is not run here");
    }
    found
}

/// Starts a server with `env` (for example `INITIAL_NO_AUTH_ACTION_COUNT`); `None` when
/// moto is not installed outside CI.
pub fn start(env: &[(&str, String)]) -> Option<Server> {
    let moto = program("moto_server", "moto[server]")?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let keeper = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" -H 127.0.0.1 -p \"$1\" >\"$2\" 2>&1 & m=$!; read _; kill $m")
        .arg(&moto)
        .arg(port.to_string())
        .arg(log.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
        _keeper: keeper,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while request(port, "GET /moto-api/ HTTP/1.0\r\n\r\n").is_none() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

/// The server most tests share (each with buckets of its own).
pub fn shared() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER.get_or_init(|| start(&[])).as_ref()
}

/// Sends one raw HTTP request; the response's status line.
fn request(port: u16, text: &str) -> Option<String> {
    request_with_body(port, text, &[])
}

fn request_with_body(port: u16, head: &str, body: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response);
    text.lines().next().map(str::to_string)
}

impl Server {
    /// How many requests the server has logged whose line contains `what` (such as
    /// `"GET /bucket/key "`).
    pub fn requests(&self, what: &str) -> usize {
        let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        log.lines().filter(|l| l.contains(what)).count()
    }

    fn port(&self) -> u16 {
        self.endpoint.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The environment of an `agent-audit` that talks to this server: static keys, the
    /// endpoint, and an instance-metadata endpoint on loopback, so that nothing ever asks
    /// the real one.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_METADATA_ENDPOINT", "http://127.0.0.1:9".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_string()),
            ("AWS_CONFIG_FILE", "/nonexistent".to_string()),
        ]
    }

    /// Puts an object anyone may read (an unsigned request, as to a public bucket).
    pub fn put_public(&self, bucket: &str, key: &str, body: &[u8]) {
        let head = format!(
            "PUT /{bucket}/{key} HTTP/1.0\r\nHost: 127.0.0.1\r\nx-amz-acl: public-read\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let status = request_with_body(self.port(), &head, body);
        assert!(
            status.as_deref().is_some_and(|s| s.contains(" 200")),
            "cannot put {key}: {status:?}"
        );
    }

    /// A new, empty bucket.
    pub fn bucket(&self, name: &str) -> Bucket {
        let status = request(
            self.port(),
            &format!("PUT /{name} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"),
        );
        assert!(
            status.as_deref().is_some_and(|s| s.contains(" 200")),
            "cannot create bucket {name}: {status:?}"
        );
        Bucket::open(&self.endpoint, name, "test", "test")
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A bucket, filled and read by the test itself.
pub struct Bucket {
    pub name: String,
    store: Arc<AmazonS3>,
}

impl Bucket {
    pub fn open(endpoint: &str, name: &str, key: &str, secret: &str) -> Bucket {
        // The process's one TLS provider, as the binary installs it.
        agent_audit::s3::install_tls_provider();
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_bucket_name(name)
            .with_region("us-east-1")
            .with_access_key_id(key)
            .with_secret_access_key(secret)
            .build()
            .unwrap();
        Bucket {
            name: name.to_string(),
            store: Arc::new(store),
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// Puts objects, sixteen at a time.
    pub fn put_all(&self, objects: Vec<(String, Vec<u8>)>) {
        let store = self.store.clone();
        runtime().block_on(async move {
            futures_util::stream::iter(objects)
                .map(|(k, bytes)| {
                    let store = store.clone();
                    async move { store.put(&Key::from(k), PutPayload::from(bytes)).await }
                })
                .buffer_unordered(16)
                .try_collect::<Vec<_>>()
                .await
                .unwrap();
        });
    }

    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        self.put_all(vec![(key.to_string(), bytes)]);
    }

    /// Puts `events` as one object of JSON lines.
    pub fn put_events(&self, key: &str, events: &[crate::support::Event]) {
        self.put(key, crate::support::lines(events).into_bytes());
    }

    /// Uploads every file under `dir` as `prefix/<its path below dir>`.
    pub fn upload_tree(&self, dir: &Path, prefix: &str) {
        let objects = walkdir::WalkDir::new(dir)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                (format!("{prefix}/{rel}"), std::fs::read(e.path()).unwrap())
            })
            .collect();
        self.put_all(objects);
    }

    /// Every object under `prefix`, by key relative to it. (The whole bucket is listed:
    /// moto, when it checks signatures, miscomputes them for listings with a prefix.)
    pub fn download(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let store = self.store.clone();
        let under = format!("{prefix}/");
        runtime().block_on(async move {
            let metas: Vec<_> = store.list(None).try_collect().await.unwrap();
            let mut out = BTreeMap::new();
            for m in metas {
                let Some(rel) = m.location.as_ref().strip_prefix(&under) else {
                    continue;
                };
                let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
                out.insert(rel.to_string(), bytes.to_vec());
            }
            out
        })
    }

    pub fn delete_all(&self, prefix: &str) {
        let store = self.store.clone();
        let prefix = prefix.to_string();
        runtime().block_on(async move {
            let metas: Vec<_> = store
                .list(Some(&Key::from(prefix.as_str())))
                .try_collect()
                .await
                .unwrap();
            for m in metas {
                store.delete(&m.location).await.unwrap();
            }
        });
    }
}

/// A proxy in front of a server that answers the first `failures` connections with
/// `503 Slow Down` (as S3 does when throttling), then passes everything through.
pub struct Flaky {
    pub endpoint: String,
    pub refused: Arc<std::sync::atomic::AtomicUsize>,
}

impl Flaky {
    pub fn start(upstream: &Server, failures: usize) -> Flaky {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = refused.clone();
        let upstream = upstream.port();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                if count.load(Ordering::SeqCst) < failures {
                    // Read the request's head, then refuse it and close.
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap_or(0) == 1 {
                        head.push(byte[0]);
                    }
                    let _ = client.write_all(
                        b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    count.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut s2);
                    let _ = s2.shutdown(std::net::Shutdown::Write);
                });
                let (mut client, mut server) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Flaky { endpoint, refused }
    }
}

/// What a [`Faulty`] proxy does wrong.
#[derive(Clone, Copy)]
pub enum Fault {
    /// Every download of an object is cut off after this many bytes of the response.
    CutBodies(usize),
    /// Once a listing has been answered, the endpoint is gone: connections are refused.
    GoneAfterListing,
}

/// A proxy in front of a server that answers one request per connection and misbehaves
/// as its [`Fault`] says; `requests` counts what reached it.
pub struct Faulty {
    pub endpoint: String,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl Faulty {
    pub fn start(upstream: &Server, fault: Fault) -> Faulty {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = requests.clone();
        let upstream = upstream.port();
        let gone = Arc::new(AtomicBool::new(false));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if gone.load(Ordering::SeqCst) {
                    // Dropping the listener: from now on, connections are refused.
                    return;
                }
                let Ok(client) = client else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let gone = gone.clone();
                std::thread::spawn(move || {
                    let _ = proxy_one(client, upstream, fault, &gone);
                });
            }
        });
        Faulty { endpoint, requests }
    }
}

/// Passes one request to the upstream (asking it to close after it) and its response
/// back, as `fault` says.
fn proxy_one(
    mut client: TcpStream,
    upstream: u16,
    fault: Fault,
    gone: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let line = text.lines().next().unwrap_or_default().to_string();
    let listing =
        line.contains("list-type=") || line.contains("?prefix") || line.contains("&prefix");
    let download = line.starts_with("GET ") && !listing;
    if matches!(fault, Fault::GoneAfterListing) && gone.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let rewritten: String = text
        .split("\r\n")
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let rewritten =
        rewritten.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(rewritten.as_bytes())?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    match fault {
        Fault::CutBodies(after) if download => {
            client.write_all(&response[..after.min(response.len())])?;
        }
        _ => client.write_all(&response)?,
    }
    if matches!(fault, Fault::GoneAfterListing) && listing {
        gone.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    client.shutdown(std::net::Shutdown::Both)
}
