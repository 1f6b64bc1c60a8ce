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

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// `npm ci` once, where `.ci/run` has not done it.
fn installed() {
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
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits for the line of its `stdout` or `stderr` that starts with
/// `prefix`; the rest of that line.
fn started(mut cmd: Command, prefix: &str, from_stderr: bool) -> (Running, String) {
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
    agent_audit::s3::install_tls_provider();
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
        let dir = TempDir::new().unwrap();
        let provider = Provider::start(dir.path());
        write_setup(
            dir.path(),
            &format!(
                "[oidc]\nissuer = \"{}\"\nclient_id = \"agent-audit\"\nlogin_claim = \"preferred_username\"\n",
                provider.issuer
            ),
        );
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
    assert!(metrics.contains("agent_audit_decisions_total"), "{metrics}");
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
}
