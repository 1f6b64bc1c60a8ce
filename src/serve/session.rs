//! The browser login (SPEC §11): the authorization code flow with PKCE, `state` and
//! `nonce`, and the session cookie it ends in.
//!
//! `/auth/login` sends the browser to the provider with a fresh `state`, `nonce` and PKCE
//! verifier, kept in a short-lived encrypted cookie (`aa_login`, path `/auth`). The
//! provider sends it back to `/auth/callback` with a code: the state must match (and is
//! used once), the code is exchanged with the verifier and the client's secret, and the ID
//! token is verified by jsonwebtoken like a bearer token, with this client as audience and
//! this login's nonce. The session (`aa_session`) is a cookie encrypted and authenticated
//! with a key derived from `[session] key_file` (axum-extra's private jar): it holds the
//! login, `iss`, `sub`, when it was issued and when it was last seen, and is refused after
//! `idle_minutes` without a request or `max_hours` in all. A cookie that does not decrypt
//! is no session: a new login.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::config::Browser;
use super::identity::{Identity, Verifier};
use super::{App, Settings};

const LOGIN: &str = "aa_login";
const SESSION: &str = "aa_session";
/// Set by a sign-out: the next login asks the provider to authenticate again
/// (`prompt=login`) instead of letting its own session bring the same person straight back,
/// so a browser's back button after signing out lands on the provider's form, not on data.
const SIGNED_OUT: &str = "aa_signed_out";
/// How long a login may take at the provider.
const LOGIN_TTL: Duration = Duration::from_secs(600);

/// What the login cookie holds while the browser is at the provider.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    at: u64,
}

/// What the session cookie holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random: what a logout revokes.
    id: String,
    pub login: String,
    pub iss: String,
    pub sub: String,
    issued: u64,
    seen: u64,
}

/// States of logins answered already (a state is used once), and sessions ended by a
/// logout (a copy of the cookie is no session either), each with when.
#[derive(Default)]
pub struct Used {
    states: Mutex<HashMap<String, u64>>,
    ended: Mutex<HashMap<String, u64>>,
}

impl Used {
    fn first_use(&self, state: &str) -> bool {
        let now = now();
        let mut used = self.states.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, at| now.saturating_sub(*at) < LOGIN_TTL.as_secs());
        used.insert(state.to_string(), now).is_none()
    }

    fn end(&self, session: &str, max: Duration) {
        let now = now();
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.retain(|_, at| now.saturating_sub(*at) < max.as_secs());
        ended.insert(session.to_string(), now);
    }

    fn ended(&self, session: &str) -> bool {
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.contains_key(session)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// 32 random bytes, base64url: states, nonces and PKCE verifiers.
fn random() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn cookie<'c>(browser: &Browser, name: &'c str, value: String, path: &'c str) -> Cookie<'c> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(browser.secure());
    c.set_path(path);
    c
}

fn page_error(status: StatusCode, message: &str) -> Response {
    let body = maud::html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "agent-audit: sign-in" } }
          body { h1 { "Sign-in did not complete" } p { (message) } p { a href="/auth/login" { "Sign in again" } } } }
    };
    (status, body).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only a path of this site: never `//host` or a scheme, so a login cannot be made to
/// send anyone elsewhere.
pub fn local(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and line breaks from URLs (`/\t/evil` is `//evil`): none
        // is let through.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `GET /auth/login`: to the provider.
pub async fn login(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let settings = app.settings();
    let jar = PrivateCookieJar::from_headers(&headers, settings.session_key.clone());
    let Some(browser) = &settings.config.browser else {
        return not_configured();
    };
    let Some(provider) = &settings.verifier else {
        // Demo mode: the built-in sign-in instead of a provider.
        let to = url::form_urlencoded::Serializer::for_suffix(String::from("/demo/sign-in?"), 14)
            .append_pair("next", &local(q.next.as_deref()))
            .finish();
        return (jar, Redirect::to(&to)).into_response();
    };
    let (Ok(state), Ok(nonce), Ok(verifier)) = (random(), random(), random()) else {
        return page_error(StatusCode::SERVICE_UNAVAILABLE, "no randomness for a login");
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = browser.redirect_uri();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", browser.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if jar.get(SIGNED_OUT).is_some() {
        params.push(("prompt", "login"));
    }
    let Ok(url) = url::Url::parse_with_params(&provider.authorization_endpoint, &params) else {
        return page_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the provider's authorization endpoint is not a URL",
        );
    };
    let pending = Pending {
        state,
        nonce,
        verifier,
        next: local(q.next.as_deref()),
        at: now(),
    };
    let Ok(value) = serde_json::to_string(&pending) else {
        return page_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot start a login");
    };
    let jar = jar.add(cookie(browser, LOGIN, value, "/auth"));
    (jar, Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Tokens {
    id_token: String,
}

/// `GET /auth/callback`: back from the provider.
pub async fn callback(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let settings = app.settings();
    let jar = PrivateCookieJar::from_headers(&headers, settings.session_key.clone());
    let Some(browser) = &settings.config.browser else {
        return not_configured();
    };
    let pending: Option<Pending> = jar
        .get(LOGIN)
        .and_then(|c| serde_json::from_str(c.value()).ok());
    let jar = jar.remove(Cookie::build(LOGIN).path("/auth"));
    let Some(pending) = pending.filter(|p| now().saturating_sub(p.at) < LOGIN_TTL.as_secs()) else {
        return (
            jar,
            page_error(
                StatusCode::BAD_REQUEST,
                "this login was not started here, or took too long",
            ),
        )
            .into_response();
    };
    if q.state.as_deref() != Some(pending.state.as_str()) || !app.used.first_use(&pending.state) {
        return (
            jar,
            page_error(StatusCode::BAD_REQUEST, "the login's state does not match"),
        )
            .into_response();
    }
    if let Some(error) = q.error {
        let said = q.error_description.unwrap_or_default();
        return (
            jar,
            page_error(
                StatusCode::UNAUTHORIZED,
                &format!("the identity provider refused: {error} {said}"),
            ),
        )
            .into_response();
    }
    let Some(code) = q.code else {
        return (
            jar,
            page_error(StatusCode::BAD_REQUEST, "the provider sent no code"),
        )
            .into_response();
    };
    let Some(provider) = &settings.verifier else {
        return (
            jar,
            page_error(
                StatusCode::NOT_FOUND,
                "demo mode has no provider to come back from",
            ),
        )
            .into_response();
    };
    let identity = match exchange(provider, browser, &code, &pending).await {
        Ok(identity) => identity,
        Err(why) => {
            eprintln!("serve: browser login refused: {why}");
            return (jar, page_error(StatusCode::UNAUTHORIZED, &why)).into_response();
        }
    };
    begin(jar, browser, identity, &pending.next)
}

/// A new session for `identity`, and the browser sent on to `next` (a local path).
pub fn begin(jar: PrivateCookieJar, browser: &Browser, identity: Identity, next: &str) -> Response {
    let at = now();
    let Ok(id) = random() else {
        return page_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no randomness for a session",
        );
    };
    let session = Session {
        id,
        login: identity.login,
        iss: identity.iss,
        sub: identity.sub,
        issued: at,
        seen: at,
    };
    let Ok(value) = serde_json::to_string(&session) else {
        return page_error(StatusCode::INTERNAL_SERVER_ERROR, "cannot open a session");
    };
    let jar = jar
        .add(cookie(browser, SESSION, value, "/"))
        .remove(Cookie::build(SIGNED_OUT).path("/auth"));
    (jar, Redirect::to(&local(Some(next)))).into_response()
}

/// The code, exchanged for tokens; the ID token's identity.
async fn exchange(
    provider: &Verifier,
    browser: &Browser,
    code: &str,
    pending: &Pending,
) -> Result<Identity, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &browser.redirect_uri())
        .append_pair("code_verifier", &pending.verifier)
        .finish();
    let response = provider
        .client
        .post(&provider.token_endpoint)
        .basic_auth(&browser.client_id, Some(&browser.client_secret))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the token endpoint: {e}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("the token endpoint: {e}"))?;
    if !status.is_success() {
        return Err(format!("the provider refused the code ({status})"));
    }
    let tokens: Tokens =
        serde_json::from_slice(&bytes).map_err(|_| "the provider sent no ID token".to_string())?;
    provider
        .verify_id_token(&tokens.id_token, &browser.client_id, &pending.nonce)
        .await
}

/// The session of a request, refreshed (its last-seen time), or `None`: no cookie, one
/// that does not decrypt (tampered, another key), or one past its idle or absolute time.
pub fn current(
    app: &App,
    settings: &Settings,
    jar: PrivateCookieJar,
) -> (PrivateCookieJar, Option<Session>) {
    let Some(browser) = &settings.config.browser else {
        return (jar, None);
    };
    let session: Option<Session> = jar
        .get(SESSION)
        .and_then(|c| serde_json::from_str(c.value()).ok());
    let at = now();
    let Some(mut session) = session.filter(|s| {
        at.saturating_sub(s.issued) < browser.max.as_secs()
            && at.saturating_sub(s.seen) < browser.idle.as_secs()
            && !app.used.ended(&s.id)
    }) else {
        return (jar.remove(Cookie::build(SESSION).path("/")), None);
    };
    session.seen = at;
    match serde_json::to_string(&session) {
        Ok(value) => (jar.add(cookie(browser, SESSION, value, "/")), Some(session)),
        Err(_) => (jar, None),
    }
}

/// `POST /auth/logout`: the session ends here (the cookie is removed).
pub async fn logout(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> Response {
    let settings = app.settings();
    let jar = PrivateCookieJar::from_headers(&headers, settings.session_key.clone());
    let Some(browser) = &settings.config.browser else {
        return not_configured();
    };
    if let Some(session) = jar
        .get(SESSION)
        .and_then(|c| serde_json::from_str::<Session>(c.value()).ok())
    {
        app.used.end(&session.id, browser.max);
    }
    // Until the browser closes or the next sign-in completes.
    let marker = cookie(browser, SIGNED_OUT, "1".into(), "/auth");
    let jar = jar.remove(Cookie::build(SESSION).path("/")).add(marker);
    let body = maud::html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "agent-audit: signed out" } }
          body { h1 { "Signed out" }
            p { "Your session has ended. The next sign-in asks the identity provider for your credentials again." }
            p { a href="/auth/login" { "Sign in again" } } } }
    };
    (jar, body).into_response()
}

fn not_configured() -> Response {
    page_error(
        StatusCode::NOT_FOUND,
        "the browser login is not configured: add `[session]` and `client_secret_file` to SERVE.toml (docs/serving.md)",
    )
}
