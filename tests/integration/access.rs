//! SPEC §7: who may audit whom — permissions and their spellings, hierarchy access control,
//! policies that can only narrow access, and the decision log.

use std::fs;
use std::path::PathBuf;

use agent_audit::access::{Decision, GroupPath, Request};
use agent_audit::generation::Generation;
use predicates::str::contains;
use proptest::prelude::*;
use tempfile::TempDir;

use crate::support::*;

/// A configuration whose `policies/` holds `files`, with a decision log.
struct Policies {
    dir: TempDir,
    config: PathBuf,
}

fn policies(files: &[(&str, &str)]) -> Policies {
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("policies");
    fs::create_dir_all(&p).unwrap();
    for (name, text) in files {
        fs::write(p.join(name), text).unwrap();
    }
    let config = dir.path().join("agent-audit.toml");
    fs::write(
        &config,
        "policies = \"policies\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    Policies { dir, config }
}

impl Policies {
    fn generation(&self) -> Generation {
        match Generation::load(Some(&self.config)) {
            Ok(g) => g,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn errors(&self) -> Vec<String> {
        match Generation::load(Some(&self.config)) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    fn log(&self) -> Vec<serde_json::Value> {
        let text = fs::read_to_string(self.dir.path().join("decisions.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn request(requester: Option<&str>, agent: &str, agent_hierarchy: &[&str]) -> Request {
    Request {
        requester: requester.map(String::from),
        agent: agent.to_string(),
        agent_hierarchy_from_events: (!agent_hierarchy.is_empty())
            .then(|| GroupPath::from_names(agent_hierarchy)),
        date: date("2026-11-02"),
        timezone: tz("UTC"),
        today: date("2026-11-03"),
    }
}

fn decide(g: &Generation, requester: &str, agent: &str, agent_hierarchy: &[&str]) -> Decision {
    g.access
        .decide(&request(Some(requester), agent, agent_hierarchy))
}

/// The 1-based line of the first line of `text` that starts with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines().position(|l| l.starts_with(start)).unwrap() + 1
}

/// A users file with one user `u` holding one profile `P` with these permissions.
fn one_profile(permissions: &[&str], hierarchy: Option<&str>) -> String {
    let perms: Vec<String> = permissions.iter().map(|p| format!("\"{p}\"")).collect();
    let scope = hierarchy
        .map(|h| format!("hierarchy = \"{h}\"\n"))
        .unwrap_or_default();
    format!(
        "[profiles.P]\npermissions = [{}]\n{scope}\n[users.u]\nprofiles = [\"P\"]\nhierarchy = [\"NA\", \"Site 1\"]\n",
        perms.join(", ")
    )
}

fn may_audit(permissions: &[&str]) -> bool {
    let p = policies(&[("users.toml", &one_profile(permissions, None))]);
    decide(&p.generation(), "u", "agent", &["NA", "Site 1"]).allowed
}

#[test]
fn the_permission_matrix() {
    // Each permission alone, in each of its spellings.
    let alone: [(&[&str], bool); 6] = [
        (&["Access metrics - Access", "AccessMetrics"], true),
        (
            &[
                "Agent activity audit - Access",
                "AccessMetrics.AgentActivityAudit.Access",
                "AgentActivityAudit.Access",
            ],
            true,
        ),
        (
            &[
                "Real-time metrics - Access",
                "AccessMetrics.RealTimeMetrics.Access",
                "RealTimeMetrics.Access",
            ],
            false,
        ),
        (
            &[
                "Historical metrics - Access",
                "AccessMetrics.HistoricalMetrics.Access",
                "HistoricalMetrics.Access",
            ],
            false,
        ),
        (
            &["Dashboards - Access", "AccessMetrics.Dashboards.Access"],
            false,
        ),
        (&["Users - View", "Users.View"], false),
    ];
    for (spellings, allowed) in alone {
        for name in spellings {
            assert_eq!(may_audit(&[name]), allowed, "{name}");
        }
    }
    // Combinations: the three sub-permissions together are not the umbrella.
    assert!(!may_audit(&[
        "Real-time metrics - Access",
        "Historical metrics - Access",
        "Dashboards - Access"
    ]));
    assert!(may_audit(&[
        "Historical metrics - Access",
        "AgentActivityAudit.Access"
    ]));
    assert!(may_audit(&["Access metrics - Access", "Users - View"]));
}

#[test]
fn the_umbrella_implies_only_its_four_permissions() {
    let p = policies(&[("users.toml", &one_profile(&["AccessMetrics"], None))]);
    let g = p.generation();
    let user = g.access.user("u").unwrap();
    let names: Vec<&str> = g
        .access
        .effective_permissions(user)
        .iter()
        .map(|p| p.api_name())
        .collect();
    assert_eq!(
        names,
        [
            "AccessMetrics",
            "AccessMetrics.RealTimeMetrics.Access",
            "AccessMetrics.HistoricalMetrics.Access",
            "AccessMetrics.AgentActivityAudit.Access",
            "AccessMetrics.Dashboards.Access"
        ]
    );
}

#[test]
fn an_unknown_permission_or_profile_is_a_configuration_error() {
    let p = policies(&[(
        "users.toml",
        "[profiles.P]\npermissions = [\"Agent activity audit\"]\n",
    )]);
    let errors = p.errors();
    assert!(
        errors.iter().any(|e| e.contains("users.toml:2:16: unknown permission `Agent activity audit`; did you mean `Agent activity audit - Access`")),
        "{errors:?}"
    );
    let p = policies(&[(
        "users.toml",
        "[profiles.Supervisor]\npermissions = [\"AccessMetrics\"]\n[users.a]\nprofiles = [\"Supervsior\"]\n",
    )]);
    let errors = p.errors();
    assert!(
        errors.iter().any(|e| e.contains("users.toml:4:13: user `a` names an unknown profile `Supervsior`; did you mean `Supervisor`?")),
        "{errors:?}"
    );
}

#[test]
fn hierarchy_own_admits_the_group_and_its_descendants() {
    let p = policies(&[(
        "users.toml",
        &one_profile(&["AgentActivityAudit.Access"], Some("own")),
    )]);
    let g = p.generation();
    for agent in [
        &["NA", "Site 1"][..],
        &["NA", "Site 1", "Team A"],
        &["NA", "Site 1", "Team A", "Pod 2"],
        &["NA", "Site 1", "Team A", "Pod 2", "Shift 3"],
    ] {
        assert!(decide(&g, "u", "agent", agent).allowed, "{agent:?}");
    }
    let sibling = decide(&g, "u", "agent", &["NA", "Site 2"]);
    assert!(!sibling.allowed);
    assert!(
        sibling
            .reason
            .contains("`agent` is in NA / Site 2, outside `u`'s access"),
        "{}",
        sibling.reason
    );
    assert!(
        !decide(&g, "u", "agent", &["NA"]).allowed,
        "a parent group is not beneath"
    );
    assert!(
        !decide(&g, "u", "agent", &[]).allowed,
        "an unknown hierarchy is not admitted"
    );
}

#[test]
fn a_named_group_admits_that_group_and_beneath() {
    let p = policies(&[(
        "users.toml",
        &one_profile(&["AgentActivityAudit.Access"], Some("NA/Site 2")),
    )]);
    let g = p.generation();
    assert!(decide(&g, "u", "agent", &["NA", "Site 2", "Team B"]).allowed);
    assert!(!decide(&g, "u", "agent", &["NA", "Site 1"]).allowed);
}

#[test]
fn a_group_named_by_arn_matches_the_events_hierarchy() {
    let users = one_profile(&["AgentActivityAudit.Access"], Some("arn:group/Site 2"));
    let p = policies(&[("users.toml", &users)]);
    let g = p.generation();
    // The support builder gives each level the ARN `arn:group/<name>`.
    let events = [event("agent", "LOGIN", "2026-11-02T08:00:00.000Z")
        .status("Available")
        .hierarchy(&["NA", "Site 2", "Team B"])];
    let (store, _) = ingest_with(&g.classifier, &events);
    let agent = store.find_agent("agent").unwrap();
    let mut req = request(Some("u"), "agent", &[]);
    req.agent_hierarchy_from_events = agent_audit::access::hierarchy_of(&agent.profile);
    assert!(g.access.decide(&req).allowed);
    req.agent_hierarchy_from_events = Some(GroupPath::from_names(&["NA", "Site 2"]));
    assert!(
        !g.access.decide(&req).allowed,
        "names alone do not match an ARN"
    );
}

#[test]
fn the_users_file_hierarchy_of_an_agent_wins_over_the_events() {
    let users = format!(
        "{}\n[users.agent]\nhierarchy = [\"NA\", \"Site 1\", \"Team A\"]\n",
        one_profile(&["AgentActivityAudit.Access"], Some("own"))
    );
    let p = policies(&[("users.toml", &users)]);
    let g = p.generation();
    assert!(decide(&g, "u", "agent", &["EMEA", "Elsewhere"]).allowed);
}

#[test]
fn across_two_profiles_the_least_restrictive_wins() {
    let two = "[profiles.Restricted]\npermissions = [\"AgentActivityAudit.Access\"]\nhierarchy = \"own\"\n\
               [profiles.Open]\npermissions = [\"AccessMetrics\"]\n\
               [profiles.Other]\npermissions = [\"AgentActivityAudit.Access\"]\nhierarchy = \"EMEA\"\n\
               [users.both]\nprofiles = [\"Restricted\", \"Open\"]\nhierarchy = [\"NA\", \"Site 1\"]\n\
               [users.two_groups]\nprofiles = [\"Restricted\", \"Other\"]\nhierarchy = [\"NA\", \"Site 1\"]\n";
    let p = policies(&[("users.toml", two)]);
    let g = p.generation();
    let d = decide(&g, "both", "agent", &["APAC", "Sydney"]);
    assert!(d.allowed);
    let users = p.dir.path().join("policies/users.toml");
    assert_eq!(
        d.rule,
        format!(
            "{}:{} (profile Open), no hierarchy restriction",
            users.display(),
            line_of(two, "[profiles.Open]")
        )
    );
    assert!(decide(&g, "two_groups", "agent", &["NA", "Site 1", "X"]).allowed);
    assert!(decide(&g, "two_groups", "agent", &["EMEA", "Paris"]).allowed);
    assert!(!decide(&g, "two_groups", "agent", &["APAC", "Sydney"]).allowed);
}

#[test]
fn access_control_is_on_as_soon_as_there_is_a_user() {
    let p = policies(&[("users.toml", &one_profile(&["AccessMetrics"], None))]);
    let g = p.generation();
    let anonymous = g.access.decide(&request(None, "agent", &[]));
    assert!(!anonymous.allowed);
    assert!(anonymous.reason.contains("--as"), "{}", anonymous.reason);
    let stranger = decide(&g, "mallory", "agent", &[]);
    assert!(!stranger.allowed);
    // What denies is that access control is on: where the first user is defined.
    let users = p.dir.path().join("policies/users.toml");
    let text = one_profile(&["AccessMetrics"], None);
    assert_eq!(
        stranger.rule,
        format!(
            "{}:{} (access control is on: the first user, u, is defined here)",
            users.display(),
            line_of(&text, "[users.u]")
        )
    );
    assert_eq!(anonymous.rule, stranger.rule);
    // Without users (the embedded default) no requester is needed.
    let g = Generation::embedded().unwrap();
    assert!(g.access.decide(&request(None, "agent", &[])).allowed);
}

const FORBID_SELF_RHAI: &str = r#"fn authorize(req) { if req.requester.login == req.agent.login { #{ decision: "forbid", reason: "self" } } else { () } }"#;
const FORBID_SELF_LUA: &str = r#"function authorize(req) if req.requester.login == req.agent.login then return { decision = "forbid", reason = "self" } end end"#;

#[test]
fn policies_narrow_access_in_both_languages() {
    for (name, src) in [
        ("self.rhai", FORBID_SELF_RHAI),
        ("self.lua", FORBID_SELF_LUA),
    ] {
        let p = policies(&[
            ("users.toml", &one_profile(&["AccessMetrics"], None)),
            (name, src),
        ]);
        let g = p.generation();
        assert!(decide(&g, "u", "agent", &[]).allowed, "{name}");
        let own = decide(&g, "u", "u", &[]);
        assert!(!own.allowed, "{name}");
        assert_eq!(own.reason, "self");
        assert!(
            own.rule.starts_with(&format!(
                "{}:1",
                p.dir.path().join("policies").join(name).display()
            )),
            "{}",
            own.rule
        );
        // A policy cannot widen access: "permit" does not override a missing permission.
        let permit = if name.ends_with(".rhai") {
            "fn authorize(req) { \"permit\" }"
        } else {
            "function authorize(req) return \"permit\" end"
        };
        let ext = name.rsplit('.').next().unwrap_or("");
        let p = policies(&[
            ("users.toml", &one_profile(&["Users.View"], None)),
            (&format!("permit.{ext}"), permit),
        ]);
        assert!(!decide(&p.generation(), "u", "agent", &[]).allowed);
    }
}

#[test]
fn a_failing_or_confused_policy_forbids() {
    let cases = [
        (
            "loop.rhai",
            "fn authorize(req) { loop {} }",
            "operation budget exceeded",
        ),
        (
            "loop.lua",
            "function authorize(req) while true do end end",
            "operation budget exceeded",
        ),
        ("error.rhai", "fn authorize(req) { throw \"oops\" }", "oops"),
        (
            "error.lua",
            "function authorize(req) error('oops') end",
            "oops",
        ),
        (
            "garbage.rhai",
            "fn authorize(req) { 42 }",
            "returned a number",
        ),
        (
            "garbage.lua",
            "function authorize(req) return { 1, 2, 3 } end",
            "returned a list",
        ),
        (
            "maybe.rhai",
            "fn authorize(req) { \"maybe\" }",
            "the decision `maybe`",
        ),
        (
            "nodecision.lua",
            "function authorize(req) return { reason = 'x' } end",
            "without a `decision`",
        ),
    ];
    for (name, src, why) in cases {
        let p = policies(&[
            ("users.toml", &one_profile(&["AccessMetrics"], None)),
            (name, src),
        ]);
        let d = decide(&p.generation(), "u", "agent", &[]);
        assert!(!d.allowed, "{name}");
        assert!(
            d.reason.contains("fail closed") && d.reason.contains(why),
            "{name}: {}",
            d.reason
        );
    }
}

#[test]
fn a_policy_script_must_define_authorize() {
    let p = policies(&[("nothing.lua", "x = 1")]);
    assert!(
        p.errors()
            .iter()
            .any(|e| e.contains("must define `authorize(req)`"))
    );
}

/// Policies to draw from: (name, source), Rhai and Lua alike.
const MENU: [(&str, &str); 8] = [
    ("permit.rhai", "fn authorize(req) { \"permit\" }"),
    ("none.lua", "function authorize(req) return nil end"),
    ("self.rhai", FORBID_SELF_RHAI),
    ("self.lua", FORBID_SELF_LUA),
    (
        "old.lua",
        "function authorize(req) if req.days_ago > 3 then return 'forbid' end end",
    ),
    (
        "siteb.rhai",
        "fn authorize(req) { if \"Site B\" in req.agent.hierarchy { \"forbid\" } else { () } }",
    ),
    (
        "error.lua",
        "function authorize(req) if req.agent.login == 'b' then error('x') end end",
    ),
    (
        "garbage.rhai",
        "fn authorize(req) { if req.agent.login == \"c\" { 7 } else { () } }",
    ),
];

fn decisions(files: &[(String, &str)]) -> Vec<bool> {
    let users = "[profiles.Sup]\npermissions = [\"AccessMetrics\"]\nhierarchy = \"own\"\n\
                 [profiles.All]\npermissions = [\"AgentActivityAudit.Access\"]\n\
                 [users.a]\nprofiles = [\"Sup\"]\nhierarchy = [\"NA\"]\n\
                 [users.b]\nprofiles = [\"All\"]\n\
                 [users.c]\nprofiles = []\n";
    let mut all: Vec<(&str, &str)> = vec![("users.toml", users)];
    all.extend(files.iter().map(|(n, s)| (n.as_str(), *s)));
    let p = policies(&all);
    let g = p.generation();
    let mut out = Vec::new();
    for requester in ["a", "b", "c", "z"] {
        for (agent, hierarchy) in [
            ("a", &["NA"][..]),
            ("b", &["NA", "Site B"]),
            ("c", &["EMEA"]),
        ] {
            for days_ago in [1, 10] {
                let mut req = request(Some(requester), agent, hierarchy);
                req.today = req.date + chrono::Duration::days(days_ago);
                out.push(g.access.decide(&req).allowed);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(12)))]

    #[test]
    fn adding_a_forbid_never_allows_and_order_never_matters(
        picks in proptest::sample::subsequence((0..MENU.len()).collect::<Vec<_>>(), 0..=4),
        extra in 0..MENU.len(),
        rotation in 0usize..4,
    ) {
        let named = |order: &[usize]| -> Vec<(String, &'static str)> {
            order.iter().enumerate().map(|(i, &k)| (format!("{i:02}-{}", MENU[k].0), MENU[k].1)).collect()
        };
        let base = decisions(&named(&picks));
        let mut rotated = picks.clone();
        if !rotated.is_empty() {
            let n = rotated.len();
            rotated.rotate_left(rotation % n);
            rotated.reverse();
        }
        prop_assert_eq!(&decisions(&named(&rotated)), &base, "order changed a decision");
        let mut more = picks.clone();
        more.push(extra);
        let narrowed = decisions(&named(&more));
        for (before, after) in base.iter().zip(&narrowed) {
            prop_assert!(*before || !*after, "a policy turned a denial into an allow");
        }
    }
}

fn secure(dir: &TempDir) -> PathBuf {
    let users = "[profiles.Sup]\npermissions = [\"AccessMetrics\"]\nhierarchy = \"own\"\n\
                 [users.alice]\nprofiles = [\"Sup\"]\nhierarchy = [\"NA\", \"Site 1\"]\n";
    fs::create_dir_all(dir.path().join("policies")).unwrap();
    fs::write(dir.path().join("policies/users.toml"), users).unwrap();
    fs::write(dir.path().join("policies/self.lua"), FORBID_SELF_LUA).unwrap();
    let config = dir.path().join("secure.toml");
    fs::write(
        &config,
        "policies = \"policies\"\ndecision_log = \"log/decisions.jsonl\"\n",
    )
    .unwrap();
    let events = [
        event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["NA", "Site 1", "Team A"]),
        event("mrivera", "LOGIN", "2026-11-02T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["NA", "Site 2"]),
        event("alice", "LOGIN", "2026-11-02T13:00:00.000Z")
            .status("Available")
            .hierarchy(&["NA", "Site 1"]),
    ];
    fs::write(dir.path().join("events.jsonl"), lines(&events)).unwrap();
    config
}

#[test]
fn every_decision_is_logged_exactly_once_and_denials_write_nothing() {
    let dir = TempDir::new().unwrap();
    let config = secure(&dir);
    let events = dir.path().join("events.jsonl");
    let out = dir.path().join("out.csv");
    let run = |agent: &str, requester: Option<&str>| {
        let mut cmd = report_cmd(&events, agent, "2026-11-02", "UTC");
        cmd.arg("--config").arg(&config).arg("--out").arg(&out);
        if let Some(r) = requester {
            cmd.args(["--as", r]);
        }
        cmd
    };
    run("jdoe", Some("alice")).assert().success();
    assert!(out.exists());
    fs::remove_file(&out).unwrap();
    run("mrivera", Some("alice"))
        .assert()
        .code(1)
        .stderr(contains(
            "error: denied: `mrivera` is in NA / Site 2, outside `alice`'s access",
        ));
    run("alice", Some("alice"))
        .assert()
        .code(1)
        .stderr(contains("denied: self"));
    run("jdoe", None)
        .assert()
        .code(1)
        .stderr(contains("name the requester with `--as LOGIN`"));
    assert!(!out.exists(), "a denied report wrote {}", out.display());
    bin()
        .args([
            "authorize",
            "--as",
            "alice",
            "--agent",
            "jdoe",
            "--date",
            "2026-11-02",
            "--config",
        ])
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .assert()
        .success()
        .stdout(contains(
            "ALLOWED: `alice` may audit `jdoe` on 2026-11-02 (UTC)",
        ))
        .stdout(contains("through profile Sup"));

    let text = fs::read_to_string(dir.path().join("log/decisions.jsonl")).unwrap();
    let log: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(String, String, String, String)> = log
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or("-").to_string();
            (s("command"), s("requester"), s("agent"), s("decision"))
        })
        .collect();
    let row = |c: &str, r: &str, a: &str, d: &str| {
        (c.to_string(), r.to_string(), a.to_string(), d.to_string())
    };
    assert_eq!(
        summary,
        [
            row("report", "alice", "jdoe", "allowed"),
            row("report", "alice", "mrivera", "denied"),
            row("report", "alice", "alice", "denied"),
            row("report", "-", "jdoe", "denied"),
            row("authorize", "alice", "jdoe", "allowed"),
        ]
    );
    for line in &log {
        for key in [
            "time",
            "action",
            "date",
            "timezone",
            "rule",
            "reason",
            "configuration",
        ] {
            assert!(line[key].is_string(), "{key} missing in {line}");
        }
        assert_eq!(line["action"], "agent_activity_audit");
        assert_eq!(line["configuration"].as_str().map(str::len), Some(16));
    }
    assert!(
        log[2]["rule"]
            .as_str()
            .unwrap()
            .ends_with("policies/self.lua:1")
    );
}

#[test]
fn authorize_exits_1_when_denied_and_explains_why() {
    let dir = TempDir::new().unwrap();
    let config = secure(&dir);
    bin()
        .args([
            "authorize",
            "--as",
            "alice",
            "--agent",
            "mrivera",
            "--date",
            "2026-11-02",
            "--config",
        ])
        .arg(&config)
        .arg("--events")
        .arg(dir.path().join("events.jsonl"))
        .assert()
        .code(1)
        .stdout(contains("DENIED: `alice` may not audit `mrivera`"))
        .stdout(contains(format!(
            "decided by:    {users}:1 (profile Sup), {users}:3 (hierarchy \"own\")",
            users = dir.path().join("policies/users.toml").display()
        )))
        // Once: on standard output, not again as an error.
        .stderr(predicates::str::is_empty());
}

#[test]
fn authorize_without_events_says_the_hierarchy_is_unknown_and_that_events_supply_it() {
    let dir = TempDir::new().unwrap();
    let config = secure(&dir);
    bin()
        .args(["authorize", "--as", "alice", "--agent", "mrivera"])
        .args(["--date", "2026-11-02", "--config"])
        .arg(&config)
        .assert()
        .code(1)
        .stdout(contains(
            "note:          the hierarchy of `mrivera` is unknown: the users file does not give \
             it and no events were read; `--events PATH` supplies it",
        ));
}

#[test]
fn a_batch_without_a_requester_is_told_about_requester_in_the_batch_file() {
    let dir = TempDir::new().unwrap();
    let config = secure(&dir);
    let batch = dir.path().join("batch.toml");
    fs::write(
        &batch,
        format!(
            "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\nconfig = {:?}\n\
             [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\n",
            config.display().to_string()
        ),
    )
    .unwrap();
    bin()
        .arg("run")
        .arg(&batch)
        .assert()
        .code(1)
        .stderr(contains("`requester = \"LOGIN\"` in the batch file"));
}

#[test]
fn check_runs_the_decision_tests() {
    let failing = "[profiles.P]\npermissions = [\"Users.View\"]\n[users.u]\nprofiles = [\"P\"]\n\
                   [[test]]\nname = \"u audits\"\nrequester = \"u\"\nagent = \"x\"\nexpect = \"allow\"\n";
    let p = policies(&[("users.toml", failing)]);
    bin()
        .args(["check", "--config"])
        .arg(&p.config)
        .assert()
        .code(1)
        .stdout(contains(
            "users.toml:5:1: test `u audits` failed: expected allow, got denied",
        ));
    let lua = "function authorize(req) return nil end\n\
               function tests() return { { name = 't', requester = 'u', agent = 'x', expect = 'deny' } } end\n";
    let p = policies(&[
        ("users.toml", &one_profile(&["Users.View"], None)),
        ("p.lua", lua),
    ]);
    bin()
        .args(["check", "--config"])
        .arg(&p.config)
        .assert()
        .code(0)
        .stdout(contains("1 of 1 test(s) passed"));
    assert!(p.log().is_empty(), "tests are not decisions on record");
}

#[test]
fn the_shipped_policies_pass_their_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    bin()
        .current_dir(root)
        .args(["check", "--config", "examples/secure.toml"])
        .assert()
        .code(0)
        .stdout(contains("20 of 20 test(s) passed"));
}

#[test]
fn the_retention_policy_uses_the_requests_today() {
    let dir = TempDir::new().unwrap();
    let config = secure(&dir);
    let compliance =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/compliance.lua");
    fs::copy(compliance, dir.path().join("policies/compliance.lua")).unwrap();
    let events = dir.path().join("events.jsonl");
    report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .args(["--as", "alice", "--config"])
        .arg(&config)
        .env("AGENT_AUDIT_TODAY", "2029-01-01")
        .assert()
        .code(1)
        .stderr(contains("days old, beyond the 730-day retention window"));
}
