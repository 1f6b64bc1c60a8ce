//! Issue #12, SPEC §6: hostile scripts end in bounded time and memory, in both languages,
//! as a status hook (`classify`) and as a policy (`authorize`). A limit cannot be caught
//! by the script; a hook that hit one is disabled for the rest of the run; what scripts
//! print, and their error messages, are capped.
//!
//! Every case asserts what happened (the report failed, the request was denied, with the
//! limit's message); none asserts how long it took. The durations are printed
//! (`--nocapture`) so a reader can see each case end within twice its limit.

use std::time::{Duration, Instant};

use agent_audit::access::Request;
use agent_audit::generation::Generation;
use predicates::prelude::*;

use crate::support::*;

/// Only the wall clock can stop these: the operation budget is out of reach.
const TIME_ONLY: &str = "[limits]\noperations = 1000000000000\n";

const TIME: &str = "time limit exceeded";
const OPERATIONS: &str = "operation budget exceeded";
const MEMORY: &str = "memory limit exceeded";
const DEPTH: &str = "call stack too deep";

/// A hostile body, as `classify` and as `authorize`, in each language.
struct Case {
    name: &'static str,
    /// Lua: definitions before the hook, and the hook's body.
    lua: (&'static str, &'static str),
    /// Rhai: functions before the hook, and the hook's body.
    rhai: (&'static str, &'static str),
    config: &'static str,
    /// The message must contain one of these.
    expect: &'static [&'static str],
}

fn lua_script(hook: &str, arg: &str, (defs, body): (&str, &str)) -> String {
    format!("{defs}\nfunction {hook}({arg})\n  {body}\nend\n")
}

fn rhai_script(hook: &str, arg: &str, (defs, body): (&str, &str)) -> String {
    format!("{defs}\nfn {hook}({arg}) {{\n  {body}\n}}\n")
}

/// The report's error when `source` (file `file`) is the status hook.
fn classify_failure(file: &str, source: &str, config: &str) -> String {
    let s = setup(&[(file, source)], config);
    let g = match s.generation() {
        Ok(g) => g,
        Err(e) => panic!("{file} does not load: {e:?}"),
    };
    let events = [event("agent", "LOGIN", "2026-11-03T08:00:00.000Z")
        .status("Available")
        .id("ev-1")];
    match report_under(&g, &events, "agent", "2026-11-03") {
        Ok(r) => {
            let rows = format!("{:?}", rows(&r));
            panic!(
                "expected {file} to fail, got {}",
                &rows[..rows.len().min(300)]
            )
        }
        Err(e) => e.to_string(),
    }
}

/// A configuration with one user allowed by the built-in check, and `file` as a policy.
fn policy_generation(file: &str, source: &str, config: &str) -> (tempfile::TempDir, Generation) {
    let dir = tempfile::TempDir::new().unwrap();
    let path = one_user_config(dir.path(), &[(file, source)], config);
    let g = match Generation::load(Some(&path)) {
        Ok(g) => g,
        Err(e) => panic!("{file} does not load: {e:?}"),
    };
    (dir, g)
}

fn request(agent: &str) -> Request {
    Request {
        requester: Some("u".to_string()),
        agent: agent.to_string(),
        agent_hierarchy_from_events: None,
        date: date("2026-11-02"),
        timezone: tz("UTC"),
        today: date("2026-11-03"),
    }
}

/// The reason a request is denied when `source` is the only policy.
fn policy_denial(file: &str, source: &str, config: &str) -> String {
    let (_dir, g) = policy_generation(file, source, config);
    let d = g.access.decide(&request("agent"));
    assert!(!d.allowed, "{file}: allowed ({})", d.reason);
    assert!(d.reason.contains("fail closed"), "{file}: {}", d.reason);
    d.reason
}

fn check(what: &str, file: &str, message: &str, expect: &[&str], took: Duration) {
    eprintln!("{what:>9} {file:<28} {:>6.0} ms", took.as_secs_f64() * 1e3);
    assert!(
        message.contains(&format!("{file}:")),
        "{what} {file}: {message}"
    );
    assert!(
        expect.iter().any(|e| message.contains(e)),
        "{what} {file}: expected one of {expect:?} in: {message}"
    );
}

fn run_case(case: &Case) {
    for (ext, hook, arg) in [
        ("lua", "classify", "snap"),
        ("rhai", "classify", "snap"),
        ("lua", "authorize", "req"),
        ("rhai", "authorize", "req"),
    ] {
        let source = match ext {
            "lua" => lua_script(hook, arg, case.lua),
            _ => rhai_script(hook, arg, case.rhai),
        };
        let file = format!("{}_{hook}.{ext}", case.name);
        let started = Instant::now();
        let message = if hook == "classify" {
            classify_failure(&file, &source, case.config)
        } else {
            policy_denial(&file, &source, case.config)
        };
        check(hook, &file, &message, case.expect, started.elapsed());
    }
}

#[test]
fn a_loop_inside_pcall_or_try_cannot_catch_the_time_limit() {
    run_case(&Case {
        name: "catch",
        lua: (
            "",
            "while true do pcall(function() while true do end end) end",
        ),
        rhai: ("", "loop { try { loop {} } catch {} }"),
        config: TIME_ONLY,
        expect: &[TIME],
    });
    run_case(&Case {
        name: "handler",
        lua: (
            "",
            "while true do xpcall(function() while true do end end, function(e) while true do end end) end",
        ),
        rhai: (
            "",
            "loop { try { loop { try { loop {} } catch {} } } catch {} }",
        ),
        config: TIME_ONLY,
        expect: &[TIME],
    });
}

#[test]
fn the_operation_budget_cannot_be_caught_either() {
    run_case(&Case {
        name: "budget",
        lua: (
            "",
            "while true do pcall(function() while true do end end) end",
        ),
        rhai: ("", "loop { try { loop {} } catch {} }"),
        config: "[limits]\ncall_ms = 3600000\n",
        expect: &[OPERATIONS],
    });
}

#[test]
fn time_spent_inside_built_in_functions_counts() {
    // Lua: backtracking inside string.find, which runs in C where no hook fires. Rhai: a
    // nested array whose every copy costs one operation but time in its depth.
    run_case(&Case {
        name: "builtin",
        lua: (
            "",
            r#"return string.find(string.rep("a", 3000), string.rep("a*", 12) .. "b")"#,
        ),
        rhai: ("", "let a = []; for i in 0..100000 { a = [a]; } ()"),
        config: TIME_ONLY,
        expect: &[TIME],
    });
    run_case(&Case {
        name: "nested_maps",
        lua: ("", "local a = {} for i = 1, 1e12 do a = {a = a} end"),
        rhai: ("", "let a = #{}; for i in 0..100000 { a = #{ a: a }; } ()"),
        config: TIME_ONLY,
        expect: &[TIME, MEMORY],
    });
}

#[test]
fn amplification_by_gsub_split_or_concat_is_bounded() {
    run_case(&Case {
        name: "gsub",
        lua: (
            "",
            r#"local x = string.rep("x", 1000) for i = 1, 5 do x = x:gsub(".", string.rep("y", 40)) end return x"#,
        ),
        rhai: (
            "",
            r#"let x = "y"; x.pad(1000, "y"); for i in 0..5 { x.replace("y", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"); } x"#,
        ),
        config: TIME_ONLY,
        expect: &[TIME, MEMORY],
    });
    run_case(&Case {
        name: "concat",
        lua: (
            "",
            r#"return table.concat(setmetatable({}, {__index = rawlen}), "", 1, 1e12)"#,
        ),
        rhai: (
            "",
            r#"let x = "ab"; x.pad(60000, "ab"); let n = 0; loop { let parts = x.split(""); n += parts.len(); }"#,
        ),
        config: TIME_ONLY,
        expect: &[TIME, MEMORY],
    });
    run_case(&Case {
        name: "move",
        lua: ("", "table.move({}, 1, math.maxinteger - 1, 2)"),
        rhai: ("", r#"let a = []; a.pad(4000, 1); loop { a = a + a; }"#),
        config: TIME_ONLY,
        expect: &[TIME, MEMORY],
    });
}

#[test]
fn deep_recursion_and_large_locals_are_stopped() {
    run_case(&Case {
        name: "recursion",
        lua: ("local function f(n) return f(n + 1) + 1 end", "return f(0)"),
        rhai: ("fn f(n) { f(n + 1) + 1 }", "f(0)"),
        config: TIME_ONLY,
        expect: &[DEPTH, MEMORY, TIME],
    });
    run_case(&Case {
        name: "recursion_in_pcall",
        lua: (
            "local function f(n) pcall(f, n + 1) pcall(f, n + 1) end",
            "f(0)",
        ),
        rhai: (
            "fn f(n) { try { f(n + 1) } catch {} try { f(n + 1) } catch {} }",
            "f(0)",
        ),
        config: TIME_ONLY,
        expect: &[DEPTH, TIME],
    });
    run_case(&Case {
        name: "locals",
        lua: (
            "local function f(n) local big = string.rep('x', 1000000) .. n return #f(n + 1) + #big end",
            "return f(0)",
        ),
        rhai: (
            r#"fn f(n) { let big = "x"; big.pad(100000, "x"); let more = [big, big]; f(n + 1) + more.len() }"#,
            "f(0)",
        ),
        config: TIME_ONLY,
        expect: &[DEPTH, MEMORY, TIME],
    });
}

#[test]
fn a_finalizer_cannot_run_script_code_after_the_call() {
    for (file, source) in [
        (
            "gc.lua",
            "function classify(snap) setmetatable({}, {__gc = function() while true do end end}) return 'X' end",
        ),
        (
            "gc_policy.lua",
            "function authorize(req) setmetatable({}, {__gc = function() while true do end end}) return 'permit' end",
        ),
    ] {
        let started = Instant::now();
        let message = if file.contains("policy") {
            policy_denial(file, source, "")
        } else {
            classify_failure(file, source, "")
        };
        check(
            "finalizer",
            file,
            &message,
            &["__gc metamethods are not allowed"],
            started.elapsed(),
        );
    }
    // A `__gc` added after `setmetatable` is never called by Lua 5.4: the report is written
    // and the process exits (it used to hang at exit in the finalizer).
    let s = setup(
        &[(
            "late_gc.lua",
            "function classify(snap) local mt = {} setmetatable({}, mt) mt.__gc = function() while true do end end return 'X' end",
        )],
        "",
    );
    let events =
        s.events(&[event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available")]);
    report_cmd(&events, "agent", "2026-11-03", "UTC")
        .arg("--config")
        .arg(&s.config)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains("agent,X,"));
}

#[test]
fn a_huge_error_message_is_cut() {
    let lua = "function classify(snap) error(string.rep('x', 1000000)) end";
    let rhai = r#"fn classify(snap) { let s = "x"; s.pad(100000, "x"); throw s; }"#;
    for (file, source) in [("error.lua", lua), ("error.rhai", rhai)] {
        let message = classify_failure(file, source, "");
        assert!(message.len() < 2000, "{file}: {} bytes", message.len());
        assert!(message.contains("more bytes)"), "{file}: {message}");
    }
    let lua = "function authorize(req) return { decision = 'forbid', reason = string.rep('r', 1000000) } end";
    let rhai = r#"fn authorize(req) { let s = "r"; s.pad(100000, "r"); #{ decision: "forbid", reason: s } }"#;
    for (file, source) in [("reason.lua", lua), ("reason.rhai", rhai)] {
        let (_dir, g) = policy_generation(file, source, "");
        let d = g.access.decide(&request("agent"));
        assert!(!d.allowed);
        assert!(d.reason.len() < 2000, "{file}: {} bytes", d.reason.len());
        assert!(d.reason.contains("more bytes)"), "{file}: {}", d.reason);
    }
}

/// A batch over three agents with `file` as a status hook (or, with `policy`, as a
/// policy), run on one worker thread; returns (exit code, stdout, stderr, manifest).
fn batch_run(file: &str, source: &str, policy: bool) -> (i32, String, String, String) {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let sub = if policy { "policies" } else { "scripts" };
    std::fs::create_dir_all(root.join(sub)).unwrap();
    std::fs::write(root.join(sub).join(file), source).unwrap();
    let mut config = format!("{sub} = \"{sub}\"\n");
    if policy {
        std::fs::write(
            root.join("policies/users.toml"),
            "[profiles.P]\npermissions = [\"AccessMetrics\"]\n\n[users.u]\nprofiles = [\"P\"]\n",
        )
        .unwrap();
        config.push_str("decision_log = \"decisions.jsonl\"\n");
    }
    std::fs::write(root.join("agent-audit.toml"), config).unwrap();
    let events: Vec<Event> = ["a1", "a2", "a3"]
        .iter()
        .map(|a| event(a, "LOGIN", "2026-11-02T08:00:00.000Z").status("Available"))
        .collect();
    std::fs::write(root.join("events.jsonl"), lines(&events)).unwrap();
    let requester = if policy { "requester = \"u\"\n" } else { "" };
    std::fs::write(
        root.join("batch.toml"),
        format!(
            "events = [\"events.jsonl\"]\ntimezone = \"UTC\"\nout_dir = \"out\"\nconfig = \"agent-audit.toml\"\n{requester}\
             [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = bin()
        .arg("run")
        .arg(root.join("batch.toml"))
        .arg("--quiet")
        .env("RAYON_NUM_THREADS", "1")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    eprintln!(
        "{file}: batch of 3 in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let manifest = std::fs::read_to_string(root.join("out/manifest.json")).unwrap_or_default();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        manifest,
    )
}

#[test]
fn a_hook_that_hit_a_limit_is_disabled_and_every_report_fails_with_the_same_message() {
    for (file, source, policy) in [
        (
            "loop.lua",
            "function classify(snap) print('called') while true do end end",
            false,
        ),
        (
            "loop.rhai",
            "fn classify(snap) { print(\"called\"); loop {} }",
            false,
        ),
        (
            "loop_policy.lua",
            "function authorize(req) print('called') while true do end end",
            true,
        ),
        (
            "loop_policy.rhai",
            "fn authorize(req) { print(\"called\"); loop {} }",
            true,
        ),
    ] {
        let (code, _stdout, stderr, manifest) = batch_run(file, source, policy);
        assert_eq!(code, 1, "{file}: {stderr}");
        // Called once, for the first agent only.
        assert_eq!(stderr.matches("called").count(), 1, "{file}: {stderr}");
        let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let reasons: Vec<String> = manifest["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let status = r["status"].as_str().unwrap();
                assert_ne!(status, "written", "{file}: {r}");
                let reason = r["reason"].as_str().unwrap();
                // The located message, without the event it was classifying.
                reason
                    .split(" (while classifying")
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(reasons.len(), 3, "{file}");
        assert!(
            reasons.iter().all(|r| r == &reasons[0]),
            "{file}: {reasons:#?}"
        );
        assert!(
            reasons[0].contains(&format!("{file}:1:")),
            "{file}: {}",
            reasons[0]
        );
        assert!(
            reasons[0].contains("is disabled for the rest of this run"),
            "{}",
            reasons[0]
        );
    }
}

#[test]
fn what_a_script_prints_is_capped() {
    for (file, source) in [
        (
            "flood.lua",
            "function classify(snap) print(string.rep('y', 100000)) for i = 1, 1000 do print('line ' .. i) end return nil end",
        ),
        (
            "flood.rhai",
            "fn classify(snap) { let s = \"y\"; s.pad(100000, \"y\"); print(s); for i in 0..1000 { print(\"line \" + i); } () }",
        ),
    ] {
        let (code, _stdout, stderr, _) = batch_run(file, source, false);
        assert_eq!(code, 0, "{file}: {stderr}");
        let printed: Vec<&str> = stderr.lines().filter(|l| l.contains(file)).collect();
        assert_eq!(printed.len(), 101, "{file}: {} lines", printed.len());
        assert!(
            printed[0].len() < 1200 && printed[0].contains("more bytes)"),
            "{}",
            printed[0]
        );
        assert!(
            printed[100].contains("further output of this script is dropped"),
            "{}",
            printed[100]
        );
    }
}

#[test]
fn call_ms_is_configured_and_validated() {
    let message = classify_failure(
        "slow.lua",
        "function classify(snap) while true do end end",
        "[limits]\ncall_ms = 30\noperations = 1000000000000\n",
    );
    assert!(
        message.contains("more than 30 ms (limits.call_ms)"),
        "{message}"
    );
    let s = setup(&[], "[limits]\ncall_ms = 0\n");
    let errors = s.generation().err().unwrap();
    assert!(
        errors[0]
            .to_string()
            .contains("limits.call_ms must be 1 to 3600000, not 0"),
        "{errors:?}"
    );
}
