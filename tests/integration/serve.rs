//! `agent-audit serve` against a real OpenID Connect provider (`tests/oidc`, oidc-provider
//! from npm, started here on 127.0.0.1): bearer tokens the provider issues decide every
//! request as the login they carry; forged, expired, wrong-audience, wrong-issuer,
//! `alg: none`, HMAC-with-the-public-key and tampered tokens are refused; a restricted
//! requester cannot tell an unknown agent from a forbidden one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fs, thread};

use tempfile::TempDir;

use crate::support::*;

pub fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// `npm ci` once, where `.ci/run` has not done it.
pub fn installed() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !oidc_dir().join("node_modules/oidc-provider").is_dir() {
            let ok = Command::new("npm")
                .arg("ci")
                .current_dir(oidc_dir())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "npm ci in tests/oidc failed: the provider is needed (Node and npm)"
            );
        }
    });
}

/// A running process, killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits for the line of its `stdout` or `stderr` that starts with
/// `prefix`; the rest of that line.
pub fn started(mut cmd: Command, prefix: &str, from_stderr: bool) -> (Running, String) {
    cmd.stdin(Stdio::null());
    if from_stderr {
        cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    }
    let mut child = cmd.spawn().expect("start");
    let stream: Box<dyn std::io::Read + Send> = if from_stderr {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = prefix.to_string();
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.strip_prefix(&wanted) {
                let _ = tx.send(Ok(rest.trim().to_string()));
                sent = true;
            } else if !sent {
                let _ = tx.send(Err(line));
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(rest)) => return (Running(child), rest),
            Ok(Err(line)) => seen.push(line),
            Err(_) => panic!("no `{prefix}` line; saw: {}", seen.join("\n")),
        }
    }
}

/// The provider, with clients whose client-credentials tokens carry a login.
struct Provider {
    _process: Running,
    issuer: String,
}

impl Provider {
    fn start(dir: &Path) -> Provider {
        installed();
        let config = serde_json::json!({
            "port": 0,
            "clients": [
                {"client_id": "agent-audit", "client_secret": "s3cret",
                 "redirect_uris": ["http://127.0.0.1:9/auth/callback"]},
                {"client_id": "alice-script", "client_secret": "a", "grant_types": ["client_credentials"],
                 "redirect_uris": [], "login": "alice"},
                {"client_id": "mallory-script", "client_secret": "m", "grant_types": ["client_credentials"],
                 "redirect_uris": [], "login": "mallory"},
                {"client_id": "anon-script", "client_secret": "n", "grant_types": ["client_credentials"],
                 "redirect_uris": []}
            ],
            "accounts": {"alice": {"preferred_username": "alice"}},
            "resource": "agent-audit",
            "access_token_ttl": 600
        });
        let path = dir.join("oidc.json");
        fs::write(&path, config.to_string()).unwrap();
        let mut cmd = Command::new("node");
        cmd.arg(oidc_dir().join("provider.mjs")).arg(&path);
        let (process, issuer) = started(cmd, "ready ", false);
        Provider {
            _process: process,
            issuer,
        }
    }

    /// An access token the provider issues to `client` (client credentials).
    fn token(&self, client: &str, secret: &str) -> String {
        let response = http()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&resource=agent-audit")
            .send()
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string()
    }
}

fn http() -> reqwest::blocking::Client {
    // The process's one TLS provider, as the binary installs it (a second install is
    // refused, harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const USERS: &str = "\
[profiles.Supervisor]
permissions = [\"AccessMetrics\"]
hierarchy = \"own\"

[users.alice]
profiles = [\"Supervisor\"]
hierarchy = [\"North America\", \"New York\"]

[users.mallory]
profiles = [\"Supervisor\"]
hierarchy = [\"North America\", \"Remote\"]
";

/// A served configuration: jdoe (New York) and mrivera (Remote), alice supervising New
/// York and mallory Remote, decisions logged.
struct Served {
    dir: TempDir,
    provider: Provider,
    _server: Running,
    base: String,
}

fn write_setup(dir: &Path, oidc: &str) {
    fs::create_dir_all(dir.join("policies")).unwrap();
    fs::write(dir.join("policies/users.toml"), USERS).unwrap();
    fs::create_dir_all(dir.join("events")).unwrap();
    let events = [
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America", "New York"]),
        event("jdoe", "LOGOUT", "2026-11-02T21:00:00.000Z")
            .status("Offline")
            .hierarchy(&["North America", "New York"]),
        event("mrivera", "LOGIN", "2026-11-02T14:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America", "Remote"]),
    ];
    fs::write(dir.join("events/day.jsonl"), lines(&events)).unwrap();
    fs::write(
        dir.join("agent-audit.toml"),
        "policies = \"policies\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("SERVE.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\nevents = [\"events\"]\nconfig = \"agent-audit.toml\"\ntimezone = \"UTC\"\n{oidc}"
        ),
    )
    .unwrap();
}

impl Served {
    fn start() -> Served {
        Served::start_with("")
    }

    /// With `extra` tables in `SERVE.toml`.
    fn start_with(extra: &str) -> Served {
        Served::start_with_files(extra, &[])
    }

    /// With `extra` tables in `SERVE.toml` and `files` (name, contents) beside it.
    fn start_with_files(extra: &str, files: &[(&str, &str)]) -> Served {
        let dir = TempDir::new().unwrap();
        let provider = Provider::start(dir.path());
        write_setup(
            dir.path(),
            &format!(
                "[oidc]\nissuer = \"{}\"\nclient_id = \"agent-audit\"\nlogin_claim = \"preferred_username\"\n{extra}",
                provider.issuer
            ),
        );
        for (name, contents) in files {
            fs::write(dir.path().join(name), contents).unwrap();
        }
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"));
        cmd.arg("serve").arg(dir.path().join("SERVE.toml"));
        let (server, base) = started(cmd, "serve: listening on ", true);
        Served {
            dir,
            provider,
            _server: server,
            base,
        }
    }

    fn get(&self, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
        let mut request = http().get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    }

    /// Waits (10 s at most) until `/readyz` says `"last_change_refused": refused`.
    fn ready_says(&self, refused: bool) -> bool {
        for _ in 0..200 {
            let ready: serde_json::Value =
                serde_json::from_slice(&self.get("/readyz", None).bytes().unwrap()).unwrap();
            if ready["last_change_refused"] == refused {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn decisions(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.dir.path().join("decisions.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

const JDOE: &str = "/api/v1/report?agent=jdoe&date=2026-11-02&timezone=UTC&format=csv";

#[test]
fn provider_tokens_decide_every_request_as_their_login() {
    let s = Served::start();
    let alice = s.provider.token("alice-script", "a");
    let response = s.get(JDOE, Some(&alice));
    let status = response.status();
    if status != 200 {
        panic!("{status}: {}", response.text().unwrap());
    }
    let h = response.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(h["x-events-through"], "2026-11-02T21:00:00.000Z");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    let served = response.bytes().unwrap().to_vec();
    // Byte for byte what `report --as alice` writes.
    let cli = stdout_of(
        report_cmd(s.dir.path().join("events"), "jdoe", "2026-11-02", "UTC")
            .arg("--config")
            .arg(s.dir.path().join("agent-audit.toml"))
            .args(["--as", "alice"]),
    );
    assert_eq!(served, cli);

    // The decision is logged for the login the token carries, with where it came from.
    let logged = s.decisions();
    let line = logged
        .iter()
        .find(|d| d["via"] == "serve")
        .unwrap_or_else(|| panic!("{logged:?}"));
    assert_eq!(line["requester"], "alice");
    assert_eq!(line["decision"], "allowed");
    assert_eq!(line["iss"], s.provider.issuer.as_str());
    assert_eq!(line["sub"], "alice-script");
    assert_eq!(line["client"], "127.0.0.1");
    assert!(line["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let text = fs::read_to_string(s.dir.path().join("decisions.jsonl")).unwrap();
    assert!(!text.contains(&alice), "a token in the decision log");

    // The agents alice may audit; mallory's list does not hold jdoe.
    let listed = |token: &str| {
        let text = s
            .get("/api/v1/agents?date=2026-11-02", Some(token))
            .text()
            .unwrap();
        let list: serde_json::Value = serde_json::from_str(&text).unwrap();
        let logins: Vec<String> = list["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["login"].as_str().unwrap().to_string())
            .collect();
        (logins, text)
    };
    assert_eq!(listed(&alice).0, ["jdoe"]);
    let mallory = s.provider.token("mallory-script", "m");
    let (logins, text) = listed(&mallory);
    assert_eq!(logins, ["mrivera"]);
    assert!(!text.contains("jdoe"));

    // mallory: jdoe is forbidden, and an agent that does not exist looks the same.
    let forbidden = s.get(JDOE, Some(&mallory));
    assert_eq!(forbidden.status(), 403);
    let forbidden: serde_json::Value = serde_json::from_slice(&forbidden.bytes().unwrap()).unwrap();
    let unknown = s.get(&JDOE.replace("jdoe", "nobody"), Some(&mallory));
    assert_eq!(unknown.status(), 403);
    let unknown: serde_json::Value = serde_json::from_slice(&unknown.bytes().unwrap()).unwrap();
    assert_eq!(
        forbidden.to_string(),
        unknown.to_string().replace("nobody", "jdoe"),
        "an unknown agent and a forbidden one answer alike"
    );
    assert!(
        forbidden["rule"].as_str().unwrap().contains("users.toml"),
        "{forbidden}"
    );
    assert!(
        !forbidden.to_string().contains("New York"),
        "the agent's hierarchy leaked: {forbidden}"
    );
    let denied = s
        .decisions()
        .into_iter()
        .filter(|d| d["requester"] == "mallory")
        .count();
    assert!(denied >= 2, "each refused request is a recorded decision");

    // authorize: the caller's own decision.
    let own: serde_json::Value = serde_json::from_slice(
        &s.get("/api/v1/authorize?agent=jdoe&date=2026-11-02", Some(&alice))
            .bytes()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(own["allowed"], true);
    assert_eq!(own["requester"], "alice");

    // Bad parameters are named.
    let bad = s.get(
        "/api/v1/report?agent=jdoe&date=2026-13-40&timezone=UTC",
        Some(&alice),
    );
    assert_eq!(bad.status(), 400);
    let bad: serde_json::Value = serde_json::from_slice(&bad.bytes().unwrap()).unwrap();
    assert_eq!(bad["parameter"], "date");
    let bad = s.get(
        "/api/v1/report?agent=jdoe&date=2026-11-02&timezone=Mars/Olympus",
        Some(&alice),
    );
    assert_eq!(bad.status(), 400);

    // A header block beyond the bound is refused before any handler runs.
    let huge = "x".repeat(100 << 10);
    let big = http()
        .get(format!("{}/healthz", s.base))
        .header("x-big", huge)
        .send();
    assert!(
        big.map(|r| r.status() == 431).unwrap_or(true),
        "a 100 KB header was read"
    );

    // Health, readiness, metrics.
    assert_eq!(s.get("/healthz", None).status(), 200);
    let ready: serde_json::Value =
        serde_json::from_slice(&s.get("/readyz", None).bytes().unwrap()).unwrap();
    assert_eq!(ready["ready"], true);
    let metrics = s.get("/metrics", None).text().unwrap();
    assert!(
        metrics
            .contains("agent_audit_http_requests_total{route=\"/api/v1/report\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("agent_audit_decisions_total{decision=\"denied\"}"),
        "mallory's refusals are counted: {metrics}"
    );
}

/// A token signed with one of the provider's own keys (`tests/oidc/*.pem`), with these
/// claims changed.
fn forged(
    s: &Served,
    alg: jsonwebtoken::Algorithm,
    change: &dyn Fn(&mut serde_json::Value),
) -> String {
    use jsonwebtoken::{EncodingKey, Header};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = serde_json::json!({
        "iss": s.provider.issuer,
        "aud": "agent-audit",
        "sub": "forger",
        "preferred_username": "alice",
        "iat": now,
        "exp": now + 600,
    });
    change(&mut claims);
    let (pem, kid) = match alg {
        jsonwebtoken::Algorithm::ES256 => ("ec.pem", "test-es256"),
        jsonwebtoken::Algorithm::EdDSA => ("ed25519.pem", "test-eddsa"),
        _ => ("rsa.pem", "test-rs256"),
    };
    let pem = fs::read(oidc_dir().join(pem)).unwrap();
    let key = match alg {
        jsonwebtoken::Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        jsonwebtoken::Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[test]
fn forged_expired_misdirected_and_unsigned_tokens_are_refused() {
    use jsonwebtoken::Algorithm::{ES256, EdDSA, RS256};
    let s = Served::start();
    // The control: signed by a key the issuer publishes, every claim right, in each
    // family the provider's keys cover.
    for alg in [RS256, ES256, EdDSA] {
        let token = forged(&s, alg, &|_| {});
        assert_eq!(s.get(JDOE, Some(&token)).status(), 200, "{alg:?}");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let refused: Vec<(&str, String)> = vec![
        (
            "expired",
            forged(&s, RS256, &|c| c["exp"] = (now - 3600).into()),
        ),
        (
            "not yet valid",
            forged(&s, RS256, &|c| c["nbf"] = (now + 3600).into()),
        ),
        (
            "wrong audience",
            forged(&s, RS256, &|c| c["aud"] = "someone-else".into()),
        ),
        (
            "wrong issuer",
            forged(&s, RS256, &|c| c["iss"] = "http://127.0.0.1:1".into()),
        ),
        (
            "no audience",
            forged(&s, RS256, &|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        (
            "no login claim",
            forged(&s, RS256, &|c| {
                c.as_object_mut().unwrap().remove("preferred_username");
            }),
        ),
        ("anonymous client", s.provider.token("anon-script", "n")),
        ("alg none", {
            let body = forged(&s, RS256, &|_| {});
            let payload = body.split('.').nth(1).unwrap().to_string();
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")
        }),
        ("HMAC with the public key", {
            // HS256 keyed with the RSA key's PEM bytes, as in the key-confusion attack.
            let public = fs::read(oidc_dir().join("rsa.pem")).unwrap();
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.kid = Some("test-rs256".into());
            let claims = serde_json::json!({"iss": s.provider.issuer, "aud": "agent-audit",
                "preferred_username": "alice", "exp": now + 600});
            jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&public).unwrap(),
            )
            .unwrap()
        }),
        ("tampered", {
            let token = forged(&s, RS256, &|c| c["preferred_username"] = "mallory".into());
            let mut parts: Vec<String> = token.split('.').map(String::from).collect();
            let alice = forged(&s, RS256, &|_| {});
            parts[1] = alice.split('.').nth(1).unwrap().to_string();
            parts.join(".")
        }),
        ("garbage", "not-a-token".to_string()),
    ];
    for (what, token) in refused {
        let response = s.get(JDOE, Some(&token));
        assert_eq!(response.status(), 401, "{what}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        let body = response.text().unwrap();
        assert!(!body.contains("2026-11-02T13"), "{what}: data in a refusal");
        assert!(
            !body.contains(&token) || token.len() < 16,
            "{what}: the token echoed"
        );
    }
    let none = s.get(JDOE, None);
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"agent-audit\""
    );
}

#[test]
fn serve_never_runs_open() {
    let dir = TempDir::new().unwrap();
    let serve = |dir: &Path| {
        bin()
            .arg("serve")
            .arg(dir.join("SERVE.toml"))
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    // No [oidc]: no identity, no server.
    write_setup(dir.path(), "");
    let out = serve(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no `[oidc]` table"), "{stderr}");
    // No users: every request would be allowed.
    let oidc = "[oidc]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"agent-audit\"\n";
    write_setup(dir.path(), oidc);
    fs::remove_file(dir.path().join("policies/users.toml")).unwrap();
    let out = serve(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("defines no users"), "{stderr}");
    // A provider that cannot be reached: no way to verify anyone.
    write_setup(dir.path(), oidc);
    let out = serve(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[oidc]") && stderr.contains("cannot fetch"),
        "{stderr}"
    );
    // Beyond loopback, in clear: refused, naming the key.
    let toml = fs::read_to_string(dir.path().join("SERVE.toml")).unwrap();
    fs::write(
        dir.path().join("SERVE.toml"),
        toml.replace("127.0.0.1:0", "0.0.0.0:8443"),
    )
    .unwrap();
    let out = serve(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("SERVE.toml:1") && stderr.contains("not a loopback address"),
        "{stderr}"
    );
    // An unknown key is an error at its place.
    fs::write(
        dir.path().join("SERVE.toml"),
        format!("{toml}\nlisten_on = 1\n"),
    )
    .unwrap();
    let out = serve(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("listen_on"), "{stderr}");

    // The browser login's secrets: missing, empty or too short, each refuses the start.
    let login = |secret: Option<&[u8]>, key: Option<&[u8]>| {
        let _ = fs::remove_file(dir.path().join("oidc-secret"));
        let _ = fs::remove_file(dir.path().join("session.key"));
        if let Some(secret) = secret {
            fs::write(dir.path().join("oidc-secret"), secret).unwrap();
        }
        if let Some(key) = key {
            fs::write(dir.path().join("session.key"), key).unwrap();
        }
        write_setup(
            dir.path(),
            "[oidc]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"agent-audit\"\nclient_secret_file = \"oidc-secret\"\n[session]\nkey_file = \"session.key\"\n",
        );
        let out = serve(dir.path());
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let key = [7u8; 64];
    let said = login(None, Some(&key));
    assert!(
        said.contains("client_secret_file") && said.contains("cannot read"),
        "{said}"
    );
    let said = login(Some(b"\n"), Some(&key));
    assert!(said.contains("`client_secret_file` is empty"), "{said}");
    let said = login(Some(b"s3cret"), None);
    assert!(
        said.contains("key_file") && said.contains("cannot read"),
        "{said}"
    );
    let said = login(Some(b"s3cret"), Some(&[7u8; 16]));
    assert!(
        said.contains("holds 16 byte(s)") && said.contains("at least 32"),
        "{said}"
    );
    let said = login(Some(b"s3cret"), Some(b""));
    assert!(said.contains("holds 0 byte(s)"), "{said}");
}

/// A browser: a cookie jar, redirects followed by hand (so each hop can be checked).
struct Browser {
    client: reqwest::blocking::Client,
}

impl Browser {
    fn new() -> Browser {
        agent_audit::s3::install_tls_provider();
        Browser {
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
        }
    }

    /// GET `url`, following redirects; the last response and its URL.
    fn get(&self, url: &str) -> (reqwest::blocking::Response, String) {
        self.follow(self.client.get(url).send().unwrap(), url)
    }

    fn follow(
        &self,
        mut response: reqwest::blocking::Response,
        url: &str,
    ) -> (reqwest::blocking::Response, String) {
        let mut at = url::Url::parse(url).unwrap();
        for _ in 0..10 {
            if !response.status().is_redirection() {
                return (response, at.to_string());
            }
            let location = response.headers()["location"].to_str().unwrap().to_string();
            at = at.join(&location).unwrap();
            response = self.client.get(at.as_str()).send().unwrap();
        }
        panic!("too many redirects, at {at}");
    }

    /// Signs in as `login` through the provider's own login form, starting at `url`.
    fn sign_in(&self, url: &str, login: &str) -> (reqwest::blocking::Response, String) {
        let (form, at) = self.get(url);
        assert_eq!(form.status(), 200, "{at}");
        assert!(
            at.contains("/interaction/"),
            "the provider's login form, not {at}"
        );
        let response = self
            .client
            .post(&at)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("prompt=login&login={login}&password=x"))
            .send()
            .unwrap();
        self.follow(response, &at)
    }
}

/// The `Set-Cookie` of `name` in a response.
fn set_cookie(response: &reqwest::blocking::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve` with the browser login on, against a provider with accounts alice and
/// mallory.
fn served_with_login() -> (TempDir, Provider, Running, String) {
    let dir = TempDir::new().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    installed();
    let config = serde_json::json!({
        "port": 0,
        "clients": [{"client_id": "agent-audit", "client_secret": "s3cret",
                     "redirect_uris": [format!("{base}/auth/callback")]}],
        "accounts": {"alice": {"preferred_username": "alice"},
                     "mallory": {"preferred_username": "mallory"},
                     "nologin": {}},
        "resource": "agent-audit",
        "access_token_ttl": 600
    });
    fs::write(dir.path().join("oidc.json"), config.to_string()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(oidc_dir().join("provider.mjs"))
        .arg(dir.path().join("oidc.json"));
    let (process, issuer) = started(cmd, "ready ", false);
    let provider = Provider {
        _process: process,
        issuer,
    };
    fs::write(dir.path().join("oidc-secret"), "s3cret\n").unwrap();
    fs::write(dir.path().join("session.key"), [7u8; 64]).unwrap();
    write_setup(
        dir.path(),
        &format!(
            "public_url = \"{base}\"\n[oidc]\nissuer = \"{}\"\nclient_id = \"agent-audit\"\nclient_secret_file = \"oidc-secret\"\n[session]\nkey_file = \"session.key\"\n",
            provider.issuer
        ),
    );
    let toml = fs::read_to_string(dir.path().join("SERVE.toml")).unwrap();
    fs::write(
        dir.path().join("SERVE.toml"),
        toml.replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"));
    cmd.arg("serve").arg(dir.path().join("SERVE.toml"));
    let (server, _) = started(cmd, "serve: listening on ", true);
    (dir, provider, server, base)
}

#[test]
fn a_browser_signs_in_at_the_provider_and_sees_only_what_its_login_may() {
    let (dir, _provider, _server, base) = served_with_login();
    let csv = format!("{base}/report.csv?agent=jdoe&date=2026-11-02&timezone=UTC");

    // alice: a page asks for a login, the provider's form, back with a session.
    let alice = Browser::new();
    let (page, at) = alice.sign_in(&format!("{base}/"), "alice");
    assert_eq!(page.status(), 200, "{at}");
    assert_eq!(at, format!("{base}/"), "back where the login started");
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let text = page.text().unwrap();
    assert!(
        text.contains("Signed in as <strong>alice</strong>"),
        "{text}"
    );
    assert!(text.contains("<option value=\"jdoe\">"), "{text}");
    assert!(!text.contains("mrivera"), "{text}");
    assert!(
        cookies
            .iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    let (download, _) = alice.get(&csv);
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["cache-control"], "no-store");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("jdoe_2026-11-02_UTC.csv")
    );
    let cli = stdout_of(
        report_cmd(dir.path().join("events"), "jdoe", "2026-11-02", "UTC")
            .arg("--config")
            .arg(dir.path().join("agent-audit.toml"))
            .args(["--as", "alice"]),
    );
    assert_eq!(
        download.bytes().unwrap().to_vec(),
        cli,
        "the download is `report --as alice`"
    );
    let decisions = fs::read_to_string(dir.path().join("decisions.jsonl")).unwrap();
    assert!(
        decisions.lines().any(|l| l.contains("\"via\":\"serve\"")
            && l.contains("\"requester\":\"alice\"")
            && l.contains("\"sub\":\"alice\"")),
        "{decisions}"
    );

    // mallory: jdoe's day by URL is a 403 page with no data of it.
    let mallory = Browser::new();
    let (refused, _) = mallory.sign_in(&csv, "mallory");
    assert_eq!(refused.status(), 403);
    let text = refused.text().unwrap();
    assert!(text.contains("is not within your access"), "{text}");
    assert!(
        !text.contains("Available") && !text.contains("New York"),
        "{text}"
    );

    // An account without the login claim gets no session.
    let nobody = Browser::new();
    let (no_login, _) = nobody.sign_in(&format!("{base}/"), "nologin");
    assert_eq!(no_login.status(), 401);
    assert!(
        no_login
            .text()
            .unwrap()
            .contains("no `preferred_username` claim")
    );

    // Logout ends the session: the next page asks for a login again.
    let out = alice
        .client
        .post(format!("{base}/auth/logout"))
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    // (Not followed: the provider still remembers alice, single sign-on would bring her
    // straight back.)
    let again = alice.client.get(&csv).send().unwrap();
    assert_eq!(again.status(), 303);
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login")
    );
}

#[test]
fn a_logged_out_session_cookie_is_no_session_anywhere() {
    let (_dir, _provider, _server, base) = served_with_login();
    let browser = Browser::new();
    let (page, _) = browser.sign_in(&format!("{base}/"), "alice");
    assert_eq!(page.status(), 200);
    // The cookie as it stands, copied out of the browser before the logout.
    let url = url::Url::parse(&base).unwrap();
    let copied = browser.client.get(format!("{base}/")).send().unwrap();
    let session = set_cookie(&copied, "aa_session");
    let value = session.split(';').next().unwrap().to_string();
    let with = |cookie: &str| {
        http()
            .get(url.join("/").unwrap())
            .header("cookie", cookie)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with(&value), 200);
    browser
        .client
        .post(format!("{base}/auth/logout"))
        .send()
        .unwrap();
    assert_eq!(
        with(&value),
        303,
        "a copy of the cookie does not outlive the logout"
    );
}

#[test]
fn a_tampered_or_replayed_login_is_no_session() {
    let (_dir, _provider, _server, base) = served_with_login();
    let browser = Browser::new();
    // Stop at the callback: its URL must work once only.
    let (login, _) = (
        browser
            .client
            .get(format!("{base}/auth/login"))
            .send()
            .unwrap(),
        (),
    );
    let to_provider = url::Url::parse(&base)
        .unwrap()
        .join(login.headers()["location"].to_str().unwrap())
        .unwrap();
    let (form, at) = browser.get(to_provider.as_str());
    assert_eq!(form.status(), 200);
    let mut response = browser
        .client
        .post(&at)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("prompt=login&login=alice&password=x")
        .send()
        .unwrap();
    let mut here = url::Url::parse(&at).unwrap();
    let callback = loop {
        let location = response.headers()["location"].to_str().unwrap().to_string();
        here = here.join(&location).unwrap();
        if here.path() == "/auth/callback" {
            break here.clone();
        }
        response = browser.client.get(here.as_str()).send().unwrap();
    };
    let first = browser.client.get(callback.as_str()).send().unwrap();
    assert_eq!(
        first.status(),
        303,
        "the first use of the callback signs in"
    );
    let session = set_cookie(&first, "aa_session");
    // The same state again (a replayed callback) is refused.
    let replay = Browser::new();
    let second = replay.client.get(callback.as_str()).send().unwrap();
    assert_eq!(second.status(), 400);
    // The session cookie, one byte changed: no session, a new login.
    let value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("aa_session=");
    let mut bytes = value.as_bytes().to_vec();
    let k = bytes.len() / 2;
    bytes[k] = if bytes[k] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let page = http()
        .get(format!("{base}/"))
        .header("cookie", format!("aa_session={tampered}"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login")
    );
    // The untouched cookie is a session.
    let page = http()
        .get(format!("{base}/"))
        .header("cookie", format!("aa_session={value}"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[test]
fn a_forbid_added_to_a_policy_applies_to_the_next_requests_and_a_broken_one_keeps_the_last() {
    let s = Served::start();
    let alice = s.provider.token("alice-script", "a");
    assert_eq!(s.get(JDOE, Some(&alice)).status(), 200);
    let policy = s.dir.path().join("policies/hold.rhai");
    fs::write(
        &policy,
        "fn authorize(req) {\n    if req.agent.login_key == \"jdoe\" {\n        return #{ decision: \"forbid\", reason: \"legal hold on jdoe\" };\n    }\n    ()\n}\n",
    )
    .unwrap();
    // Requests in a loop while the policy changes: each is answered 200 or 403, never an
    // error, and once the forbid has answered, it answers every request after.
    let waited = |want: u16| {
        let mut seen = Vec::new();
        for _ in 0..200 {
            let status = s.get(JDOE, Some(&alice)).status().as_u16();
            assert!(
                status == 200 || status == 403,
                "a request failed during the reload: {status}"
            );
            if let Some(&last) = seen.last() {
                assert!(
                    last == status || status == want,
                    "the answer went back from {last} to {status}: {seen:?}"
                );
            }
            seen.push(status);
            if status == want {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    };
    assert!(waited(403), "the forbid never applied");
    let body: serde_json::Value =
        serde_json::from_slice(&s.get(JDOE, Some(&alice)).bytes().unwrap()).unwrap();
    assert_eq!(body["reason"], "legal hold on jdoe", "{body}");
    assert!(
        body["rule"].as_str().unwrap().contains("hold.rhai"),
        "{body}"
    );
    // A broken edit: the last good generation (with the forbid) stays, /readyz says so.
    fs::write(&policy, "fn authorize(req) { return #{ decision: ").unwrap();
    assert!(
        s.ready_says(true),
        "/readyz never said the change was refused"
    );
    assert_eq!(
        s.get(JDOE, Some(&alice)).status(),
        403,
        "the last good generation answers"
    );
    fs::remove_file(&policy).unwrap();
    assert!(waited(200), "removing the policy never applied");
}

#[test]
fn each_identity_has_its_own_request_rate() {
    let s = Served::start_with("[limits]\nper_identity_per_minute = 5\n");
    let alice = s.provider.token("alice-script", "a");
    for _ in 0..5 {
        assert_eq!(s.get(JDOE, Some(&alice)).status(), 200);
    }
    let over = s.get(JDOE, Some(&alice));
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));
    // Another login is not held back by alice's requests.
    let mallory = s.provider.token("mallory-script", "m");
    assert_eq!(
        s.get(&JDOE.replace("jdoe", "mrivera"), Some(&mallory))
            .status(),
        200
    );
}

#[test]
fn serve_toml_itself_reloads_and_a_change_that_needs_a_restart_is_refused() {
    let s = Served::start();
    let alice = s.provider.token("alice-script", "a");
    for _ in 0..3 {
        assert_eq!(s.get(JDOE, Some(&alice)).status(), 200);
    }
    let file = s.dir.path().join("SERVE.toml");
    let text = fs::read_to_string(&file).unwrap();
    // A lower rate: the next requests are held to it, with no restart.
    fs::write(
        &file,
        format!("{text}[limits]\nper_identity_per_minute = 2\n"),
    )
    .unwrap();
    let mut limited = false;
    for _ in 0..100 {
        let status = s.get(JDOE, Some(&alice)).status().as_u16();
        assert!(status == 200 || status == 429, "{status}");
        if status == 429 {
            limited = true;
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(limited, "the new [limits] never applied");
    // Another address needs a restart: refused, the running settings stay, /readyz says so.
    fs::write(&file, text.replace("127.0.0.1:0", "127.0.0.1:1")).unwrap();
    assert!(
        s.ready_says(true),
        "/readyz never said the change was refused"
    );
    assert_eq!(s.get("/healthz", None).status(), 200, "still serving");
    // A broken SERVE.toml is refused the same way, and fixing it clears the refusal.
    fs::write(&file, "listen = [").unwrap();
    thread::sleep(Duration::from_millis(600));
    fs::write(&file, &text).unwrap();
    assert!(
        s.ready_says(false),
        "the good SERVE.toml never replaced the refusal"
    );
}

#[test]
fn metrics_with_a_token_file_answer_only_that_token() {
    let dir = TempDir::new().unwrap();
    // Too short a token refuses the start, naming the key.
    let provider = Provider::start(dir.path());
    let oidc = format!(
        "[oidc]\nissuer = \"{}\"\nclient_id = \"agent-audit\"\n[metrics]\ntoken_file = \"metrics.token\"\n",
        provider.issuer
    );
    write_setup(dir.path(), &oidc);
    let start = || {
        let out = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"))
            .arg("serve")
            .arg(dir.path().join("SERVE.toml"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // Missing, empty or short: each refuses the start, naming the key.
    let said = start();
    assert!(
        said.contains("token_file") && said.contains("cannot read"),
        "{said}"
    );
    fs::write(dir.path().join("metrics.token"), "\n").unwrap();
    let said = start();
    assert!(said.contains("a token of 0 byte(s)"), "{said}");
    fs::write(dir.path().join("metrics.token"), "short\n").unwrap();
    let said = start();
    assert!(
        said.contains("token_file") && said.contains("at least 16"),
        "{said}"
    );
    drop(provider);

    let token = "0123456789abcdef-metrics";
    let s = Served::start_with_files(
        "[metrics]\ntoken_file = \"metrics.token\"\n",
        &[("metrics.token", &format!("{token}\n"))],
    );
    // With a token, loopback alone is not enough: the token is what counts.
    assert_eq!(s.get("/metrics", None).status(), 401);
    assert_eq!(
        s.get("/metrics", Some("0123456789abcdef-wrong")).status(),
        401
    );
    let scraped = s.get("/metrics", Some(token));
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .unwrap()
            .contains("agent_audit_http_requests_total")
    );
    // A provider token is no metrics token.
    let alice = s.provider.token("alice-script", "a");
    assert_eq!(s.get("/metrics", Some(&alice)).status(), 401);
}

/// A certificate authority named `ca` in `dir`, and a server certificate for 127.0.0.1
/// it signs: (CA certificate, server certificate, server key).
fn certificates(dir: &Path, ca: &str) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "openssl {args:?} failed (openssl is needed)");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    let (key, csr, pem) = (
        format!("{ca}-server.key"),
        format!("{ca}-server.csr"),
        format!("{ca}-server.pem"),
    );
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout",
        &ca_key,
        "-out",
        &ca_pem,
        "-subj",
        "/CN=test-ca",
        "-days",
        "2",
    ]);
    run(&args);
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    run(&args);
    let ext = format!("{ca}.ext");
    fs::write(
        dir.join(&ext),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &pem,
        "-days",
        "2",
        "-extfile",
        &ext,
    ]);
    (dir.join(ca_pem), dir.join(pem), dir.join(key))
}

fn trusting(ca: &Path) -> reqwest::blocking::Client {
    agent_audit::s3::install_tls_provider();
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&fs::read(ca).unwrap()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn tls_is_served_by_the_binary_and_its_certificate_reloads_without_a_restart() {
    let dir = TempDir::new().unwrap();
    let provider = Provider::start(dir.path());
    let (first_ca, cert, key) = certificates(dir.path(), "first");
    let (second_ca, second_cert, second_key) = certificates(dir.path(), "second");
    fs::copy(&cert, dir.path().join("cert.pem")).unwrap();
    fs::copy(&key, dir.path().join("key.pem")).unwrap();
    write_setup(
        dir.path(),
        &format!(
            "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[oidc]\nissuer = \"{}\"\nclient_id = \"agent-audit\"\n",
            provider.issuer
        ),
    );
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"));
    cmd.arg("serve").arg(dir.path().join("SERVE.toml"));
    let (_server, base) = started(cmd, "serve: listening on ", true);
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let alice = provider.token("alice-script", "a");
    let first = trusting(&first_ca);
    let answer = first
        .get(format!("{base}{JDOE}"))
        .bearer_auth(&alice)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    // In clear, nothing is answered.
    let plain = http()
        .get(format!("{}/healthz", base.replace("https://", "http://")))
        .send();
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
    // A new certificate (another authority) is taken without a restart.
    let second = trusting(&second_ca);
    assert!(
        second.get(format!("{base}/healthz")).send().is_err(),
        "not yet"
    );
    fs::copy(&second_key, dir.path().join("key.pem")).unwrap();
    fs::copy(&second_cert, dir.path().join("cert.pem")).unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        if second
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
        {
            reloaded = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(reloaded, "the new certificate was never served");
}

/// `serve --demo` in a copy of the checkout's examples (its decision log is written there).
pub fn demo_checkout() -> TempDir {
    let dir = TempDir::new().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["examples", "scripts", "policies"] {
        crate::support::copy_dir(&root.join(sub), &dir.path().join(sub));
    }
    dir
}

#[test]
fn demo_mode_signs_in_example_users_unverified_and_never_beyond_loopback() {
    let bin = assert_cmd::cargo::cargo_bin!("agent-audit");
    let checkout = demo_checkout();
    // A usage error (exit 2) of `serve ARGS` run in `dir`: what it says.
    let refused = |dir: &Path, args: &[&str]| -> String {
        let out = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Never a production mode: no public address, no SERVE.toml beside it.
    let said = refused(
        checkout.path(),
        &["serve", "--demo", "--listen", "0.0.0.0:8080"],
    );
    assert!(said.contains("loopback address only"), "{said}");
    let said = refused(checkout.path(), &["serve", "--demo", "SERVE.toml"]);
    assert!(said.contains("cannot be used with"), "{said}");
    // `--listen` is demo mode's: with a SERVE.toml, the file says where.
    let said = refused(
        checkout.path(),
        &["serve", "--listen", "127.0.0.1:9", "SERVE.toml"],
    );
    assert!(said.contains("--demo"), "{said}");
    // Outside a checkout it says where to run it.
    let elsewhere = TempDir::new().unwrap();
    let said = refused(elsewhere.path(), &["serve", "--demo"]);
    assert!(said.contains("checkout's top directory"), "{said}");

    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(checkout.path());
    let (_server, base) = started(cmd, "serve: listening on ", true);
    let browser = Browser::new();
    // A page without a session goes to the built-in sign-in, which lists the example users
    // and says that nobody is verified.
    let (page, at) = browser.get(&format!(
        "{base}/report?agent=jdoe&date=2026-11-02&timezone=America/New_York"
    ));
    assert!(at.contains("/demo/sign-in"), "{at}");
    let html = page.text().unwrap();
    assert!(html.contains("identities are not verified"), "{html}");
    for user in ["admin", "alice", "audrey"] {
        assert!(
            html.contains(&format!("value=\"{user}\"")),
            "{user}: {html}"
        );
    }
    let next = url::Url::parse(&at)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.to_string())
        .unwrap();
    // Only an example user: anyone else gets no session.
    let nobody = browser
        .client
        .post(format!("{base}/demo/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login=mallory&next=%2F")
        .send()
        .unwrap();
    assert_eq!(nobody.status(), 400);
    assert!(nobody.headers().get("set-cookie").is_none());
    let response = browser
        .client
        .post(format!("{base}/demo/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("login", "alice")
                .append_pair("next", &next)
                .finish(),
        )
        .send()
        .unwrap();
    let (report, at) = browser.follow(response, &format!("{base}/demo/sign-in"));
    assert_eq!(report.status(), 200, "{at}");
    assert!(
        at.contains("/report?agent=jdoe"),
        "back where the browser was going: {at}"
    );
    let html = report.text().unwrap();
    assert!(
        html.contains("identities are not verified"),
        "the banner on every page"
    );
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );
    assert!(
        html.contains("24-hour day") && html.contains("class=\"tl\""),
        "the report, inside the page"
    );
    // 2026-11-01 is the day New York leaves daylight saving time: 25 hours.
    let (dst, _) = browser.get(&format!(
        "{base}/report?agent=jdoe&date=2026-11-01&timezone=America/New_York"
    ));
    assert!(dst.text().unwrap().contains("25-hour day"));
    assert!(html.contains(">Download CSV</a>") && html.contains(">Download JSON</a>"));
    // The download is the file `report --as alice` writes, byte for byte.
    let (csv, _) = browser.get(&format!(
        "{base}/report.csv?agent=jdoe&date=2026-11-02&timezone=America/New_York"
    ));
    assert_eq!(csv.status(), 200);
    let served = csv.bytes().unwrap();
    let cli = Command::new(bin)
        .args([
            "report",
            "--config",
            "examples/secure.toml",
            "--as",
            "alice",
            "--events",
            "examples/events",
            "--agent",
            "jdoe",
            "--date",
            "2026-11-02",
            "--timezone",
            "America/New_York",
        ])
        .current_dir(checkout.path())
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(served.as_ref(), cli.stdout.as_slice());
    // Outside alice's access: the 403 page with the reason and rule, no data.
    let (denied, _) = browser.get(&format!(
        "{base}/report?agent=mrivera&date=2026-11-02&timezone=America/New_York"
    ));
    assert_eq!(denied.status(), 403);
    let html = denied.text().unwrap();
    assert!(
        html.contains("Not within your access") && html.contains("users.toml"),
        "{html}"
    );
    assert!(
        !html.contains("class=\"tl\"") && !html.contains("<table"),
        "no report: {html}"
    );
    // Demo mode takes no bearer tokens, and does not pretend anyone vouched.
    let api = http()
        .get(format!("{base}/api/v1/agents"))
        .bearer_auth("anything")
        .send()
        .unwrap();
    assert_eq!(api.status(), 401);
    let log = fs::read_to_string(checkout.path().join("examples/decisions.jsonl")).unwrap();
    assert!(
        log.contains("\"iss\":\"agent-audit-demo (not verified)\""),
        "{log}"
    );
}

/// Signs `login` in through demo mode's sign-in; the browser, with its session.
fn demo_signed_in(base: &str, login: &str) -> Browser {
    let browser = Browser::new();
    let response = browser
        .client
        .post(format!("{base}/demo/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login={login}&next=%2F"))
        .send()
        .unwrap();
    let (page, at) = browser.follow(response, &format!("{base}/demo/sign-in"));
    assert_eq!(page.status(), 200, "{at}");
    browser
}

/// `serve --demo` in `checkout`, as the README runs it: the process and its address.
pub fn demo_served(checkout: &Path) -> (Running, String) {
    let port = free_port();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"));
    cmd.args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(checkout);
    started(cmd, "serve: listening on ", true)
}

#[test]
fn a_refused_reload_is_a_banner_for_who_may_audit_everyone_and_not_for_a_supervisor() {
    let checkout = demo_checkout();
    let (_server, base) = demo_served(checkout.path());
    let admin = demo_signed_in(&base, "admin");
    let alice = demo_signed_in(&base, "alice");
    let banner = "The last configuration change was refused";
    let page = |b: &Browser| b.get(&format!("{base}/")).0.text().unwrap();
    assert!(!page(&admin).contains(banner));

    // A users file that does not parse: the change is refused, the last generation answers.
    let users = checkout.path().join("policies/users.toml");
    let good = fs::read_to_string(&users).unwrap();
    fs::write(&users, format!("{good}\n[users.broken\n")).unwrap();
    let refused = (0..200).any(|_| {
        thread::sleep(Duration::from_millis(50));
        let ready: serde_json::Value = serde_json::from_slice(
            &http()
                .get(format!("{base}/readyz"))
                .send()
                .unwrap()
                .bytes()
                .unwrap(),
        )
        .unwrap();
        ready["last_change_refused"] == true
    });
    assert!(refused, "the broken users file was never refused");
    let for_admin = page(&admin);
    assert!(for_admin.contains(banner), "{for_admin}");
    assert!(
        for_admin.contains("<option value=\"jdoe\""),
        "still answering"
    );
    let for_alice = page(&alice);
    assert!(!for_alice.contains(banner), "{for_alice}");
    assert!(
        for_alice.contains("<option value=\"jdoe\""),
        "still answering"
    );

    // Its fix clears the banner.
    fs::write(&users, good).unwrap();
    let cleared = (0..200).any(|_| {
        thread::sleep(Duration::from_millis(50));
        !page(&admin).contains(banner)
    });
    assert!(cleared, "the banner outlived the fix");
}

#[test]
fn a_sign_in_returns_only_to_a_path_of_this_site() {
    let checkout = demo_checkout();
    let (_server, base) = demo_served(checkout.path());
    let back_to = |next: &str| -> String {
        let response = Browser::new()
            .client
            .post(format!("{base}/demo/sign-in"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("login", "alice")
                    .append_pair("next", next)
                    .finish(),
            )
            .send()
            .unwrap();
        assert!(response.status().is_redirection(), "{next:?}");
        response.headers()["location"].to_str().unwrap().to_string()
    };
    for elsewhere in [
        "//evil.example",
        "https://evil.example/",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "evil.example",
        "",
    ] {
        assert_eq!(back_to(elsewhere), "/", "{elsewhere:?}");
    }
    assert_eq!(
        back_to("/report?agent=jdoe&date=2026-11-02"),
        "/report?agent=jdoe&date=2026-11-02"
    );
}
