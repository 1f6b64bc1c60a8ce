//! SPEC §3.8, §5, §7, §8: every row and every access decision is traceable to the events
//! and the rule behind it — row lineage, `explain`, and decisions that name their
//! `file:line`. Line numbers are read from the files themselves, never written down here.

use std::fs;
use std::path::{Path, PathBuf};

use agent_audit::catalog::{Catalog, CatalogName, Classifier};
use agent_audit::classify::classify;
use agent_audit::reduce::DEFAULT_STALE_AFTER_MS;
use agent_audit::store::{ReadOptions, Store};
use agent_audit::time::Window;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::*;

/// The 1-based line of the first line of `text` at or after line `from` that, trimmed,
/// starts with `start`.
fn line_from(text: &str, from: usize, start: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.trim_start().starts_with(start))
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("no line starts with {start:?}"))
}

fn line_of(text: &str, start: &str) -> usize {
    line_from(text, 1, start)
}

/// The `[[...]]` blocks of a TOML file: the header's line and the block's lines.
fn blocks(text: &str, header: &str) -> Vec<(usize, Vec<String>)> {
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('[') {
            out.extend(current.take());
            if line.trim() == header {
                current = Some((i + 1, Vec::new()));
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line.trim().to_string());
        }
    }
    out.extend(current);
    out
}

/// The header line of the first `[[contact_rule]]` of the shipped catalogue with this tier
/// and label.
fn contact_rule_line(file: &str, tier: u8, label: &str) -> usize {
    let text = fs::read_to_string(root().join(file)).unwrap();
    blocks(&text, "[[contact_rule]]")
        .into_iter()
        .find(|(_, lines)| {
            lines.contains(&format!("tier = {tier}"))
                && lines.contains(&format!("label = \"{label}\""))
        })
        .map(|(line, _)| line)
        .unwrap_or_else(|| panic!("no tier {tier} rule `{label}` in {file}"))
}

/// The header line of the `[[status]]` definition of `name` in a shipped file.
fn status_line(file: &str, name: &str) -> usize {
    let text = fs::read_to_string(root().join(file)).unwrap();
    blocks(&text, "[[status]]")
        .into_iter()
        .find(|(_, lines)| lines.contains(&format!("name = \"{name}\"")))
        .map(|(line, _)| line)
        .unwrap_or_else(|| panic!("no status `{name}` in {file}"))
}

/// One agent whose only contact is `c` from 09:00 UTC, Available before it.
fn with_contact(c: Value) -> Vec<Event> {
    vec![
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z")
            .status("Available")
            .contact(c),
    ]
}

#[test]
fn each_catalogue_tier_names_the_line_of_its_contact_rule() {
    let cases: [(u8, Value); 5] = [
        (1, contact("c", "VOICE", "INBOUND", "ERROR")),
        (2, contact("c", "VOICE", "INBOUND", "MISSED")),
        (3, connected(contact("c", "VOICE", "INBOUND", "CONNECTED"))),
        (4, connected(contact("c", "CHAT", "API", "ENDED"))),
        (5, contact("c", "VOICE", "INBOUND", "INCOMING")),
    ];
    for catalog in CatalogName::ALL {
        let (file, _) = catalog.source();
        for (tier, c) in &cases {
            let r = report_with(catalog, &with_contact(c.clone()), "a", "2026-11-03", "UTC");
            let row = r.rows.last().unwrap();
            let line = contact_rule_line(file, *tier, &row.status);
            assert_eq!(row.rule, format!("{file}:{line}"), "{catalog} tier {tier}");
        }
        // No contact: the agent status decides, and its definition is the rule.
        let r = report_with(
            catalog,
            &with_contact(Value::Null)[..1],
            "a",
            "2026-11-03",
            "UTC",
        );
        let row = r.rows.last().unwrap();
        assert_eq!(row.status, "Available");
        let line = status_line(file, "Available");
        assert_eq!(row.rule, format!("{file}:{line}"), "{catalog}");
    }
}

#[test]
fn a_status_no_file_defines_is_decided_by_the_agent_status() {
    let r = report(
        &[event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Lunch")],
        "a",
        "2026-11-03",
        "UTC",
    );
    assert_eq!(r.rows.last().unwrap().rule, "agent status");
}

#[test]
fn a_status_file_definition_is_the_rule_of_its_status() {
    let s = setup(
        &[(
            "org.toml",
            "# Our statuses\n\n[[status]]\nname = \"Lunch\"\ntype = \"CUSTOM\"\n",
        )],
        "",
    );
    let g = s.generation().unwrap();
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Lunch")];
    let r = report_under(&g, &events, "a", "2026-11-03").unwrap();
    let file = s.dir.path().join("scripts/org.toml");
    assert_eq!(r.rows.last().unwrap().rule, format!("{}:3", file.display()));
}

const BREAK_RHAI: &str = r#"// Every break is one "Break".
fn is_break(snap) {
    return snap.status.name == "Lunch" || snap.status.name == "Coffee";
}

fn classify(snap) {
    if snap.contacts.len() > 0 {
        return ();
    }
    if is_break(snap) {
        return "Break";
    }
    if snap.status.name == "Training" {
        "Learning"
    }
}
"#;

const BREAK_LUA: &str = r#"-- Every break is one "Break".
local function is_break(snap)
    return snap.status.name == "Lunch" or snap.status.name == "Coffee"
end

function classify(snap)
    if #snap.contacts > 0 then
        return nil
    end
    if is_break(snap) then
        return "Break"
    end
    if snap.status.name == "Training" then
        return "Learning"
    end
end
"#;

/// The rule of the last row of `events` under a configuration of one script.
fn hook_rule(name: &str, source: &str, status: &str) -> (String, PathBuf) {
    let s = setup(&[(name, source)], "");
    let g = s.generation().unwrap();
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status(status)];
    let r = report_under(&g, &events, "a", "2026-11-03").unwrap();
    (
        r.rows.last().unwrap().rule.clone(),
        s.dir.path().join("scripts").join(name),
    )
}

#[test]
fn a_rhai_hook_and_the_same_lua_hook_name_the_same_return_line() {
    for (name, source) in [("break.rhai", BREAK_RHAI), ("break.lua", BREAK_LUA)] {
        let (rule, file) = hook_rule(name, source, "Coffee");
        // The hook's own `return`, not the one inside the helper it called.
        let line = line_of(source, "return \"Break\"");
        assert_eq!(rule, format!("{}:{line}", file.display()), "{name}");
    }
    let rhai = hook_rule("break.rhai", BREAK_RHAI, "Coffee").0;
    let lua = hook_rule("break.lua", BREAK_LUA, "Coffee").0;
    assert_eq!(rhai.rsplit(':').next(), lua.rsplit(':').next());
    // A Rhai hook that gives its label as its last expression, with no `return`, names
    // the hook itself.
    let (rule, file) = hook_rule("break.rhai", BREAK_RHAI, "Training");
    let line = line_of(BREAK_RHAI, "fn classify");
    assert_eq!(rule, format!("{}:{line}", file.display()));
}

#[test]
fn a_return_in_a_switch_arm_or_a_tail_call_names_its_own_line() {
    let rhai = r#"fn pick(snap) { "Cup" }
fn classify(snap) {
    let note = "return \"Break\" is not code";
    switch snap.status.name {
        "Lunch" => return "Break",
        "Coffee" => return pick(snap),
        _ => ()
    }
}
"#;
    let lua = r#"local function pick(snap) return "Cup" end
function classify(snap)
    local note = "return 'Break' is not code" -- return
    --[[ return "x" ]]
    if snap.status.name == "Lunch" then return "Break" end
    if snap.status.name == "Coffee" then return pick(snap) end
    return nil
end
"#;
    for (name, source) in [("s.rhai", rhai), ("s.lua", lua)] {
        for (status, line) in [("Lunch", 5), ("Coffee", 6)] {
            let (rule, file) = hook_rule(name, source, status);
            assert_eq!(
                rule,
                format!("{}:{line}", file.display()),
                "{name} {status}"
            );
        }
    }
}

#[test]
fn an_error_after_a_marked_return_is_placed_in_the_source_as_written() {
    let source = "fn classify(snap) {\n    return snap.status.nope;\n}\n";
    let s = setup(&[("bad.rhai", source)], "");
    let g = s.generation().unwrap();
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Lunch")];
    let err = report_under(&g, &events, "a", "2026-11-03")
        .unwrap_err()
        .to_string();
    let column = source.lines().nth(1).unwrap().find("nope").unwrap() + 1;
    assert!(err.contains(&format!("bad.rhai:2:{column}:")), "{err}");
}

#[test]
fn the_shipped_hooks_name_their_return_in_their_own_files() {
    for name in ["break-as-one.rhai", "break-as-one.lua"] {
        let source = fs::read_to_string(root().join("scripts").join(name)).unwrap();
        let (rule, file) = hook_rule(name, &source, "Lunch");
        let line = line_of(&source, "return \"Break\"");
        assert_eq!(rule, format!("{}:{line}", file.display()), "{name}");
    }
}

/// Every agent of the example events, read and classified with the embedded defaults.
fn example_store() -> (Store, agent_audit::classify::Labels, Classifier) {
    let classifier = Classifier::rules_only(Catalog::builtin(CatalogName::Connect).unwrap());
    let sources =
        agent_audit::input::expand(&[root().join("examples/events")], &Default::default()).unwrap();
    let store = Store::read(&sources, &ReadOptions::default()).unwrap();
    let labels = classify(&store, &classifier);
    (store, labels, classifier)
}

#[test]
fn lineage_counts_add_up_to_the_events_in_the_window() {
    let (store, labels, classifier) = example_store();
    let mut checked = 0;
    for agent in &store.agents {
        for day in ["2026-11-02", "2026-11-03"] {
            for zone in ["America/New_York", "Asia/Tokyo"] {
                let window = Window::local_day(date(day), tz(zone)).unwrap();
                let r = audit(
                    &store,
                    &labels,
                    &classifier.catalog,
                    &agent.profile.login,
                    window,
                    DEFAULT_STALE_AFTER_MS,
                )
                .unwrap();
                let sum: usize = r.rows.iter().map(|row| row.events).sum();
                assert_eq!(
                    sum, r.coverage.events_in_window,
                    "{} {day} {zone}",
                    agent.profile.login
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 12);
}

#[test]
fn a_row_names_the_event_that_started_it() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z")
            .status("Available")
            .id("11111111-1111-4111-8111-111111111111"),
        event("a", "HEART_BEAT", "2026-11-03T08:02:00.000Z").status("Available"),
        // An event without a snapshot is inside the row too.
        event("a", "STATE_CHANGE", "2026-11-03T08:03:00.000Z").without_current(),
        event("a", "STATE_CHANGE", "2026-11-03T08:04:00.000Z")
            .status("Lunch")
            .id("not-a-uuid-but-an-id"),
    ];
    let r = report(&events, "a", "2026-11-03", "UTC");
    let ids: Vec<(Option<&str>, usize)> = r
        .rows
        .iter()
        .map(|row| (row.first_event_id.as_deref(), row.events))
        .collect();
    assert_eq!(
        ids,
        [
            // Offline before the LOGIN: the LOGIN says so.
            (Some("11111111-1111-4111-8111-111111111111"), 0),
            (Some("11111111-1111-4111-8111-111111111111"), 3),
            (Some("not-a-uuid-but-an-id"), 1),
        ]
    );
}

/// `agent-audit explain --events examples/events --agent AGENT --at AT`, from the root.
fn explain_cmd(agent: &str, at: &str) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.current_dir(root()).args([
        "explain",
        "--events",
        "examples/events",
        "--agent",
        agent,
        "--at",
        at,
    ]);
    cmd
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explain_at_an_instant_inside_every_row_names_the_same_row_and_rule() {
    let config = root().join("examples/agent-audit.toml");
    let report = json(
        &report_cmd("examples/events", "jdoe", "2026-11-02", "America/New_York")
            .current_dir(root())
            .arg("--config")
            .arg(&config)
            .args(["--format", "json"])
            .output()
            .unwrap(),
    );
    let rows = report["rows"].as_array().unwrap();
    assert!(rows.len() > 10);
    for (i, row) in rows.iter().enumerate() {
        // The middle of the row, as a local time in the report's zone.
        let start =
            agent_audit::time::Timestamp::parse_rfc3339(row["start"].as_str().unwrap()).unwrap();
        let mid = agent_audit::time::Timestamp(start.0 + row["duration_ms"].as_i64().unwrap() / 2);
        let local = mid
            .in_zone(tz("America/New_York"))
            .format("%Y-%m-%dT%H:%M:%S%.3f");
        let e = json(
            &explain_cmd("jdoe", &local.to_string())
                .args(["--timezone", "America/New_York"])
                .arg("--config")
                .arg(&config)
                .args(["--format", "json"])
                .output()
                .unwrap(),
        );
        assert_eq!(e["row_number"], i + 1);
        for key in ["status", "start", "end", "events", "first_event_id", "rule"] {
            assert_eq!(e["row"][key], row[key], "row {} {key}", i + 1);
        }
        let steps = e["steps"].as_array().unwrap();
        let last = steps.last().unwrap();
        assert_eq!(last["kind"], "decided");
        assert_eq!(last["rule"], row["rule"], "row {}", i + 1);
        assert_eq!(last["label"], row["status"], "row {}", i + 1);
        let events = e["events"].as_array().unwrap();
        assert_eq!(events.len() as u64, row["events"].as_u64().unwrap());
        assert!(events.iter().all(|ev| ev["record"].is_string()), "{e}");
    }
}

#[test]
fn explain_names_the_file_line_and_column_of_each_record() {
    // The night export is a JSON array of pretty-printed objects, a record every many lines.
    let e = json(
        &explain_cmd("mrivera", "2026-11-03T05:05:00Z")
            .args(["--format", "json"])
            .output()
            .unwrap(),
    );
    let mut checked = 0;
    let mut events = e["events"].as_array().unwrap().clone();
    events.push(e["cause"]["event"].clone());
    for ev in events {
        let record = ev["record"].as_str().unwrap();
        let mut parts = record.rsplitn(3, ':');
        let column: usize = parts.next().unwrap().parse().unwrap();
        let line: usize = parts.next().unwrap().parse().unwrap();
        let file = parts.next().unwrap();
        if file.ends_with(".gz") {
            continue;
        }
        let text = fs::read_to_string(root().join(file)).unwrap();
        let from: usize = text
            .lines()
            .take(line - 1)
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + column
            - 1;
        let record_text = &text[from..];
        assert!(record_text.starts_with('{'), "{record}");
        // The record's own `EventId`, before the next record starts.
        let end = record_text[1..]
            .find("\n {")
            .map_or(record_text.len(), |i| i + 1);
        let id = ev["event_id"].as_str().unwrap();
        assert!(
            record_text[..end].contains(&format!("\"EventId\": \"{id}\"")),
            "{record} is not the record of {id}"
        );
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

#[test]
fn explain_in_text_says_what_decided_in_words() {
    let out = explain_cmd("jdoe", "2026-11-02 08:20")
        .args(["--timezone", "America/New_York"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let file = "scripts/catalogs/connect.toml";
    let rule = format!("{file}:{}", contact_rule_line(file, 3, "Connected"));
    assert!(text.contains("`jdoe` is in row"), "{text}");
    assert!(text.contains("Events inside the row"), "{text}");
    assert!(text.contains("the first matching rule is"), "{text}");
    assert!(
        text.contains(&format!("decided: `Connected`, by {rule}")),
        "{text}"
    );
    // The same instant in UTC names the same row.
    let utc = explain_cmd("jdoe", "2026-11-02T13:20:00Z")
        .args(["--timezone", "America/New_York"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(utc.stdout).unwrap(), text);
}

#[test]
fn explain_before_the_first_event_of_a_login_day_says_no_row_covers_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("e.jsonl");
    fs::write(
        &path,
        lines(&[event("a", "STATE_CHANGE", "2026-11-03T08:00:00.000Z").status("Available")]),
    )
    .unwrap();
    bin()
        .args(["explain", "--events"])
        .arg(&path)
        .args(["--agent", "a", "--at", "2026-11-03T07:00:00Z"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no row of `a` covers"));
}

#[test]
fn explain_is_checked_and_recorded_like_a_report() {
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("policies")).unwrap();
    fs::write(
        dir.path().join("policies/users.toml"),
        "[profiles.Admin]\npermissions = [\"AccessMetrics\"]\n\n[users.admin]\nprofiles = [\"Admin\"]\n",
    )
    .unwrap();
    let config = dir.path().join("c.toml");
    fs::write(
        &config,
        "policies = \"policies\"\ndecision_log = \"d.jsonl\"\n",
    )
    .unwrap();
    let explain = |requester: Option<&str>| {
        let mut cmd = explain_cmd("jdoe", "2026-11-02T13:20:00Z");
        cmd.arg("--config").arg(&config);
        if let Some(r) = requester {
            cmd.args(["--as", r]);
        }
        cmd.output().unwrap()
    };
    assert_eq!(explain(None).status.code(), Some(1));
    assert_eq!(explain(Some("admin")).status.code(), Some(0));
    let log = fs::read_to_string(dir.path().join("d.jsonl")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["command"] == "explain"));
}

#[test]
fn lineage_columns_are_opt_in_for_csv_and_html_from_the_config_or_the_batch() {
    let events = [event("a", "LOGIN", "2026-11-03T08:00:00.000Z")
        .status("Available")
        .id("22222222-2222-4222-8222-222222222222")];
    let s = setup(
        &[],
        "[report]\ncolumns = [\"status\", \"events\", \"first_event_id\", \"rule\"]\n\
         [report.headers]\nrule = \"Decided by\"\n",
    );
    let path = s.events(&events);
    let out = report_cmd(&path, "a", "2026-11-03", "UTC")
        .arg("--config")
        .arg(&s.config)
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let catalog = "scripts/catalogs/connect.toml";
    let (offline, available) = (
        status_line(catalog, "Offline"),
        status_line(catalog, "Available"),
    );
    let id = "22222222-2222-4222-8222-222222222222";
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "Status,Events,First event ID,Decided by".to_string(),
            format!("Offline,0,{id},{catalog}:{offline}"),
            format!("Available,1,{id},{catalog}:{available}"),
        ]
    );
    let html = report_cmd(&path, "a", "2026-11-03", "UTC")
        .arg("--config")
        .arg(&s.config)
        .args(["--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.contains("<th scope=\"col\">Decided by</th>"), "{html}");
    // Without the columns the CSV is as before, and the batch file can ask for them.
    let default = report_cmd(&path, "a", "2026-11-03", "UTC")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(default.stdout)
            .unwrap()
            .starts_with("Agent login,Status,Start time,End time,Duration,Duration (s),Flags\n")
    );
    let batch = s.dir.path().join("batch.toml");
    fs::write(
        &batch,
        "events = [\"events.jsonl\"]\nout_dir = \"out\"\ntimezone = \"UTC\"\n\
         columns = [\"agent_login\", \"rule\"]\n\n[[report]]\nagents = [\"a\"]\ndates = [\"2026-11-03\"]\n",
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .arg("--quiet")
        .assert()
        .success();
    let written = fs::read_to_string(s.dir.path().join("out/a/2026-11-03_UTC.csv")).unwrap();
    assert_eq!(written.lines().next(), Some("Agent login,Rule"));
}

#[test]
fn every_html_block_shows_its_lineage_in_its_details() {
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z")
            .status("Available")
            .id("33333333-3333-4333-8333-333333333333"),
        event("a", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").status("Lunch"),
    ];
    let r = report(&events, "a", "2026-11-03", "UTC");
    let html = String::from_utf8(
        agent_audit::report::render(
            &r,
            agent_audit::report::Kind::Audit,
            agent_audit::report::Format::Html,
            &agent_audit::report::columns::default_columns(),
        )
        .unwrap(),
    )
    .unwrap();
    for row in &r.rows {
        let details = format!(
            "{} event(s), first EventId {}<br>rule {}",
            row.events,
            row.first_event_id.as_deref().unwrap_or("(none)"),
            row.rule
        );
        assert!(html.contains(&details), "{details}");
    }
}

/// A configuration with users and one policy script, and the decision log it writes to.
fn secured(policy: (&str, &str)) -> (TempDir, PathBuf, String) {
    let users = "# Users of the test\n\n[profiles.Supervisor]\npermissions = [\"AgentActivityAudit.Access\"]\nhierarchy = \"own\"\n\n\
                 [profiles.Admin]\npermissions = [\"AccessMetrics\"]\n\n\
                 [users.alice]\nprofiles = [\"Supervisor\"]\nhierarchy = [\"NA\", \"Site 1\"]\n\n\
                 [users.root]\nprofiles = [\"Admin\"]\n";
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("policies")).unwrap();
    fs::write(dir.path().join("policies/users.toml"), users).unwrap();
    fs::write(dir.path().join("policies").join(policy.0), policy.1).unwrap();
    let config = dir.path().join("c.toml");
    fs::write(
        &config,
        "policies = \"policies\"\ndecision_log = \"d.jsonl\"\n",
    )
    .unwrap();
    (dir, config, users.to_string())
}

/// Runs `report --as requester` for `agent` (in `group`), and returns the logged rule.
fn logged_rule(
    dir: &TempDir,
    config: &Path,
    requester: &str,
    agent: &str,
    group: &[&str],
) -> String {
    let path = dir.path().join("e.jsonl");
    fs::write(
        &path,
        lines(&[event(agent, "LOGIN", "2026-11-03T08:00:00.000Z")
            .status("Available")
            .hierarchy(group)]),
    )
    .unwrap();
    let _ = report_cmd(&path, agent, "2026-11-03", "UTC")
        .arg("--config")
        .arg(config)
        .args(["--as", requester])
        .env("AGENT_AUDIT_TODAY", "2026-11-04")
        .output()
        .unwrap();
    let log = fs::read_to_string(dir.path().join("d.jsonl")).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    last["rule"].as_str().unwrap().to_string()
}

const FORBID_RHAI: &str = r#"// No self-audit.
fn authorize(req) {
    if req.agent.login == "bob" {
        return ();
    }
    if req.requester.login == req.agent.login {
        return #{ decision: "forbid", reason: "self" };
    }
    ()
}
"#;

const FORBID_LUA: &str = r#"-- No self-audit.
function authorize(req)
    if req.agent.login == "bob" then
        return nil
    end
    if req.requester.login == req.agent.login then
        return { decision = "forbid", reason = "self" }
    end
    return nil
end
"#;

#[test]
fn the_decision_log_names_the_return_that_forbade_in_rhai_and_lua() {
    for (name, source) in [("self.rhai", FORBID_RHAI), ("self.lua", FORBID_LUA)] {
        let (dir, config, _) = secured((name, source));
        let rule = logged_rule(&dir, &config, "root", "root", &[]);
        let file = dir.path().join("policies").join(name);
        // The `return` of the forbid, not the `authorize` line.
        let forbid = source
            .lines()
            .position(|l| l.contains("\"forbid\""))
            .unwrap()
            + 1;
        assert_eq!(rule, format!("{}:{forbid}", file.display()), "{name}");
    }
}

#[test]
fn built_in_decisions_name_the_profile_and_hierarchy_lines() {
    let (dir, config, users) = secured(("none.lua", "function authorize(req) return nil end\n"));
    let file = dir.path().join("policies/users.toml").display().to_string();
    let profile = line_of(&users, "[profiles.Supervisor]");
    let scope = line_from(&users, profile, "hierarchy = \"own\"");
    let expected =
        format!("{file}:{profile} (profile Supervisor), {file}:{scope} (hierarchy \"own\")");
    // Allowed and denied by the same profile's access control.
    assert_eq!(
        logged_rule(&dir, &config, "alice", "agent", &["NA", "Site 1", "Team"]),
        expected
    );
    assert_eq!(
        logged_rule(&dir, &config, "alice", "agent", &["NA", "Site 2"]),
        expected
    );
    let admin = line_of(&users, "[profiles.Admin]");
    assert_eq!(
        logged_rule(&dir, &config, "root", "agent", &["EMEA"]),
        format!("{file}:{admin} (profile Admin), no hierarchy restriction")
    );
    // An unknown requester: access control is on, because of the first user.
    let first = line_of(&users, "[users.alice]");
    assert_eq!(
        logged_rule(&dir, &config, "mallory", "agent", &[]),
        format!("{file}:{first} (access control is on: the first user, alice, is defined here)")
    );
}

/// The README's *Tracing a row* shows a real explanation: it is what `explain` prints today
/// for the command shown above it (run from the root, like the README's commands).
#[test]
fn the_readme_explanation_is_what_explain_prints() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Tracing a row")
        .expect("a Tracing a row section")..];
    let command = section
        .lines()
        .find(|l| l.starts_with("./target/release/agent-audit explain "))
        .expect("an explain command in Tracing a row");
    let shown = section
        .split("```\n")
        .nth(2)
        .expect("the explanation's block after the command's");
    let args = shlex_words(command.trim_start_matches("./target/release/agent-audit "));
    let out = bin().current_dir(root()).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shown);
}

/// Words of a command line: spaces split, double quotes group (all the README uses).
fn shlex_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}
