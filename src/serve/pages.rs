//! The pages of `serve` for a signed-in browser (SPEC §11): the form, the report, its
//! downloads and `explain`. Plain for now — the page of the seed's flow is issue 21 — but
//! every one is decided for the session's login exactly as the API decides for a token's,
//! and rendered through maud, which escapes everything it is given.

use std::net::SocketAddr;
use std::sync::Arc;

use agent_audit::report::Format;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use maud::{DOCTYPE, Markup, html};

use super::App;
use super::api::{Caller, DayQuery, Refusal};
use super::identity::Identity;
use super::session;

/// The signed-in caller of a page, or the login to go through first.
fn signed_in(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    client: SocketAddr,
    command: &str,
) -> Result<(PrivateCookieJar, Caller), Box<Response>> {
    let settings = app.settings();
    let jar = PrivateCookieJar::from_headers(headers, settings.session_key.clone());
    let (jar, session) = session::current(app, &settings, jar);
    let Some(session) = session else {
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let to = url::form_urlencoded::Serializer::new(String::from("/auth/login?"))
            .append_pair("next", next)
            .finish();
        return Err(Box::new((jar, Redirect::to(&to)).into_response()));
    };
    if let Err(refusal) = app.admit(&session.login) {
        return Err(Box::new(
            (jar, refused(&session.login, refusal)).into_response(),
        ));
    }
    let asked = app.asked(command, &session.iss, &session.sub, client);
    let identity = Identity {
        login: session.login,
        iss: session.iss,
        sub: session.sub,
    };
    Ok((jar, Caller { identity, asked }))
}

fn page(title: &str, who: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " · agent-audit" } }
            body {
                header {
                    "Signed in as " strong { (who) }
                    form method="post" action="/auth/logout" { button type="submit" { "Sign out" } }
                }
                main { (body) }
            }
        }
    }
}

/// A refusal, as a page: the same status and words as the API's.
fn refused(who: &str, refusal: Refusal) -> Response {
    let (status, message) = refusal.status_and_message();
    (
        status,
        page(
            "Not shown",
            who,
            html! { h1 { (status.as_str()) } p { (message) } },
        ),
    )
        .into_response()
}

/// `GET /`: the form.
pub async fn form(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (jar, caller) = match signed_in(&app, &headers, &uri, client, "agents") {
        Ok(ok) => ok,
        Err(login) => return *login,
    };
    let tz = app.settings().config.timezone;
    let yesterday = chrono::Utc::now().with_timezone(&tz).date_naive() - chrono::Days::new(1);
    let engine = app.engine();
    let agents = engine.agents_for(&caller.identity.login, yesterday, tz);
    let body = html! {
        h1 { "Agent activity audit" }
        form method="get" action="/report" {
            label for="agent" { "Agent login" }
            select id="agent" name="agent" required {
                @for a in &agents { option value=(a.login) { (a.login) " — " (a.name) } }
            }
            label for="date" { "Date" }
            input id="date" name="date" type="date" value=(yesterday.to_string()) required;
            label for="timezone" { "Time zone" }
            input id="timezone" name="timezone" value=(tz.name()) required;
            label for="kind" { "Kind" }
            select id="kind" name="kind" { option value="audit" { "Timeline" } option value="summary" { "Summary" } }
            button type="submit" { "Generate Report" }
        }
        @if agents.is_empty() { p { "There is no agent whose day you may audit." } }
    };
    (jar, page("Report", &caller.identity.login, body)).into_response()
}

/// `GET /report`, `/report.csv`, `/report.json`: the report in the format the path names,
/// decided for the session's login; the files are the bytes `report --as` writes.
pub async fn report(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let format = match uri.path() {
        "/report.csv" => Format::Csv,
        "/report.json" => Format::Json,
        _ => Format::Html,
    };
    let (jar, caller) = match signed_in(&app, &headers, &uri, client, "report") {
        Ok(ok) => ok,
        Err(login) => return *login,
    };
    let who = caller.identity.login.clone();
    let (engine, bytes) = match super::api::reported(&app, &caller, &q, format) {
        Ok(ok) => ok,
        Err(refusal) => return (jar, refused(&who, refusal)).into_response(),
    };
    let mut response = (
        [(header::CONTENT_TYPE, super::api::content_type(format))],
        bytes,
    )
        .into_response();
    if format != Format::Html {
        // Checked by `reported`: an agent, a date, a zone.
        let agent = q.agent().unwrap_or_default();
        let zone = q
            .timezone(&app)
            .map(|z| z.name().replace('/', "-"))
            .unwrap_or_default();
        let date = q.date().map(|d| d.to_string()).unwrap_or_default();
        let ext = if format == Format::Csv { "csv" } else { "json" };
        let name = format!(
            "attachment; filename=\"{}_{date}_{zone}.{ext}\"",
            agent.replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.',
                "_"
            ),
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&name) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    (jar, super::api::with_freshness(&engine, response)).into_response()
}

/// `GET /explain`: the row covering an instant, as `explain` prints it.
pub async fn explain(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> Response {
    let (jar, caller) = match signed_in(&app, &headers, &uri, client, "explain") {
        Ok(ok) => ok,
        Err(login) => return *login,
    };
    let who = caller.identity.login.clone();
    match super::api::explained(&app, &caller, &q) {
        Ok((engine, explanation)) => {
            let text = agent_audit::explain::to_text(&explanation);
            let body = html! { h1 { "Explain" } pre { (text) } };
            (
                jar,
                super::api::with_freshness(
                    &engine,
                    (StatusCode::OK, page("Explain", &who, body)).into_response(),
                ),
            )
                .into_response()
        }
        Err(refusal) => (jar, refused(&who, refusal)).into_response(),
    }
}
