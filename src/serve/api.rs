//! The routes of `serve` and their answers (SPEC §11). Handlers parse, authenticate, call
//! one library function on the request's engine and map its outcome to a status; they
//! hold no report or access logic of their own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use agent_audit::access::log::Asked;
use agent_audit::access::{DecidedBy, Decision};
use agent_audit::engine::{Engine, ReportQuery};
use agent_audit::error::Error;
use agent_audit::report::{Format, Kind};
use agent_audit::store::FindError;
use agent_audit::time::{parse_date, parse_instant, parse_timezone};
use axum::Router;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Deserialize;

use super::App;
use super::identity::Identity;

/// Every response: never cached, never sniffed, never framed, no script but our own.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/agents", get(agents))
        .route("/api/v1/report", get(report))
        .route("/api/v1/authorize", get(authorize))
        .route("/api/v1/explain", get(explain))
        .route("/", get(super::pages::form_page))
        .route(super::assets::CSS_PATH, get(super::assets::css))
        .route(super::assets::JS_PATH, get(super::assets::js))
        .route(
            "/demo/sign-in",
            get(super::demo::page).post(super::demo::sign_in),
        )
        .route("/report", get(super::pages::report))
        .route("/report.csv", get(super::pages::report))
        .route("/report.json", get(super::pages::report))
        .route("/explain", get(super::pages::explain))
        .route("/auth/login", get(super::session::login))
        .route("/auth/callback", get(super::session::callback))
        .route("/auth/logout", axum::routing::post(super::session::logout))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), measured))
        .with_state(app)
}

/// Why a request is not answered with data.
#[derive(Debug)]
pub enum Refusal {
    /// No token, or one that does not verify (the reason is logged, and said).
    Unauthorized(Option<String>),
    BadRequest {
        parameter: &'static str,
        message: String,
    },
    Forbidden {
        reason: String,
        rule: String,
    },
    NotFound(String),
    /// Over `[limits] per_identity_per_minute`.
    TooMany,
    Internal(String),
}

impl Refusal {
    /// The status and the words a page shows for this refusal.
    pub fn status_and_message(self) -> (StatusCode, String) {
        match self {
            Refusal::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why.unwrap_or_default()),
            Refusal::BadRequest { parameter, message } => {
                (StatusCode::BAD_REQUEST, format!("`{parameter}`: {message}"))
            }
            Refusal::Forbidden { reason, rule } => (
                StatusCode::FORBIDDEN,
                format!("{reason} (decided by {rule})"),
            ),
            Refusal::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Refusal::TooMany => (StatusCode::TOO_MANY_REQUESTS, TOO_MANY.into()),
            Refusal::Internal(message) => {
                eprintln!("serve: {message}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the request could not be answered; the server's log says why".into(),
                )
            }
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let json = |status: StatusCode, body: serde_json::Value| {
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        };
        match self {
            Refusal::Unauthorized(why) => {
                let challenge = match &why {
                    None => "Bearer realm=\"agent-audit\"".to_string(),
                    Some(why) => format!(
                        "Bearer realm=\"agent-audit\", error=\"invalid_token\", error_description=\"{}\"",
                        why.replace(['"', '\\', '\r', '\n'], " ")
                    ),
                };
                let mut response = json(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({
                        "error": "unauthorized",
                        "message": why.unwrap_or_else(|| "send `Authorization: Bearer <token>` from the identity provider".into()),
                    }),
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            Refusal::BadRequest { parameter, message } => json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "bad_request", "parameter": parameter, "message": message}),
            ),
            Refusal::Forbidden { reason, rule } => json(
                StatusCode::FORBIDDEN,
                serde_json::json!({"error": "forbidden", "reason": reason, "rule": rule}),
            ),
            Refusal::NotFound(message) => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "not_found", "message": message}),
            ),
            Refusal::TooMany => {
                let mut r = json(
                    StatusCode::TOO_MANY_REQUESTS,
                    serde_json::json!({"error": "too_many_requests", "message": TOO_MANY}),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
                r
            }
            Refusal::Internal(message) => {
                eprintln!("serve: {message}");
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"error": "internal", "message": "the request could not be answered; the server's log says why"}),
                )
            }
        }
    }
}

const TOO_MANY: &str =
    "more requests this minute than [limits] per_identity_per_minute allows for one login";

/// The requester of a request and what its decisions record of it.
pub struct Caller {
    pub identity: Identity,
    pub asked: Asked,
}

impl App {
    /// `[limits] per_identity_per_minute`: whether `login` may make one more request now.
    pub fn admit(&self, login: &str) -> Result<(), Refusal> {
        self.settings()
            .rate
            .check_key(&agent_audit::login::key(login))
            .map_err(|_| Refusal::TooMany)
    }

    /// What a decision made for this request records: `via: serve`, a request id, the
    /// identity's `iss` and `sub`, the client address. Never a token or a cookie.
    pub fn asked(&self, command: &str, iss: &str, sub: &str, client: SocketAddr) -> Asked {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        Asked {
            command: command.to_string(),
            via: Some("serve".to_string()),
            request_id: Some(format!("{:x}-{n}", self.started)),
            iss: Some(iss.to_string()),
            sub: Some(sub.to_string()),
            client: Some(client.ip().to_string()),
        }
    }
}

/// Authenticates a request's bearer token.
async fn caller(
    app: &App,
    headers: &HeaderMap,
    client: SocketAddr,
    command: &str,
) -> Result<Caller, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refusal::Unauthorized(None))?;
    let Some(verifier) = app.settings().verifier.clone() else {
        return Err(Refusal::Unauthorized(Some(
            "demo mode takes no bearer tokens: it verifies no identity".into(),
        )));
    };
    let identity = verifier.verify(token).await.map_err(|why| {
        eprintln!("serve: {client}: bearer token refused: {why}");
        Refusal::Unauthorized(Some(why))
    })?;
    app.admit(&identity.login)?;
    let asked = app.asked(command, &identity.iss, &identity.sub, client);
    Ok(Caller { identity, asked })
}

#[derive(Deserialize)]
pub struct DayQuery {
    agent: Option<String>,
    date: Option<String>,
    timezone: Option<String>,
    format: Option<String>,
    pub kind: Option<String>,
    at: Option<String>,
}

pub fn bad(parameter: &'static str, message: impl std::fmt::Display) -> Refusal {
    Refusal::BadRequest {
        parameter,
        message: message.to_string(),
    }
}

impl DayQuery {
    pub fn agent(&self) -> Result<&str, Refusal> {
        let agent = self.agent.as_deref().unwrap_or_default();
        if agent.is_empty() {
            return Err(bad("agent", "`agent` is required: a login or an agent ARN"));
        }
        if agent.len() > 512 || agent.chars().any(char::is_control) {
            return Err(bad("agent", "`agent` is not a login or an agent ARN"));
        }
        Ok(agent)
    }

    pub fn timezone(&self, app: &App) -> Result<chrono_tz::Tz, Refusal> {
        match &self.timezone {
            None => Ok(app.settings().config.timezone),
            Some(z) => parse_timezone(z).map_err(|e| bad("timezone", e)),
        }
    }

    pub fn date(&self) -> Result<chrono::NaiveDate, Refusal> {
        let date = self
            .date
            .as_deref()
            .ok_or_else(|| bad("date", "`date` is required (YYYY-MM-DD)"))?;
        parse_date(date).map_err(|e| bad("date", e))
    }
}

/// The answer to a denial. A restricted requester is told only their own rule and that
/// the agent is outside their access, the same words for an agent that does not exist:
/// never the agent's hierarchy. A policy's own reason is shown, as its authors wrote it.
fn forbidden(d: &Decision) -> Refusal {
    let reason = match d.by {
        DecidedBy::Policy => d.reason.clone(),
        DecidedBy::Users | DecidedBy::Off => {
            format!("`{}` on {} is not within your access", d.agent, d.date)
        }
    };
    Refusal::Forbidden {
        reason,
        rule: d.rule.clone(),
    }
}

/// An agent the events do not hold: decided on the users file like any other, so a
/// restricted requester gets the same 403 as for an agent outside their access; an
/// unrestricted one learns the closest logins.
pub fn unknown_agent(
    engine: &Engine,
    caller: &Caller,
    agent: &str,
    date: chrono::NaiveDate,
    timezone: chrono_tz::Tz,
    hint: &str,
) -> Refusal {
    match engine.decide(
        Some(&caller.identity.login),
        agent,
        date,
        timezone,
        &caller.asked,
    ) {
        Ok(d) if !d.allowed => forbidden(&d),
        Ok(d) if d.unrestricted => {
            Refusal::NotFound(format!("agent `{agent}` not found in the events{hint}"))
        }
        Ok(_) => Refusal::NotFound(format!("no events of `{agent}`")),
        Err(e) => refusal(e),
    }
}

pub fn refusal(e: Error) -> Refusal {
    match e {
        Error::Denied(d) => forbidden(&d),
        Error::Usage(m) => bad("query", m),
        other => Refusal::Internal(other.to_string()),
    }
}

/// Data responses say through which event time their data goes.
pub fn with_freshness(engine: &Engine, mut response: Response) -> Response {
    if let Some(at) = engine.events_through()
        && let Ok(v) = HeaderValue::from_str(&at.to_rfc3339())
    {
        response.headers_mut().insert("x-events-through", v);
    }
    if let Ok(v) = HeaderValue::from_str(engine.hash()) {
        response.headers_mut().insert("x-configuration", v);
    }
    response
}

/// The report `q` asks for in `format`, decided for `caller`: the engine it came from and
/// the bytes `report --as` would write.
pub fn reported(
    app: &App,
    caller: &Caller,
    q: &DayQuery,
    format: Format,
) -> Result<(Arc<Engine>, Vec<u8>), Refusal> {
    let agent = q.agent()?;
    let date = q.date()?;
    let timezone = q.timezone(app)?;
    let kind: Kind = q
        .kind
        .as_deref()
        .unwrap_or("audit")
        .parse()
        .map_err(|e: agent_audit::diagnostic::Unknown| bad("kind", e))?;
    let engine = app.engine();
    let query = ReportQuery {
        agent,
        date,
        timezone,
        kind,
        format,
    };
    let answer = match engine.report(Some(&caller.identity.login), &query, &caller.asked) {
        Ok(rendered) => Ok((Arc::clone(&engine), rendered.bytes)),
        Err(Error::Agent(FindError::NotFound { hint, .. })) => {
            Err(unknown_agent(&engine, caller, agent, date, timezone, &hint))
        }
        Err(e) => Err(refusal(e)),
    };
    app.metrics.decided(&answer);
    answer
}

/// The media type of a report format.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Json => "application/json",
        Format::Html => "text/html; charset=utf-8",
    }
}

async fn report(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Response, Refusal> {
    let caller = caller(&app, &headers, client, "report").await?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .map_err(|e: agent_audit::diagnostic::Unknown| bad("format", e))?;
    let (engine, bytes) = reported(&app, &caller, &q, format)?;
    let response = ([(header::CONTENT_TYPE, content_type(format))], bytes).into_response();
    Ok(with_freshness(&engine, response))
}

async fn authorize(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Response, Refusal> {
    let caller = caller(&app, &headers, client, "authorize").await?;
    let agent = q.agent()?;
    let date = q.date()?;
    let timezone = q.timezone(&app)?;
    let engine = app.engine();
    let d = engine
        .decide(
            Some(&caller.identity.login),
            agent,
            date,
            timezone,
            &caller.asked,
        )
        .map_err(refusal)?;
    app.metrics.decision(d.allowed);
    // The caller's own decision: the same words as a denial, so that asking tells no more
    // than trying.
    let (reason, rule) = if d.allowed {
        (d.reason.clone(), d.rule.clone())
    } else {
        match forbidden(&d) {
            Refusal::Forbidden { reason, rule } => (reason, rule),
            _ => (d.reason.clone(), d.rule.clone()),
        }
    };
    let body = serde_json::json!({
        "requester": caller.identity.login,
        "agent": agent,
        "date": date.to_string(),
        "timezone": timezone.name(),
        "allowed": d.allowed,
        "reason": reason,
        "rule": rule,
        "configuration": engine.hash(),
    });
    let response = (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    Ok(with_freshness(&engine, response))
}

async fn explain(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Response, Refusal> {
    let caller = caller(&app, &headers, client, "explain").await?;
    let (engine, explanation) = explained(&app, &caller, &q)?;
    let text = agent_audit::explain::to_json(&explanation)
        .map_err(|e| Refusal::Internal(format!("cannot write the explanation: {e}")))?;
    let response = ([(header::CONTENT_TYPE, "application/json")], text).into_response();
    Ok(with_freshness(&engine, response))
}

/// The explanation `q` asks for, decided for `caller`, and the engine it came from.
pub fn explained(
    app: &App,
    caller: &Caller,
    q: &DayQuery,
) -> Result<(Arc<Engine>, agent_audit::explain::Explanation), Refusal> {
    let agent = q.agent()?;
    let timezone = q.timezone(app)?;
    let at = q.at.as_deref().ok_or_else(|| {
        bad(
            "at",
            "`at` is required: an instant such as 2026-11-02T08:20:00",
        )
    })?;
    let (at, _) = parse_instant(at, timezone).map_err(|e| bad("at", e))?;
    let engine = app.engine();
    let date = at.in_zone(timezone).date_naive();
    let login = Some(caller.identity.login.as_str());
    let answer = match engine.explain(login, agent, at, timezone, &caller.asked) {
        Ok(e) => Ok((Arc::clone(&engine), e)),
        Err(Error::Agent(FindError::NotFound { hint, .. })) => {
            Err(unknown_agent(&engine, caller, agent, date, timezone, &hint))
        }
        Err(e) => Err(refusal(e)),
    };
    app.metrics.decided(&answer);
    answer
}

async fn agents(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Result<Response, Refusal> {
    let caller = caller(&app, &headers, client, "agents").await?;
    let timezone = q.timezone(&app)?;
    let date = match &q.date {
        Some(_) => q.date()?,
        None => chrono::Utc::now().with_timezone(&timezone).date_naive(),
    };
    let engine = app.engine();
    let list: Vec<serde_json::Value> = engine
        .agents_for(&caller.identity.login, date, timezone)
        .into_iter()
        .map(|a| serde_json::json!({"login": a.login, "name": a.name}))
        .collect();
    let body = serde_json::json!({"requester": caller.identity.login, "agents": list});
    let response = (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    Ok(with_freshness(&engine, response))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the events are loaded and a valid generation answers. A refused change keeps
/// the last good generation, and says so here (still ready: requests are answered); what
/// was wrong is in the server's log, not here for anyone to read.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let engine = app.engine();
    let refused = app
        .reload_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let body = serde_json::json!({
        "ready": true,
        "last_change_refused": refused.is_some(),
        "configuration": engine.hash(),
        "agents": engine.store().agents.len(),
        "events_through": engine.events_through().map(|t| t.to_rfc3339()),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match &app.settings().config.metrics_token {
        // With a token, the token is what counts, from any address (behind a proxy on
        // the same machine every caller is loopback).
        Some(token) => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
                .unwrap_or_default();
            if !same_secret(presented, token) {
                return Refusal::Unauthorized(Some(
                    "/metrics needs the token of `[metrics] token_file`".into(),
                ))
                .into_response();
            }
        }
        None if !client.ip().is_loopback() => {
            return Refusal::Forbidden {
                reason: "/metrics answers on a loopback address only (or with the token of `[metrics] token_file`)".into(),
                rule: "SPEC §11".into(),
            }
            .into_response();
        }
        None => {}
    }
    let engine = app.engine();
    app.metrics.store(&engine);
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &app.metrics.registry) {
        return Refusal::Internal(format!("cannot encode the metrics: {e}")).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Whether two secrets are equal, in a time that does not depend on where they differ:
/// their SHA-256 digests are compared by `subtle`.
fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let (a, b) = (
        sha2::Sha256::digest(presented),
        sha2::Sha256::digest(expected),
    );
    a.as_slice().ct_eq(b.as_slice()).into()
}

async fn not_found() -> Refusal {
    Refusal::NotFound("no such route".into())
}

/// Counts and times every request by route and status, and sets the headers every
/// response carries.
async fn measured(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = match request.uri().path() {
        p @ ("/healthz" | "/readyz" | "/metrics" | "/api/v1/agents" | "/api/v1/report"
        | "/api/v1/authorize" | "/api/v1/explain" | "/" | "/report" | "/report.csv"
        | "/report.json" | "/explain" | "/auth/login" | "/auth/callback" | "/auth/logout"
        | "/demo/sign-in" | "/assets/page.css" | "/assets/page.js") => p.to_string(),
        _ => "other".to_string(),
    };
    let started = Instant::now();
    // `[limits]`: requests beyond `concurrent` wait their turn for up to the request
    // time; a request that takes longer than `request_secs` is answered 503.
    let settings = app.settings();
    let limit = std::time::Duration::from_secs(settings.config.limits.request_secs);
    let answered = tokio::time::timeout(limit, async {
        let _permit = settings.slots.acquire().await;
        next.run(request).await
    })
    .await;
    let mut response = match answered {
        Ok(response) => response,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "the request took longer than [limits] request_secs allows\n",
        )
            .into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let labels = RouteLabels {
        route: route.clone(),
        status: response.status().as_u16().to_string(),
    };
    app.metrics.requests.get_or_create(&labels).inc();
    app.metrics
        .latency
        .get_or_create(&LatencyLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    decision: String,
}

/// What `/metrics` shows.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    agents: Gauge,
    events_through: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("agent_audit");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.0005, 2.0, 14,
            ))
        });
        let decisions = Family::<DecisionLabels, Counter>::default();
        let agents = Gauge::default();
        let events_through = Gauge::default();
        registry.register(
            "http_requests",
            "Requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        registry.register(
            "decisions",
            "Access decisions by outcome",
            decisions.clone(),
        );
        registry.register("store_agents", "Agents in the event store", agents.clone());
        registry.register(
            "events_through_seconds",
            "The latest event time in the store (Unix seconds)",
            events_through.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            decisions,
            agents,
            events_through,
        }
    }

    /// Counts the decision behind an answer: allowed when it holds data, denied when it
    /// is a 403 (a bad parameter, or an unknown agent shown to an unrestricted requester,
    /// is no denial).
    fn decided<T>(&self, answer: &Result<T, Refusal>) {
        match answer {
            Ok(_) => self.decision(true),
            Err(Refusal::Forbidden { .. }) => self.decision(false),
            Err(_) => {}
        }
    }

    fn decision(&self, allowed: bool) {
        let decision = if allowed { "allowed" } else { "denied" }.to_string();
        self.decisions
            .get_or_create(&DecisionLabels { decision })
            .inc();
    }

    fn store(&self, engine: &Engine) {
        self.agents
            .set(i64::try_from(engine.store().agents.len()).unwrap_or(i64::MAX));
        if let Some(at) = engine.events_through() {
            self.events_through.set(at.0.div_euclid(1000));
        }
    }
}
