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
    public_url: Option<String>,
    #[serde(default = "sixty")]
    refresh_secs: u64,
    tls: Option<Tls>,
    oidc: Option<RawOidc>,
    session: Option<RawSession>,
    #[serde(default)]
    limits: Limits,
    metrics: Option<RawMetrics>,
}

/// `[metrics]`: with a token file, `/metrics` answers any address that presents the token
/// (`Authorization: Bearer`), and only those; without one, loopback callers only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    token_file: PathBuf,
}

fn utc() -> String {
    "UTC".to_string()
}

fn sixty() -> u64 {
    60
}

/// `[tls]`: the certificate chain and key, PEM; both are reloaded when they change.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    client_secret_file: Option<PathBuf>,
    #[serde(default = "preferred_username")]
    login_claim: String,
    audiences: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    key_file: PathBuf,
    #[serde(default = "thirty")]
    idle_minutes: u64,
    #[serde(default = "twelve")]
    max_hours: u64,
}

fn thirty() -> u64 {
    30
}

fn twelve() -> u64 {
    12
}

/// The browser login (`[session]` and the client's secret): the code flow and the
/// session cookie.
#[derive(Clone, Debug, PartialEq)]
pub struct Browser {
    /// How browsers reach the server; the login returns to `public_url/auth/callback`.
    pub public_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// At least 32 bytes: the session cookie's key is derived from it.
    pub key: Vec<u8>,
    pub idle: std::time::Duration,
    pub max: std::time::Duration,
}

impl Browser {
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// Cookies are `Secure` whenever browsers reach the server over https.
    pub fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn preferred_username() -> String {
    "preferred_username".to_string()
}

/// The bounds of `[limits]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A request's whole time.
    pub request_secs: u64,
    /// Requests answered at once; more wait, then are refused with 503.
    pub concurrent: usize,
    /// Requests per minute of one identity (a login); more are answered 429.
    pub per_identity_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_secs: 30,
            concurrent: 256,
            per_identity_per_minute: 600,
        }
    }
}

/// The identity provider of `[oidc]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Oidc {
    /// As the provider writes it in its tokens' `iss`.
    pub issuer: String,
    pub login_claim: String,
    /// What a bearer token's `aud` must hold (one of them).
    pub audiences: Vec<String>,
}

/// A checked `SERVE.toml`.
#[derive(Debug, PartialEq)]
pub struct ServeConfig {
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub events: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub timezone: chrono_tz::Tz,
    pub refresh_secs: u64,
    pub tls: Option<Tls>,
    /// `None` only in demo mode (`serve --demo`), which verifies no one.
    pub oidc: Option<Oidc>,
    /// `serve --demo`: the built-in sign-in, a banner on every page, no bearer tokens.
    pub demo: bool,
    pub limits: Limits,
    /// `None`: no `[session]`, only the API (bearer tokens) is served.
    pub browser: Option<Browser>,
    /// `[metrics] token_file`'s token (at least 16 bytes, surrounding whitespace trimmed).
    pub metrics_token: Option<Vec<u8>>,
    /// The files read besides `SERVE.toml` (secret, session key, metrics token): a change
    /// to any of them is a change of the settings.
    pub read: Vec<PathBuf>,
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
        if !listen.ip().is_loopback() && raw.tls.is_none() {
            return Err(at(
                "listen",
                format!(
                    "`listen = \"{listen}\"` is not a loopback address: beyond this machine, tokens and sessions travel only over TLS, so add a `[tls]` table (cert, key) or listen on loopback behind a TLS proxy (docs/serving.md)"
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
        if raw.limits.concurrent == 0
            || raw.limits.request_secs == 0
            || raw.limits.per_identity_per_minute == 0
        {
            return Err(at(
                "[limits]",
                "`[limits]`: `concurrent`, `request_secs` and `per_identity_per_minute` must be at least 1".into(),
            ));
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let mut read = Vec::new();
        if let Some(session) = &raw.session {
            read.extend(oidc.client_secret_file.as_ref().map(|f| base.join(f)));
            read.push(base.join(&session.key_file));
        }
        read.extend(raw.metrics.as_ref().map(|m| base.join(&m.token_file)));
        let browser = match raw.session {
            None => None,
            Some(session) => {
                let read = |key: &str, path: &Path| {
                    std::fs::read(base.join(path)).map_err(|e| {
                        at(
                            key,
                            format!("`{key}`: cannot read `{}`: {e}", path.display()),
                        )
                    })
                };
                let secret_file = oidc.client_secret_file.as_deref().ok_or_else(|| {
                    at(
                        "client_id",
                        "the browser login (`[session]`) needs `client_secret_file` in `[oidc]`: the code is exchanged as a confidential client".into(),
                    )
                })?;
                let secret = String::from_utf8(read("client_secret_file", secret_file)?)
                    .map_err(|_| {
                        at(
                            "client_secret_file",
                            "`client_secret_file` is not text".into(),
                        )
                    })?
                    .trim()
                    .to_string();
                if secret.is_empty() {
                    return Err(at(
                        "client_secret_file",
                        "`client_secret_file` is empty".into(),
                    ));
                }
                let key = read("key_file", &session.key_file)?;
                if key.len() < 32 {
                    return Err(at(
                        "key_file",
                        format!(
                            "`key_file` holds {} byte(s): a session key needs at least 32 random bytes (`head -c 64 /dev/urandom > session.key`)",
                            key.len()
                        ),
                    ));
                }
                if session.idle_minutes == 0 || session.max_hours == 0 {
                    return Err(at(
                        "idle_minutes",
                        "`idle_minutes` and `max_hours` must be at least 1".into(),
                    ));
                }
                let public_url = raw
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{listen}"))
                    .trim_end_matches('/')
                    .to_string();
                if !(public_url.starts_with("https://") || is_loopback_http(&public_url)) {
                    return Err(at(
                        "public_url",
                        format!(
                            "`public_url = {public_url:?}` must be https:// (plain http only on loopback)"
                        ),
                    ));
                }
                Some(Browser {
                    public_url,
                    client_id: oidc.client_id.clone(),
                    client_secret: secret,
                    key,
                    idle: std::time::Duration::from_secs(session.idle_minutes * 60),
                    max: std::time::Duration::from_secs(session.max_hours * 3600),
                })
            }
        };
        let metrics_token = match &raw.metrics {
            None => None,
            Some(m) => {
                let bytes = std::fs::read(base.join(&m.token_file)).map_err(|e| {
                    at(
                        "token_file",
                        format!(
                            "`token_file`: cannot read `{}`: {e}",
                            m.token_file.display()
                        ),
                    )
                })?;
                let token = bytes.trim_ascii().to_vec();
                if token.len() < 16 {
                    return Err(at(
                        "token_file",
                        format!(
                            "`token_file` holds a token of {} byte(s): a metrics token needs at least 16 (`head -c 32 /dev/urandom | base64 > metrics.token`)",
                            token.len()
                        ),
                    ));
                }
                Some(token)
            }
        };
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
            tls: raw.tls.map(|t| Tls {
                cert: resolve(t.cert),
                key: resolve(t.key),
            }),
            oidc: Some(Oidc {
                issuer: oidc.issuer.trim_end_matches('/').to_string(),
                login_claim: oidc.login_claim,
                audiences,
            }),
            demo: false,
            limits: raw.limits,
            browser,
            metrics_token,
            read,
        })
    }

    /// `serve --demo` (SPEC §11): the examples of the checkout (`examples/secure.toml`,
    /// `examples/events`) on a loopback address, with a sign-in page that lists the example
    /// users and verifies no one. It has no file, so nothing can add an `[oidc]` table or a
    /// public address to it: it cannot become a production mode by accident.
    pub fn demo(listen: SocketAddr) -> Result<ServeConfig, String> {
        if !listen.ip().is_loopback() {
            return Err(format!(
                "`--listen {listen}`: demo mode verifies no identity, so it listens on a loopback address only (127.0.0.1 or [::1])"
            ));
        }
        let config = PathBuf::from("examples/secure.toml");
        let events = PathBuf::from("examples/events");
        for needed in [&config, &events] {
            if !needed.exists() {
                return Err(format!(
                    "demo mode serves the examples of the agent-audit checkout, and `{}` is not here: run it from the checkout's top directory",
                    needed.display()
                ));
            }
        }
        let mut key = vec![0u8; 64];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for a session key: {e}"))?;
        Ok(ServeConfig {
            file: config.clone(),
            listen,
            events: vec![events],
            config: Some(config),
            timezone: chrono_tz::America::New_York,
            refresh_secs: 60,
            tls: None,
            oidc: None,
            demo: true,
            limits: Limits::default(),
            browser: Some(Browser {
                public_url: format!("http://{listen}"),
                client_id: String::new(),
                client_secret: String::new(),
                key,
                idle: std::time::Duration::from_secs(30 * 60),
                max: std::time::Duration::from_secs(12 * 3600),
            }),
            metrics_token: None,
            read: Vec::new(),
        })
    }

    /// Why `next` cannot replace `self` in a running server, if it cannot: a new listen
    /// address, or TLS turned on or off, takes a restart.
    pub fn needs_restart(&self, next: &ServeConfig) -> Option<String> {
        if next.listen != self.listen {
            return Some(format!(
                "`listen` changed from \"{}\" to \"{}\": a new address takes a restart",
                self.listen, next.listen
            ));
        }
        if next.tls.is_some() != self.tls.is_some() {
            return Some(
                "`[tls]` was added or removed: switching between http and https takes a restart"
                    .to_string(),
            );
        }
        None
    }
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}
