//! The pages of `serve` for a signed-in browser (SPEC §11): the form, the report, its
//! downloads and `explain`. Every one is decided for the session's login exactly as the API
//! decides for a token's, and rendered through maud, which escapes everything it is given
//! (the report's own HTML, escaped by the library, is the one thing passed through).

use std::net::SocketAddr;
use std::sync::Arc;

use agent_audit::engine::Engine;
use agent_audit::report::Format;
use agent_audit::report::html::Embedded;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use maud::{DOCTYPE, Markup, PreEscaped, html};

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
        let to = url::form_urlencoded::Serializer::for_suffix(String::from("/auth/login?"), 12)
            .append_pair("next", next)
            .finish();
        return Err(Box::new((jar, Redirect::to(&to)).into_response()));
    };
    if let Err(refusal) = app.admit(&session.login) {
        return Err(Box::new(
            (jar, refused(app, &session.login, refusal)).into_response(),
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

/// What every page's header says: who is signed in, how fresh the data is, which
/// configuration answers, and the banners (demo mode; a refused reload, to requesters who
/// may audit everyone).
struct Chrome {
    who: String,
    demo: bool,
    through: Option<String>,
    generation: String,
    refused: bool,
}

fn chrome(app: &App, engine: &Engine, login: &str) -> Chrome {
    let refused = app
        .reload_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some();
    Chrome {
        who: login.to_string(),
        demo: app.settings().config.demo,
        through: engine.events_through().map(|t| {
            t.in_zone(chrono_tz::UTC)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        }),
        generation: engine.hash().chars().take(12).collect(),
        refused: refused && engine.generation().access.unrestricted(login),
    }
}

fn page(title: &str, c: &Chrome, report_css: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · agent-audit" }
                @if let Some(css) = report_css { style { (PreEscaped(css)) } }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                script src=(super::assets::JS_PATH) defer {}
            }
            body.aa {
                a.aa-skip href="#main" { "Skip to the content" }
                @if c.demo {
                    div.aa-demo role="note" {
                        strong { "Demo mode: identities are not verified." }
                        " Anyone who can reach this address may sign in as any example user."
                    }
                }
                @if c.refused {
                    div.aa-alert role="alert" {
                        strong { "The last configuration change was refused." }
                        " The previous generation is answering; the server's log says why."
                    }
                }
                header.aa-bar {
                    a.aa-brand href="/" { "Agent activity audit" }
                    span.aa-fresh {
                        @match &c.through {
                            Some(t) => { "Events through " (t) }
                            None => { "No events loaded" }
                        }
                        " · configuration " code { (c.generation) }
                    }
                    span.aa-who { "Signed in as " strong { (c.who) } }
                    form.aa-out method="post" action="/auth/logout" { button type="submit" { "Sign out" } }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

/// A refusal, as a page: the same status and words as the API's (the reason and the
/// deciding rule), and no data.
fn refused(app: &App, who: &str, refusal: Refusal) -> Response {
    let (status, message) = refusal.status_and_message();
    let engine = app.engine();
    let c = chrome(app, &engine, who);
    let heading = match status {
        StatusCode::FORBIDDEN => "Not within your access",
        StatusCode::BAD_REQUEST => "The request is not complete",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        _ => "Not shown",
    };
    (
        status,
        page(
            heading,
            &c,
            None,
            html! {
                h1 { (heading) }
                p.aa-reason { (message) }
                p { a href="/" { "Back to the form" } }
            },
        ),
    )
        .into_response()
}

/// What the form was last asked for (the defaults on `/`).
struct Choice {
    agent: String,
    date: chrono::NaiveDate,
    zone: chrono_tz::Tz,
    summary: bool,
}

/// The seed's form: agent (only those the requester may audit), date, zone, kind, and
/// Generate Report. Plain HTML: the whole flow works without JavaScript; the script only
/// adds a filter above the agents and day-by-day keys.
fn form(agents: &[agent_audit::engine::AgentEntry], chosen: &Choice) -> Markup {
    html! {
        form.aa-form method="get" action="/report" {
            div.aa-field {
                label for="agent" { "Agent" }
                input.aa-filter id="agent-filter" type="search" hidden
                    placeholder="Filter by login or name" aria-label="Filter the agents by login or name" aria-controls="agent";
                select id="agent" name="agent" required {
                    @for a in agents {
                        option value=(a.login) selected[a.login == chosen.agent] {
                            (a.login) @if !a.name.is_empty() { " — " (a.name) }
                        }
                    }
                }
            }
            div.aa-field {
                label for="date" { "Date" }
                input id="date" name="date" type="date" value=(chosen.date.to_string()) required;
            }
            div.aa-field {
                label for="timezone" { "Time zone" }
                input id="timezone" name="timezone" list="zones" value=(chosen.zone.name())
                    required autocomplete="off" spellcheck="false";
                datalist id="zones" {
                    // Canonical names only: no abbreviation (`EST`), no legacy link (`US/Eastern`).
                    @for z in chrono_tz::TZ_VARIANTS.iter().filter(|z| {
                        agent_audit::time::canonical_zone(**z).is_none()
                            && agent_audit::time::parse_timezone(z.name()).is_ok()
                    }) {
                        option value=(z.name()) {}
                    }
                }
            }
            div.aa-field {
                label for="kind" { "Report" }
                select id="kind" name="kind" {
                    option value="audit" selected[!chosen.summary] { "Timeline and rows" }
                    option value="summary" selected[chosen.summary] { "Summary" }
                }
            }
            button.aa-go type="submit" { "Generate Report" }
        }
    }
}

/// `GET /`: the form.
pub async fn form_page(
    State(app): State<Arc<App>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (jar, caller) = match signed_in(&app, &headers, &uri, client, "agents") {
        Ok(ok) => ok,
        Err(login) => return *login,
    };
    let settings = app.settings();
    let zone = settings.config.timezone;
    let engine = app.engine();
    // Yesterday in the zone; in demo mode the examples' last day, since they are old.
    let yesterday = match (settings.config.demo, engine.events_through()) {
        (true, Some(last)) => last.in_zone(zone).date_naive(),
        _ => chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1),
    };
    let agents = engine.agents_for(&caller.identity.login, yesterday, zone);
    let chosen = Choice {
        agent: String::new(),
        date: yesterday,
        zone,
        summary: false,
    };
    let c = chrome(&app, &engine, &caller.identity.login);
    let body = html! {
        h1 { "Agent activity audit" }
        p.aa-lead { "Choose the agent, the date and the time zone, then Generate Report." }
        @if agents.is_empty() {
            p.aa-empty { "There is no agent whose activity you may audit." }
        } @else {
            (form(&agents, &chosen))
        }
    };
    (jar, page("Report", &c, None, body)).into_response()
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
        Err(refusal) => return (jar, refused(&app, &who, refusal)).into_response(),
    };
    if format == Format::Html {
        let response = report_page(&app, &engine, &caller, &q, &bytes);
        return (jar, super::api::with_freshness(&engine, response)).into_response();
    }
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
            let back = match (q.agent(), q.date(), q.timezone(&app)) {
                (Ok(agent), Ok(date), Ok(zone)) => Some(
                    url::form_urlencoded::Serializer::for_suffix(String::from("/report?"), 8)
                        .append_pair("agent", agent)
                        .append_pair("date", &date.to_string())
                        .append_pair("timezone", zone.name())
                        .finish(),
                ),
                _ => None,
            };
            let body = html! {
                h1 { "Explain" }
                @if let Some(back) = back { p { a href=(back) { "← Back to the report" } } }
                pre.aa-explain tabindex="0" { (text) }
            };
            let c = chrome(&app, &engine, &who);
            (
                jar,
                super::api::with_freshness(
                    &engine,
                    (StatusCode::OK, page("Explain", &c, None, body)).into_response(),
                ),
            )
                .into_response()
        }
        Err(refusal) => (jar, refused(&app, &who, refusal)).into_response(),
    }
}

/// Explain an instant of the day, as a plain form (the page's script also opens it from a
/// click on a timeline block). The local time is read in the report's zone.
fn explain_form(agent: &str, date: chrono::NaiveDate, zone: chrono_tz::Tz) -> Markup {
    let next = date + chrono::Days::new(1);
    html! {
        form.aa-explain-form method="get" action="/explain" {
            input type="hidden" name="agent" value=(agent);
            input type="hidden" name="timezone" value=(zone.name());
            input type="hidden" name="date" value=(date.to_string());
            label for="at" { "Explain an instant (" (zone.name()) ")" }
            input id="at" name="at" type="datetime-local" step="1" required
                value=(format!("{date}T12:00:00")) min=(format!("{date}T00:00:00"))
                max=(format!("{next}T00:00:00"));
            button type="submit" { "Explain" }
            span.aa-hint { "or click a block of the timeline" }
        }
    }
}

/// The §5 HTML report inside the page: the form as it was asked, the downloads (the bytes
/// `report --as` writes), the days before and after, then the report itself.
fn report_page(app: &App, engine: &Engine, caller: &Caller, q: &DayQuery, html: &[u8]) -> Response {
    // `reported` checked the agent, date and zone already.
    let (Ok(agent), Ok(date), Ok(zone)) = (q.agent(), q.date(), q.timezone(app)) else {
        return Refusal::Internal("a checked request no longer parses".into()).into_response();
    };
    let summary = q.kind.as_deref() == Some("summary");
    let link = |path: &str, day: chrono::NaiveDate| {
        let start = format!("{path}?");
        let mut query = url::form_urlencoded::Serializer::for_suffix(start.clone(), start.len());
        query
            .append_pair("agent", agent)
            .append_pair("date", &day.to_string())
            .append_pair("timezone", zone.name());
        if summary {
            query.append_pair("kind", "summary");
        }
        query.finish()
    };
    let Some(embedded) = std::str::from_utf8(html).ok().and_then(Embedded::of) else {
        return Refusal::Internal("the HTML report has no body".into()).into_response();
    };
    let login = &caller.identity.login;
    let agents = engine.agents_for(login, date, zone);
    let chosen = Choice {
        agent: agent.to_string(),
        date,
        zone,
        summary,
    };
    let c = chrome(app, engine, login);
    // Where the timeline's 0% is, for the script that turns a click on a block into the
    // instant under the pointer.
    let day_start = agent_audit::time::Window::local_day(date, zone).map(|w| w.start.0);
    let body = html! {
        (form(&agents, &chosen))
        nav.aa-actions aria-label="This report" {
            a.aa-download href=(link("/report.csv", date)) download { "Download CSV" }
            a.aa-download href=(link("/report.json", date)) download { "Download JSON" }
            a.aa-day href=(link("/report", date - chrono::Days::new(1))) rel="prev" data-key="ArrowLeft" { "← Previous day" }
            a.aa-day href=(link("/report", date + chrono::Days::new(1))) rel="next" data-key="ArrowRight" { "Next day →" }
        }
        @if !summary {
            (explain_form(agent, date, zone))
        }
        div.aa-report.page data-agent=(agent) data-timezone=(zone.name()) data-date=(date.to_string())
            data-day-start=[day_start] {
            (PreEscaped(embedded.body))
        }
    };
    let title = format!("{agent} · {date} · {}", zone.name());
    (StatusCode::OK, page(&title, &c, Some(embedded.css), body)).into_response()
}
