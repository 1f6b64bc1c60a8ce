//! The page's own style sheet and script, built into the binary and served from its own
//! origin (the CSP allows nothing else): `/assets/page.css`, `/assets/page.js`.

use axum::http::header;
use axum::response::IntoResponse;

pub const CSS_PATH: &str = "/assets/page.css";
pub const JS_PATH: &str = "/assets/page.js";

const CSS: &str = include_str!("assets/page.css");
const JS: &str = include_str!("assets/page.js");

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}
