//! Builders for agent events and helpers that run the real pipeline on them.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use agent_audit::catalog::{Catalog, CatalogName, Classifier};
use agent_audit::classify::{Labels, classify};
use agent_audit::reduce::DEFAULT_STALE_AFTER_MS;
use agent_audit::report::Report;
use agent_audit::store::{ReadOptions, Store};
use agent_audit::time::Window;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde_json::{Value, json};

/// The repository's root (the examples, scripts and docs are read from there).
pub fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn arn(login: &str) -> String {
    format!("arn:aws:connect:us-east-1:111122223333:instance/test-instance/agent/{login}-id")
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// One agent event under construction, and the login it is for.
#[derive(Clone, Debug)]
pub struct Event(pub Value, String);

/// An event of `kind` at `ts` (RFC 3339) for `login`, with a current snapshot carrying the
/// agent's configuration and no status yet.
pub fn event(login: &str, kind: &str, ts: &str) -> Event {
    Event(
        json!({
            "AWSAccountId": "111122223333",
            "AgentARN": arn(login),
            "EventId": fresh_id(),
            "EventTimestamp": ts,
            "EventType": kind,
            "InstanceARN": "arn:aws:connect:us-east-1:111122223333:instance/test-instance",
            "Version": "2019-05-25",
            "CurrentAgentSnapshot": snapshot(login),
            "PreviousAgentSnapshot": null,
        }),
        login.to_string(),
    )
}

fn snapshot(login: &str) -> Value {
    json!({
        "AgentStatus": null,
        "NextAgentStatus": null,
        "Configuration": {
            "Username": login,
            "FirstName": "Test",
            "LastName": login,
            "AgentHierarchyGroups": null,
            "RoutingProfile": {"ARN": "arn:rp", "Name": "Basic", "Concurrency": []}
        },
        "Contacts": []
    })
}

fn status_json(name: &str, kind: Option<&str>) -> Value {
    let mut s = json!({"ARN": format!("arn:status/{name}"), "Name": name, "StartTimestamp": "2026-01-01T00:00:00.000Z"});
    if let Some(k) = kind {
        s["Type"] = json!(k);
    }
    s
}

impl Event {
    /// Current status by name, with `Type` inferred the way Connect's old samples need.
    pub fn status(self, name: &str) -> Event {
        let kind = match name {
            "Available" => "ROUTABLE",
            "Offline" => "OFFLINE",
            _ => "CUSTOM",
        };
        self.status_typed(name, Some(kind))
    }

    pub fn status_typed(mut self, name: &str, kind: Option<&str>) -> Event {
        self.0["CurrentAgentSnapshot"]["AgentStatus"] = status_json(name, kind);
        self
    }

    pub fn contact(mut self, contact: Value) -> Event {
        if let Some(list) = self.0["CurrentAgentSnapshot"]["Contacts"].as_array_mut() {
            list.push(contact);
        }
        self
    }

    pub fn next_status(mut self, name: &str) -> Event {
        self.0["CurrentAgentSnapshot"]["NextAgentStatus"] = json!({"ARN": "arn:next", "Name": name, "EnqueuedTimestamp": "2026-01-01T00:00:00.000Z"});
        self
    }

    pub fn hierarchy(mut self, levels: &[&str]) -> Event {
        let mut groups = serde_json::Map::new();
        for (i, name) in levels.iter().enumerate() {
            groups.insert(
                format!("Level{}", i + 1),
                json!({"ARN": format!("arn:group/{name}"), "Name": name}),
            );
        }
        self.0["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] =
            Value::Object(groups);
        self
    }

    pub fn routing_profile(mut self, name: &str) -> Event {
        self.0["CurrentAgentSnapshot"]["Configuration"]["RoutingProfile"]["Name"] = json!(name);
        self
    }

    /// A previous snapshot with this status.
    pub fn previous(mut self, name: &str) -> Event {
        let mut prev = snapshot(&self.1);
        let kind = match name {
            "Available" => "ROUTABLE",
            "Offline" => "OFFLINE",
            _ => "CUSTOM",
        };
        prev["AgentStatus"] = status_json(name, Some(kind));
        self.0["PreviousAgentSnapshot"] = prev;
        self
    }

    /// No current snapshot at all.
    pub fn without_current(mut self) -> Event {
        self.0["CurrentAgentSnapshot"] = Value::Null;
        self
    }

    pub fn id(mut self, id: &str) -> Event {
        self.0["EventId"] = json!(id);
        self
    }

    pub fn line(&self) -> String {
        self.0.to_string()
    }
}

/// A contact in a snapshot.
pub fn contact(id: &str, channel: &str, method: &str, state: &str) -> Value {
    json!({
        "ContactId": id,
        "InitialContactId": null,
        "Channel": channel,
        "InitiationMethod": method,
        "State": state,
        "StateStartTimestamp": "2026-01-01T00:00:00.000Z",
        "ConnectedToAgentTimestamp": null,
        "QueueTimestamp": null,
        "Queue": {"ARN": "arn:queue", "Name": "Support"}
    })
}

/// The same contact, connected to the agent at some point.
pub fn connected(mut c: Value) -> Value {
    c["ConnectedToAgentTimestamp"] = json!("2026-01-01T00:00:00.000Z");
    c
}

/// Events as JSON lines.
pub fn lines(events: &[Event]) -> String {
    events.iter().map(|e| e.line() + "\n").collect()
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn tz(s: &str) -> Tz {
    s.parse().unwrap()
}

/// The events read into a store, and classified.
pub fn ingest_with(classifier: &Classifier, events: &[Event]) -> (Store, Labels) {
    let text = lines(events);
    let store = Store::read_stream("test.jsonl", text.as_bytes(), &ReadOptions::default()).unwrap();
    let labels = classify(&store, classifier);
    (store, labels)
}

/// The built-in rules of a catalogue, without scripts.
pub fn rules(catalog: CatalogName) -> Classifier {
    Classifier::rules_only(Catalog::builtin(catalog).unwrap())
}

/// The report of `login` for `day` in `zone`, through the library.
pub fn report(events: &[Event], login: &str, day: &str, zone: &str) -> Report {
    report_with(CatalogName::Connect, events, login, day, zone)
}

pub fn report_with(
    catalog: CatalogName,
    events: &[Event],
    login: &str,
    day: &str,
    zone: &str,
) -> Report {
    report_full(catalog, events, login, day, zone, DEFAULT_STALE_AFTER_MS)
}

/// The report of the agent whose login (or ARN) is `login`, for `window`, through the
/// library (no decision).
pub fn audit(
    store: &Store,
    labels: &Labels,
    catalog: &Catalog,
    login: &str,
    window: Window,
    stale_after_ms: i64,
) -> Result<Report, agent_audit::Error> {
    let agent = store.find_agent(login)?;
    agent_audit::engine::audit(store, labels, catalog, agent, window, stale_after_ms)
}

/// `stale_after` so long that sparse test data shows no `gap`: for tests of other rules.
pub const NO_GAPS: i64 = i64::MAX;

pub fn report_full(
    catalog: CatalogName,
    events: &[Event],
    login: &str,
    day: &str,
    zone: &str,
    stale_after_ms: i64,
) -> Report {
    let classifier = rules(catalog);
    let (store, labels) = ingest_with(&classifier, events);
    let window = Window::local_day(date(day), tz(zone)).unwrap();
    audit(
        &store,
        &labels,
        &classifier.catalog,
        login,
        window,
        stale_after_ms,
    )
    .unwrap()
}

/// Rows as `Status HH:MM:SS.mmm-HH:MM:SS.mmm flags` in the report's zone.
pub fn rows(report: &Report) -> Vec<String> {
    let tz = report.window.tz;
    report
        .rows
        .iter()
        .map(|r| {
            let t = |ts: agent_audit::time::Timestamp| {
                ts.in_zone(tz).format("%H:%M:%S%.3f").to_string()
            };
            let flags = r.flags.names().join(";");
            format!("{} {}-{} {}", r.status, t(r.start), t(r.end), flags)
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Sum of the rows' durations in milliseconds.
pub fn total_ms(report: &Report) -> i64 {
    report.rows.iter().map(|r| r.duration_ms()).sum()
}

/// The `agent-audit` binary built for these tests.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::cargo::cargo_bin_cmd!("agent-audit")
}

/// `agent-audit report --events EVENTS --agent AGENT --date DATE --timezone ZONE`.
pub fn report_cmd(
    events: impl AsRef<std::ffi::OsStr>,
    agent: &str,
    date: &str,
    zone: &str,
) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.arg("report").arg("--events").arg(events);
    cmd.args(["--agent", agent, "--date", date, "--timezone", zone]);
    cmd
}

/// A configuration in a temporary directory: `files` are written under `scripts/`, and
/// `config` is the configuration file's text (its `scripts = "scripts"` line is added).
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
}

pub fn setup(files: &[(&str, &str)], config: &str) -> Setup {
    let dir = tempfile::TempDir::new().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    for (name, text) in files {
        std::fs::write(scripts.join(name), text).unwrap();
    }
    let path = dir.path().join("agent-audit.toml");
    std::fs::write(&path, format!("scripts = \"scripts\"\n{config}")).unwrap();
    Setup { dir, config: path }
}

impl Setup {
    pub fn generation(
        &self,
    ) -> Result<agent_audit::generation::Generation, Vec<agent_audit::diagnostic::Located>> {
        agent_audit::generation::Generation::load(Some(&self.config))
    }

    /// Writes `events` as a file in the setup's directory and returns its path.
    pub fn events(&self, events: &[Event]) -> std::path::PathBuf {
        let path = self.dir.path().join("events.jsonl");
        std::fs::write(&path, lines(events)).unwrap();
        path
    }
}

/// The report of `login` for `day` in UTC under a generation.
pub fn report_under(
    generation: &agent_audit::generation::Generation,
    events: &[Event],
    login: &str,
    day: &str,
) -> Result<Report, agent_audit::Error> {
    let (store, labels) = ingest_with(&generation.classifier, events);
    let window = Window::local_day(date(day), tz("UTC")).unwrap();
    let catalog = &generation.classifier.catalog;
    audit(
        &store,
        &labels,
        catalog,
        login,
        window,
        generation.config.stale_after_ms,
    )
}

/// One report under `examples/expected/`: what `report` prints for it.
pub struct Expected {
    pub path: std::path::PathBuf,
    pub login: String,
    pub date: String,
    pub zone: String,
    pub format: String,
}

/// Every report under `examples/expected/<login>/<date>_<zone with / as ->.<format>`.
pub fn expected_reports() -> Vec<Expected> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for agent_dir in std::fs::read_dir(root.join("examples/expected")).unwrap() {
        let agent_dir = agent_dir.unwrap().path();
        let login = agent_dir.file_name().unwrap().to_string_lossy().to_string();
        for file in std::fs::read_dir(&agent_dir).unwrap() {
            let path = file.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let format = path.extension().unwrap().to_string_lossy().to_string();
            // The example zones have one `/`.
            let (date, zone) = stem.split_once('_').unwrap();
            out.push(Expected {
                login: login.clone(),
                date: date.to_string(),
                zone: zone.replacen('-', "/", 1),
                format,
                path,
            });
        }
    }
    assert!(out.len() >= 8, "only {} expected reports found", out.len());
    out
}

/// Runs `cmd`, which must succeed, and returns what it printed on standard output.
pub fn stdout_of(cmd: &mut assert_cmd::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A configuration in `dir` whose `policies/users.toml` defines one user `u` with a
/// profile `P` holding `AccessMetrics`, and whose `policies/` also holds `files`; `config`
/// is added to the configuration file. Returns the configuration file.
pub fn one_user_config(
    dir: &std::path::Path,
    files: &[(&str, &str)],
    config: &str,
) -> std::path::PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("users.toml"),
        "[profiles.P]\npermissions = [\"AccessMetrics\"]\n\n[users.u]\nprofiles = [\"P\"]\n",
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(policies.join(name), text).unwrap();
    }
    let path = dir.join("agent-audit.toml");
    std::fs::write(&path, format!("policies = \"policies\"\n{config}")).unwrap();
    path
}

/// Copies the tree `from` to `to` (created).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
