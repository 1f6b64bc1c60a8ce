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
mod assets;
mod config;
mod demo;
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

/// What every request reads: the current engine, the current settings, the counters.
pub struct App {
    /// The engine requests are answered from; the reload thread publishes each new one.
    current: RwLock<Arc<Engine>>,
    /// What `SERVE.toml` says; replaced whole when the file changes.
    settings: RwLock<Arc<Settings>>,
    metrics: api::Metrics,
    requests: std::sync::atomic::AtomicU64,
    started: u64,
    used: session::Used,
    /// Why the last change of the configuration was refused, while it stays refused.
    reload_error: std::sync::Mutex<Option<String>>,
}

/// `SERVE.toml` and what is built from it. A request takes one `Settings` at its start,
/// as it takes one engine. Parts whose keys a change leaves alone are carried over (a
/// new rate limiter only for a new rate, a new discovery only for a new `[oidc]`).
pub struct Settings {
    pub config: ServeConfig,
    /// `None` in demo mode only.
    verifier: Option<Arc<identity::Verifier>>,
    /// `[limits] concurrent`: one permit per request being answered.
    slots: Arc<tokio::sync::Semaphore>,
    /// The session cookies' key (derived from `[session] key_file`; a random one when
    /// there is no browser login, so that no cookie ever decrypts).
    session_key: axum_extra::extract::cookie::Key,
    /// `[limits] per_identity_per_minute`, by login.
    rate: Arc<governor::DefaultKeyedRateLimiter<String>>,
}

impl Settings {
    /// Builds what `config` describes, keeping from `before` what it would build again
    /// the same.
    async fn new(config: ServeConfig, before: Option<&Settings>) -> Result<Settings, Error> {
        let verifier = match (before, &config.oidc) {
            (Some(b), _) if b.config.oidc == config.oidc => b.verifier.clone(),
            (_, None) => None,
            (_, Some(oidc)) => Some(Arc::new(identity::Verifier::discover(oidc).await.map_err(
                |e| Error::Usage(format!("`[oidc]` of `{}`: {e}", config.file.display())),
            )?)),
        };
        let slots = match before {
            Some(b) if b.config.limits.concurrent == config.limits.concurrent => {
                Arc::clone(&b.slots)
            }
            _ => Arc::new(tokio::sync::Semaphore::new(config.limits.concurrent)),
        };
        let rate = match before {
            Some(b)
                if b.config.limits.per_identity_per_minute
                    == config.limits.per_identity_per_minute =>
            {
                Arc::clone(&b.rate)
            }
            _ => Arc::new(governor::RateLimiter::hashmap(governor::Quota::per_minute(
                std::num::NonZeroU32::new(config.limits.per_identity_per_minute)
                    .unwrap_or(std::num::NonZeroU32::MIN),
            ))),
        };
        let session_key = match (before, &config.browser) {
            (Some(b), Some(browser))
                if b.config.browser.as_ref().map(|x| &x.key) == Some(&browser.key) =>
            {
                b.session_key.clone()
            }
            (_, Some(browser)) => axum_extra::extract::cookie::Key::derive_from(&browser.key),
            (_, None) => axum_extra::extract::cookie::Key::generate(),
        };
        Ok(Settings {
            config,
            verifier,
            slots,
            session_key,
            rate,
        })
    }
}

impl App {
    /// The engine a request is answered from, whole: reloads after this call do not
    /// change what the request sees.
    fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The settings a request is answered with, whole.
    fn settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What to serve: a `SERVE.toml`, or the examples in demo mode.
pub enum Serving<'a> {
    File(&'a Path),
    /// `serve --demo`, on this loopback address.
    Demo(SocketAddr),
}

/// Runs `serve` until SIGTERM or Ctrl-C; then finishes the requests in flight and exits 0.
pub fn run(serving: Serving<'_>) -> Result<(), Error> {
    let config = match serving {
        Serving::File(file) => ServeConfig::load(file).map_err(|e| Error::Config(vec![e]))?,
        Serving::Demo(listen) => ServeConfig::demo(listen).map_err(Error::Usage)?,
    };
    let engine = Engine::open(config.config.as_deref(), &config.events)?;
    if !engine.generation().access.enforced() {
        return Err(Error::Usage(format!(
            "`{}`: the configuration defines no users, so every request would be allowed; `serve` never runs open: define the users and their profiles (docs/policies.md)",
            config.file.display()
        )));
    }
    if config.demo {
        eprintln!(
            "serve: DEMO MODE: identities are not verified; anyone who can reach {} may sign in as any example user",
            config.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Every request's decision and report calls scripts.
        .thread_stack_size(agent_audit::script::THREAD_STACK)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(serve(config, engine))
}

async fn serve(config: ServeConfig, engine: Engine) -> Result<(), Error> {
    let listener = std::net::TcpListener::bind(config.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let secure = match &config.tls {
        None => None,
        Some(files) => Some(tls::load(files).await?),
    };
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let settings = Settings::new(config, None).await?;
    let live = Live::new(engine);
    let app = Arc::new(App {
        current: RwLock::new(live.engine()),
        settings: RwLock::new(Arc::new(settings)),
        metrics: api::Metrics::new(),
        requests: std::sync::atomic::AtomicU64::new(0),
        started,
        used: session::Used::default(),
        reload_error: std::sync::Mutex::new(None),
    });
    reload::spawn(Arc::clone(&app), live, tokio::runtime::Handle::current());
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
        Some(rustls) => {
            tls::keep_current(rustls.clone(), Arc::clone(&app));
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
