//! `SERVE.toml` (SPEC §11): where to listen, which events and configuration to serve, and
//! who vouches for the requester. Relative paths are relative to the file's directory.
//! Unknown keys are errors, located like every configuration error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use agent_audit::diagnostic::Located;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: String,
    events: Vec<PathBuf>,
    config: Option<PathBuf>,
    #[serde(default = "utc")]
    timezone: String,
    /// Read by the browser login (SPEC §11), which is not in this build yet.
    #[serde(rename = "public_url")]
    _public_url: Option<String>,
    #[serde(default = "sixty")]
    refresh_secs: u64,
    tls: Option<Tls>,
    oidc: Option<RawOidc>,
    /// The browser session (SPEC §11), not in this build yet.
    #[serde(rename = "session")]
    _session: Option<toml::Value>,
    #[serde(default)]
    limits: Limits,
}

fn utc() -> String {
    "UTC".to_string()
}

fn sixty() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    #[serde(rename = "cert")]
    _cert: PathBuf,
    #[serde(rename = "key")]
    _key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    /// Read by the browser login, not in this build yet.
    #[serde(rename = "client_secret_file")]
    _client_secret_file: Option<PathBuf>,
    #[serde(default = "preferred_username")]
    login_claim: String,
    audiences: Option<Vec<String>>,
}

fn preferred_username() -> String {
    "preferred_username".to_string()
}

/// The bounds of `[limits]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A request's whole time.
    pub request_secs: u64,
    /// Requests answered at once; more wait, then are refused with 503.
    pub concurrent: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_secs: 30,
            concurrent: 256,
        }
    }
}

/// The identity provider of `[oidc]`.
#[derive(Clone, Debug)]
pub struct Oidc {
    /// As the provider writes it in its tokens' `iss`.
    pub issuer: String,
    pub login_claim: String,
    /// What a bearer token's `aud` must hold (one of them).
    pub audiences: Vec<String>,
}

/// A checked `SERVE.toml`.
#[derive(Debug)]
pub struct ServeConfig {
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub events: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub timezone: chrono_tz::Tz,
    pub refresh_secs: u64,
    pub oidc: Oidc,
    pub limits: Limits,
}

impl ServeConfig {
    /// Reads and checks `file`: every problem is located in it. `serve` never runs open:
    /// without an `[oidc]` table there is no identity, so the file is refused; a listen
    /// address other than loopback needs `[tls]`.
    pub fn load(file: &Path) -> Result<ServeConfig, Located> {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|e| Located::new(&name, 0, 0, format!("cannot read `{name}`: {e}")))?;
        let raw: Raw = toml::from_str(&text).map_err(|e| Located::from_toml(&name, &text, &e))?;
        let at = |key: &str, message: String| {
            let offset = text
                .find(&format!("{key} ="))
                .or_else(|| text.find(key))
                .unwrap_or(0);
            Located::at_offset(&name, &text, offset, message)
        };
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            at(
                "listen",
                format!(
                    "`listen = {:?}` is not an address and port such as \"127.0.0.1:8443\"",
                    raw.listen
                ),
            )
        })?;
        if raw.tls.is_some() {
            return Err(at(
                "[tls]",
                "`[tls]`: this build does not terminate TLS itself yet; listen on a loopback address behind a TLS proxy (docs/serving.md)".into(),
            ));
        }
        if !listen.ip().is_loopback() {
            return Err(at(
                "listen",
                format!(
                    "`listen = \"{listen}\"` is not a loopback address: tokens must never travel in clear, so serve on loopback behind a TLS proxy (docs/serving.md)"
                ),
            ));
        }
        let timezone = agent_audit::time::parse_timezone(&raw.timezone)
            .map_err(|e| at("timezone", format!("`timezone`: {e}")))?;
        if raw.events.is_empty() {
            return Err(at(
                "events",
                "`events` is empty: name the files, folders or s3:// prefixes to serve".into(),
            ));
        }
        let Some(oidc) = raw.oidc else {
            return Err(Located::new(
                &name,
                1,
                1,
                "no `[oidc]` table: `serve` takes the requester from the organisation's OpenID Connect provider and never runs without one (for a look at the page without one, `agent-audit serve --demo`)",
            ));
        };
        if !(oidc.issuer.starts_with("https://") || is_loopback_http(&oidc.issuer)) {
            return Err(at(
                "issuer",
                format!(
                    "`issuer = {:?}` must be an https:// URL (plain http only on a loopback address)",
                    oidc.issuer
                ),
            ));
        }
        if oidc.login_claim.is_empty() {
            return Err(at("login_claim", "`login_claim` is empty".into()));
        }
        let audiences = oidc
            .audiences
            .clone()
            .unwrap_or_else(|| vec![oidc.client_id.clone()]);
        if audiences.is_empty() {
            return Err(at(
                "audiences",
                "`audiences` is empty: a bearer token would match no audience".into(),
            ));
        }
        if raw.limits.concurrent == 0 || raw.limits.request_secs == 0 {
            return Err(at(
                "[limits]",
                "`[limits]`: `concurrent` and `request_secs` must be at least 1".into(),
            ));
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| {
            if p.is_absolute() || p.to_string_lossy().starts_with("s3://") {
                p
            } else {
                base.join(p)
            }
        };
        Ok(ServeConfig {
            file: file.to_path_buf(),
            listen,
            events: raw.events.into_iter().map(resolve).collect(),
            config: raw.config.map(resolve),
            timezone,
            refresh_secs: raw.refresh_secs.max(1),
            oidc: Oidc {
                issuer: oidc.issuer.trim_end_matches('/').to_string(),
                login_claim: oidc.login_claim,
                audiences,
            },
            limits: raw.limits,
        })
    }
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}
