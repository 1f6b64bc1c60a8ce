//! `agent-audit serve SERVE.toml` (SPEC §11): the report behind the organisation's login.
//!
//! A thin shell over the library's [`Engine`]: every route that shows an agent's data is
//! one §7 decision with the authenticated login as requester (recorded with `"via":
//! "serve"`, the request id, the token's `iss` and `sub` and the client address), answered
//! from one engine (one generation, one store snapshot) taken at the request's start.
//!
//! - `config`: `SERVE.toml`, checked and located.
//! - `identity`: bearer JWTs against the issuer's JWKS.
//! - `api`: the routes and their answers.

mod api;
mod config;
mod identity;
mod pages;
mod reload;
mod session;
mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use agent_audit::engine::{Engine, Live};
use agent_audit::error::Error;

pub use config::ServeConfig;

/// What every request reads: the current engine, the verifier, the settings.
pub struct App {
    /// The engine requests are answered from; the reload thread publishes each new one.
    current: RwLock<Arc<Engine>>,
    verifier: identity::Verifier,
    config: ServeConfig,
    metrics: api::Metrics,
    requests: std::sync::atomic::AtomicU64,
    started: u64,
    /// `[limits] concurrent`: one permit per request being answered.
    slots: tokio::sync::Semaphore,
    /// The session cookies' key (derived from `[session] key_file`; a random one when
    /// there is no browser login, so that no cookie ever decrypts).
    session_key: axum_extra::extract::cookie::Key,
    used: session::Used,
    /// `[limits] per_identity_per_minute`, by login.
    rate: governor::DefaultKeyedRateLimiter<String>,
    /// Why the last change of the configuration was refused, while it stays refused.
    reload_error: std::sync::Mutex<Option<String>>,
}

impl App {
    /// The engine a request is answered from, whole: reloads after this call do not
    /// change what the request sees.
    fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Runs `serve` until SIGTERM or Ctrl-C; then finishes the requests in flight and exits 0.
pub fn run(file: &Path) -> Result<(), Error> {
    let config = ServeConfig::load(file).map_err(|e| Error::Config(vec![e]))?;
    let engine = Engine::open(config.config.as_deref(), &config.events)?;
    if !engine.generation().access.enforced() {
        return Err(Error::Usage(format!(
            "`{}`: the configuration defines no users, so every request would be allowed; `serve` never runs open: define the users and their profiles (docs/policies.md)",
            file.display()
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(serve(config, engine))
}

async fn serve(config: ServeConfig, engine: Engine) -> Result<(), Error> {
    let verifier = identity::Verifier::discover(&config.oidc)
        .await
        .map_err(|e| Error::Usage(format!("`[oidc]` of `{}`: {e}", config.file.display())))?;
    let listener = std::net::TcpListener::bind(config.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let secure = match &config.tls {
        None => None,
        Some(files) => Some((tls::load(files).await?, files.clone())),
    };
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let live = Live::new(engine);
    let app = Arc::new(App {
        current: RwLock::new(live.engine()),
        verifier,
        metrics: api::Metrics::new(),
        requests: std::sync::atomic::AtomicU64::new(0),
        started,
        slots: tokio::sync::Semaphore::new(config.limits.concurrent),
        rate: governor::RateLimiter::hashmap(governor::Quota::per_minute(
            std::num::NonZeroU32::new(config.limits.per_identity_per_minute)
                .unwrap_or(std::num::NonZeroU32::MIN),
        )),
        session_key: match &config.browser {
            Some(b) => axum_extra::extract::cookie::Key::derive_from(&b.key),
            None => axum_extra::extract::cookie::Key::generate(),
        },
        used: session::Used::default(),
        reload_error: std::sync::Mutex::new(None),
        config,
    });
    reload::spawn(Arc::clone(&app), live);
    let router = api::router(Arc::clone(&app));
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        stopped().await;
        // Stop accepting; the requests in flight get 10 s to finish.
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = match secure {
        Some((rustls, files)) => {
            tls::keep_current(rustls.clone(), files);
            eprintln!("serve: listening on https://{bound}");
            let mut server = axum_server::from_tcp_rustls(listener, rustls)
                .map_err(|e| Error::Usage(format!("cannot listen on {bound}: {e}")))?;
            bounded(server.http_builder());
            server.handle(handle).serve(service).await
        }
        None => {
            eprintln!("serve: listening on http://{bound}");
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| Error::Usage(format!("cannot listen on {bound}: {e}")))?;
            bounded(server.http_builder());
            server.handle(handle).serve(service).await
        }
    };
    served.map_err(|e| Error::Usage(format!("the server stopped: {e}")))?;
    eprintln!("serve: stopped");
    Ok(())
}

/// Bounds on what a connection may send before its request is read (SPEC §11 limits): the
/// header block's bytes and count (hyper answers 431 beyond them), and the time to send it
/// (a client that trickles its headers is cut off).
fn bounded(builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .max_buf_size(64 << 10)
        .max_headers(64);
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stopped() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
