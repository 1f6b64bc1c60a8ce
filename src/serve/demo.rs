//! `serve --demo`'s built-in sign-in (SPEC §11): a page that lists the example users and
//! signs the browser in as the one chosen, verifying nothing (every page says so). Only
//! demo mode answers these routes; a server with a provider answers 404.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use maud::{DOCTYPE, html};
use serde::Deserialize;

use super::App;
use super::identity::Identity;
use super::session;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct Chosen {
    login: String,
    next: Option<String>,
}

/// The issuer a demo session records: no provider vouched for it.
const DEMO_ISSUER: &str = "agent-audit-demo (not verified)";

fn not_demo() -> Response {
    (StatusCode::NOT_FOUND, "no such route\n").into_response()
}

/// `GET /demo/sign-in`: the example users, one button each.
pub async fn page(State(app): State<Arc<App>>, Query(q): Query<Next>) -> Response {
    if !app.settings().config.demo {
        return not_demo();
    }
    let engine = app.engine();
    let users = &engine.generation().access.users;
    let next = session::local(q.next.as_deref());
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in (demo) · agent-audit" }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
            }
            body.aa {
                div.aa-demo role="note" {
                    strong { "Demo mode: identities are not verified." }
                    " Anyone who can reach this address may sign in as any example user."
                }
                main id="main" {
                    h1 { "Sign in as an example user" }
                    p.aa-lead { "Each user sees the agents their security profile allows (examples/policies/users.toml)." }
                    ul.aa-users {
                        @for u in users {
                            li {
                                form method="post" action="/demo/sign-in" {
                                    input type="hidden" name="login" value=(u.login);
                                    input type="hidden" name="next" value=(next);
                                    button type="submit" {
                                        (u.login)
                                        @if !u.profiles.is_empty() { " (" (u.profiles.join(", ")) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    body.into_response()
}

/// `POST /demo/sign-in`: a session for the chosen example user.
pub async fn sign_in(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(chosen): Form<Chosen>,
) -> Response {
    let settings = app.settings();
    let (true, Some(browser)) = (settings.config.demo, &settings.config.browser) else {
        return not_demo();
    };
    let engine = app.engine();
    let Some(user) = engine
        .generation()
        .access
        .users
        .iter()
        .find(|u| u.login == chosen.login)
    else {
        return (StatusCode::BAD_REQUEST, "not an example user\n").into_response();
    };
    let jar = PrivateCookieJar::from_headers(&headers, settings.session_key.clone());
    let identity = Identity {
        login: user.login.clone(),
        iss: DEMO_ISSUER.to_string(),
        sub: user.login.clone(),
    };
    session::begin(
        jar,
        browser,
        identity,
        chosen.next.as_deref().unwrap_or("/"),
    )
}
