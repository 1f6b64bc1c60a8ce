//! SPEC §6: status scripts in Rhai and Lua behind one API — same results in both, a
//! sandbox that holds, errors placed in the file, `check` and `statuses`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::*;

/// Every field of `snap`, in one label, written in each language.
const EVERY_FIELD_RHAI: &str = r#"
fn s(x) { if type_of(x) == "()" { "-" } else { x.to_string() } }
fn next(snap) { if snap.next_status == () { () } else { snap.next_status.name } }
fn classify(snap) {
    let h = "";
    for level in snap.agent.hierarchy { h += level + ">"; }
    let label = s(snap.status.name) + "|" + s(snap.status.type) + "|" + s(next(snap))
        + "|" + s(snap.agent.login) + "|" + s(snap.agent.first_name) + "|" + s(snap.agent.last_name)
        + "|" + h + "|" + s(snap.agent.routing_profile) + "|" + s(snap.contacts.len());
    for c in snap.contacts {
        label += "|" + s(c.id) + "," + s(c.channel) + "," + s(c.state) + ","
            + s(c.initiation_method) + "," + s(c.connected) + "," + s(c.queue);
    }
    label
}
"#;

const EVERY_FIELD_LUA: &str = r#"
local function s(x) if x == nil then return "-" else return tostring(x) end end
local function next(snap) if snap.next_status == nil then return nil end return snap.next_status.name end
function classify(snap)
  local h = ""
  for _, level in ipairs(snap.agent.hierarchy) do h = h .. level .. ">" end
  local label = s(snap.status.name) .. "|" .. s(snap.status.type) .. "|" .. s(next(snap))
    .. "|" .. s(snap.agent.login) .. "|" .. s(snap.agent.first_name) .. "|" .. s(snap.agent.last_name)
    .. "|" .. h .. "|" .. s(snap.agent.routing_profile) .. "|" .. s(#snap.contacts)
  for _, c in ipairs(snap.contacts) do
    label = label .. "|" .. s(c.id) .. "," .. s(c.channel) .. "," .. s(c.state) .. ","
      .. s(c.initiation_method) .. "," .. s(c.connected) .. "," .. s(c.queue)
  end
  return label
end
"#;

#[test]
fn next_status_is_nothing_when_the_agent_has_none_in_both_languages() {
    let rhai = r#"fn classify(snap) { if snap.next_status == () { "no next" } else { "next " + snap.next_status.name } }"#;
    let lua = r#"function classify(snap) if snap.next_status ~= nil then return "next " .. snap.next_status.name end return "no next" end"#;
    let events = [
        event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("agent", "STATE_CHANGE", "2026-11-03T09:00:00.000Z")
            .status("Available")
            .next_status("Lunch"),
    ];
    for (file, source) in [("next.rhai", rhai), ("next.lua", lua)] {
        let s = setup(&[(file, source)], "");
        let g = s.generation().unwrap();
        let r = report_under(&g, &events, "agent", "2026-11-03").unwrap();
        let labels: Vec<&str> = r.rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(labels, ["no next", "next Lunch"], "{file}");
    }
}

/// The time fields, which turn the cache off.
const TIMES_RHAI: &str = r#"
fn s(x) { if type_of(x) == "()" { "-" } else { x.to_string() } }
fn classify(snap) {
    let c = if snap.contacts.len() > 0 { s(snap.contacts[0].state_start) } else { "-" };
    s(snap.event_type) + "@" + s(snap.timestamp) + "/" + s(snap.status.start) + "/" + c
}
"#;

const TIMES_LUA: &str = r#"
local function s(x) if x == nil then return "-" else return tostring(x) end end
function classify(snap)
  local c = "-"
  if #snap.contacts > 0 then c = s(snap.contacts[1].state_start) end
  return s(snap.event_type) .. "@" .. s(snap.timestamp) .. "/" .. s(snap.status.start) .. "/" .. c
end
"#;

/// Defers to the rules except for Lunch, in each language.
const DEFER_RHAI: &str =
    r#"fn classify(snap) { if snap.status.name == "Lunch" { "Break" } else { () } }"#;
const DEFER_LUA: &str = r#"function classify(snap) if snap.status.name == "Lunch" then return "Break" end return nil end"#;

fn scenario() -> Vec<Event> {
    vec![
        event("agent", "LOGIN", "2026-11-03T08:00:00.000Z")
            .status("Available")
            .hierarchy(&["North America", "Site 1"]),
        event("agent", "STATE_CHANGE", "2026-11-03T08:10:00.000Z")
            .status("Available")
            .hierarchy(&["North America", "Site 1"])
            .next_status("Lunch")
            .contact(connected(contact("c1", "VOICE", "INBOUND", "CONNECTED")))
            .contact(contact("c2", "TASKS", "API", "CONNECTING")),
        event("agent", "STATE_CHANGE", "2026-11-03T08:20:00.000Z").status("Lunch"),
        event("agent", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").status("Offline"),
    ]
}

fn rows_with(file: &str, source: &str) -> Vec<String> {
    let s = setup(&[(file, source)], "");
    let g = s.generation().unwrap();
    rows(&report_under(&g, &scenario(), "agent", "2026-11-03").unwrap())
}

#[test]
fn the_same_hook_gives_the_same_report_in_rhai_and_lua() {
    let rhai = rows_with("every.rhai", EVERY_FIELD_RHAI);
    let lua = rows_with("every.lua", EVERY_FIELD_LUA);
    assert_eq!(rhai, lua);
    // Before the first LOGIN: an Offline status with nothing else known.
    assert_eq!(
        rhai[0],
        "Offline|OFFLINE|-|-|-|-||-|0 00:00:00.000-08:00:00.000 continued"
    );
    assert!(
        rhai[1].starts_with("Available|ROUTABLE|-|agent|Test|agent|North America>Site 1>|Basic|0 "),
        "{}",
        rhai[1]
    );
    assert_eq!(
        rhai[2],
        "Available|ROUTABLE|Lunch|agent|Test|agent|North America>Site 1>|Basic|2\
         |c1,VOICE,CONNECTED,INBOUND,true,Support|c2,TASK,CONNECTING,API,false,Support \
         08:10:00.000-08:20:00.000 gap"
    );

    let rhai = rows_with("times.rhai", TIMES_RHAI);
    let lua = rows_with("times.lua", TIMES_LUA);
    assert_eq!(rhai, lua);
    assert!(
        rhai[2].starts_with(
            "STATE_CHANGE@2026-11-03T08:10:00.000Z/2026-01-01T00:00:00.000Z/2026-01-01T00:00:00.000Z "
        ),
        "{rhai:?}"
    );

    let rhai = rows_with("defer.rhai", DEFER_RHAI);
    let lua = rows_with("defer.lua", DEFER_LUA);
    assert_eq!(rhai, lua);
    let statuses: Vec<&str> = rhai
        .iter()
        .map(|r| r.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["Offline", "Available", "Connected", "Break", "Offline"]
    );
}

#[test]
fn hooks_are_consulted_in_file_name_order_before_the_rules() {
    let first = r#"fn classify(snap) { if snap.status.name == "Lunch" { "From A" } else { () } }"#;
    let second = r#"function classify(snap) return "From B" end"#;
    let s = setup(&[("b.lua", second), ("a.rhai", first)], "");
    let g = s.generation().unwrap();
    let r = report_under(&g, &scenario(), "agent", "2026-11-03").unwrap();
    let statuses: Vec<&str> = r.rows.iter().map(|r| r.status.as_str()).collect();
    // The state before the first LOGIN is an Offline status, classified like any other.
    assert_eq!(statuses, ["From B", "From A", "From B"]);
}

#[test]
fn a_hook_label_defined_as_offline_is_not_open() {
    let hook = r#"function classify(snap) if snap.status.name == "Offline" then return "Signed out" end end"#;
    let defs = "[[status]]\nname = \"Signed out\"\ntype = \"OFFLINE\"\n";
    let s = setup(&[("a.lua", hook), ("defs.toml", defs)], "");
    let g = s.generation().unwrap();
    let r = report_under(&g, &scenario(), "agent", "2026-11-03").unwrap();
    assert_eq!(
        rows(&r).last().unwrap(),
        "Signed out 09:00:00.000-00:00:00.000 truncated"
    );
}

/// Classifies one event under a script and returns the script's error.
fn failure(file: &str, source: &str, config: &str) -> String {
    let s = setup(&[(file, source)], config);
    let g = match s.generation() {
        Ok(g) => g,
        Err(errors) => {
            return errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
        }
    };
    let events = [event("agent", "LOGIN", "2026-11-03T08:00:00.000Z")
        .status("Available")
        .id("ev-1")];
    match report_under(&g, &events, "agent", "2026-11-03") {
        Ok(r) => panic!("expected {file} to fail, got {:?}", rows(&r)),
        Err(e) => e.to_string(),
    }
}

fn assert_hostile(file: &str, source: &str, config: &str, expected: &[&str]) {
    let message = failure(file, source, config);
    assert!(message.contains(&format!("scripts/{file}:")), "{message}");
    assert!(
        expected.iter().any(|e| message.contains(e)),
        "{file}: expected one of {expected:?} in: {message}"
    );
}

#[test]
fn a_runaway_loop_runs_out_of_budget() {
    // On a slow or loaded machine the wall clock (limits.call_ms) may end it first.
    let budget = ["operation budget exceeded", "time limit exceeded"];
    assert_hostile("loop.rhai", "fn classify(snap) { loop {} }", "", &budget);
    assert_hostile(
        "loop.lua",
        "function classify(snap) while true do end end",
        "",
        &budget,
    );
    // At the top level too: the script is refused when it is loaded.
    assert_hostile("top.rhai", "let x = 0; loop { x += 1; }", "", &budget);
    assert_hostile("top.lua", "while true do end", "", &budget);
}

#[test]
fn deep_recursion_is_stopped() {
    assert_hostile(
        "deep.rhai",
        "fn f(n) { f(n + 1) + 1 } fn classify(snap) { f(0) }",
        "",
        &["call stack too deep"],
    );
    assert_hostile(
        "deep.lua",
        "local function f(n) return f(n + 1) + 1 end function classify(snap) return f(0) end",
        "",
        &[
            "call stack too deep",
            "stack overflow",
            "memory limit exceeded",
            "operation budget exceeded",
        ],
    );
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let config = "[limits]\nmemory_mb = 1\noperations = 100000000\n";
    assert_hostile(
        "bomb.rhai",
        "fn classify(snap) { let a = []; loop { a.push(\"xxxxxxxxxxxxxxxx\"); } }",
        config,
        &["memory limit exceeded"],
    );
    assert_hostile(
        "bomb.lua",
        "function classify(snap) local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end end",
        config,
        &["memory limit exceeded"],
    );
}

#[test]
fn a_huge_string_hits_the_memory_limit() {
    let config = "[limits]\nmemory_mb = 4\n";
    assert_hostile(
        "string.rhai",
        "fn classify(snap) { let s = \"x\"; loop { s += s; } }",
        config,
        &["memory limit exceeded"],
    );
    assert_hostile(
        "string.lua",
        "function classify(snap) return string.rep(\"x\", 1 << 40) end",
        config,
        &["memory limit exceeded", "too large"],
    );
}

#[test]
fn files_processes_and_code_loading_are_out_of_reach() {
    let absent = [
        "attempt to index a nil value",
        "attempt to call a nil value",
    ];
    for (name, code) in [
        (
            "io.lua",
            "function classify(snap) return io.open('/etc/passwd'):read('a') end",
        ),
        (
            "os.lua",
            "function classify(snap) return os.execute('id') end",
        ),
        (
            "clock.lua",
            "function classify(snap) return tostring(os.time()) end",
        ),
        (
            "require.lua",
            "function classify(snap) return require('os').getenv('HOME') end",
        ),
        (
            "load.lua",
            "function classify(snap) return load('return 1')() end",
        ),
        (
            "dofile.lua",
            "function classify(snap) return dofile('/etc/passwd') end",
        ),
        (
            "package.lua",
            "function classify(snap) return package.loadlib('libc.so.6', 'system') end",
        ),
        (
            "debug.lua",
            "function classify(snap) return debug.getinfo(1) end",
        ),
    ] {
        assert_hostile(name, code, "", &absent);
    }
    assert_hostile(
        "open.rhai",
        "fn classify(snap) { open_file(\"/etc/passwd\") }",
        "",
        &["Function not found"],
    );
    assert_hostile(
        "clock.rhai",
        "fn classify(snap) { timestamp().to_string() }",
        "",
        &["Function not found"],
    );
    assert_hostile(
        "eval.rhai",
        "fn classify(snap) { eval(\"40 + 2\") }",
        "",
        &["eval"],
    );
    assert_hostile(
        "import.rhai",
        "import \"hostile\" as h;\nfn classify(snap) { () }",
        "",
        &["Module not found"],
    );
    // Crafted bytecode would escape the Lua VM: only text is accepted.
    assert_hostile(
        "bytecode.lua",
        "\x1bLua\x54\x00",
        "",
        &["binary", "syntax error"],
    );
}

#[test]
fn a_wrong_return_type_is_an_error() {
    assert_hostile(
        "number.rhai",
        "fn classify(snap) { 42 }",
        "",
        &["must return a label (a string) or (), not i64"],
    );
    assert_hostile(
        "table.lua",
        "function classify(snap) return {} end",
        "",
        &["must return a label (a string) or nil, not a table"],
    );
}

#[test]
fn errors_name_the_event_being_classified() {
    let message = failure(
        "fail.lua",
        "function classify(snap)\n  error('no way')\nend",
        "",
    );
    assert!(
        message.contains("scripts/fail.lua:2:3: classify failed: no way (while classifying agent `agent`, EventId `ev-1`, EventTimestamp `2026-11-03T08:00:00.000Z`)"),
        "{message}"
    );
}

#[test]
fn syntax_errors_are_placed_at_their_line_and_column() {
    let rhai = failure("syntax.rhai", "fn classify(snap) {\n    let x = ;\n}\n", "");
    assert!(
        rhai.contains("scripts/syntax.rhai:2:13: load failed: syntax error"),
        "{rhai}"
    );
    let lua = failure(
        "syntax.lua",
        "function classify(snap)\n  local x =\nend\n",
        "",
    );
    assert!(
        lua.contains("scripts/syntax.lua:3:1: load failed: syntax error"),
        "{lua}"
    );
    assert!(lua.contains("near 'end'"), "{lua}");
}

#[test]
fn runtime_errors_are_placed_at_their_line_and_column() {
    let rhai = failure(
        "runtime.rhai",
        "fn classify(snap) {\n    let n = 1;\n    nope(n)\n}\n",
        "",
    );
    assert!(
        rhai.contains("scripts/runtime.rhai:3:5: classify failed: Function not found: nope"),
        "{rhai}"
    );
    let lua = failure(
        "runtime.lua",
        "function classify(snap)\n  local n = 1\n  return missing.field\nend\n",
        "",
    );
    assert!(
        lua.contains("scripts/runtime.lua:3:10: classify failed: attempt to index a nil value (global 'missing')"),
        "{lua}"
    );
}

#[test]
fn a_script_failure_fails_the_report_with_exit_code_1() {
    let s = setup(
        &[("fail.rhai", "fn classify(snap) {\n  throw \"broken\";\n}\n")],
        "",
    );
    let events = s.events(&scenario());
    report_cmd(&events, "agent", "2026-11-03", "UTC")
        .arg("--config")
        .arg(&s.config)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(contains("scripts/fail.rhai:2:3: classify failed: broken"))
        .stderr(contains("while classifying agent `agent`"));
}

#[test]
fn results_are_cached_per_snapshot_unless_the_script_reads_times() {
    // print goes to stderr: count the calls.
    let cached = "function classify(snap) print('called') return nil end";
    let timed = "function classify(snap) print('called ' .. snap.timestamp) return nil end";
    let heartbeats: Vec<Event> = (0..5)
        .map(|i| {
            event(
                "agent",
                "HEART_BEAT",
                &format!("2026-11-03T08:0{i}:00.000Z"),
            )
            .status("Available")
        })
        .collect();
    for (script, calls) in [(cached, 1), (timed, 5)] {
        let s = setup(&[("count.lua", script)], "");
        let events = s.events(&heartbeats);
        let out = report_cmd(&events, "agent", "2026-11-03", "UTC")
            .arg("--config")
            .arg(&s.config)
            .output()
            .unwrap();
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("count.lua: called").count(),
            calls,
            "{stderr}"
        );
    }
}

#[test]
fn statuses_hooks_define_statuses_in_both_languages() {
    let rhai = r##"fn statuses() { [#{ name: "Coaching", type: "CUSTOM", color: "#123456", display_order: 30 }] }"##;
    let lua = r#"function statuses() return { { name = "Mentoring", type = "CUSTOM", productive = true } } end"#;
    let s = setup(&[("a.rhai", rhai), ("b.lua", lua)], "");
    let g = s.generation().unwrap();
    let catalog = &g.classifier.catalog;
    let coaching = catalog.definition("Coaching", None).unwrap();
    assert_eq!(coaching.color.as_deref(), Some("#123456"));
    assert!(coaching.origin.ends_with("scripts/a.rhai"));
    assert_eq!(
        catalog.definition("Mentoring", None).unwrap().productive,
        Some(true)
    );
}

#[test]
fn status_definitions_are_validated() {
    let cases = [
        (
            format!("[[status]]\nname = \"{}\"\n", "x".repeat(128)),
            "defs.toml:2:8: status name must be 1 to 127 characters",
        ),
        (
            "[[status]]\nname = \"\"\n".to_string(),
            "defs.toml:2:8: status name must be 1 to 127",
        ),
        (
            format!(
                "[[status]]\nname = \"A\"\ndescription = \"{}\"\n",
                "d".repeat(251)
            ),
            "defs.toml:3:15: description of `A` is longer than 250",
        ),
        (
            "[[status]]\nname = \"A\"\ndisplay_order = 51\n".to_string(),
            "defs.toml:3:17: display_order of `A` must be 1 to 50, not 51",
        ),
        (
            "[[status]]\nname = \"A\"\ndisplay_order = 0\n".to_string(),
            "display_order of `A` must be 1 to 50, not 0",
        ),
        (
            "[[status]]\nname = \"A\"\ntype = \"BUSY\"\n".to_string(),
            "defs.toml:3:8: unknown status type `BUSY`",
        ),
        (
            "[[status]]\nname = \"A\"\ncolor = \"red\"\n".to_string(),
            "color of `A` must look like `#1f77b4`",
        ),
        (
            "[[status]]\nname = \"A\"\n[[status]]\nname = \"A\"\n".to_string(),
            "defs.toml:3:1: status `A` is already defined in",
        ),
        (
            "[[status]]\nnmae = \"A\"\n".to_string(),
            "defs.toml:2:1: unknown key `nmae`; did you mean `name`?",
        ),
    ];
    for (text, expected) in cases {
        let s = setup(&[("defs.toml", &text)], "");
        let errors = s.generation().err().unwrap_or_default();
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            all.iter().any(|e| e.contains(expected)),
            "expected `{expected}` in {all:?}"
        );
    }
}

#[test]
fn at_most_fifty_agent_statuses_unless_the_configuration_says_more() {
    let mut text = String::new();
    for i in 0..49 {
        text.push_str(&format!("[[status]]\nname = \"Custom {i}\"\n"));
    }
    // 49 custom + Available + Offline = 51.
    let s = setup(&[("many.toml", &text)], "");
    let errors = s.generation().err().unwrap_or_default();
    assert!(
        errors.iter().any(|e| e
            .message
            .contains("51 agent statuses are defined; at most 50")),
        "{errors:?}"
    );
    let s = setup(&[("many.toml", &text)], "[limits]\nmax_statuses = 60\n");
    assert!(s.generation().is_ok());
}

#[test]
fn a_definition_with_an_arn_names_a_renamed_status() {
    let defs =
        "[[status]]\nname = \"Available\"\ntype = \"ROUTABLE\"\narn = \"arn:status/Ready\"\n";
    let s = setup(&[("defs.toml", defs)], "");
    let g = s.generation().unwrap();
    let events =
        [event("agent", "LOGIN", "2026-11-03T08:00:00.000Z")
            .status_typed("Ready", Some("ROUTABLE"))];
    let r = report_under(&g, &events, "agent", "2026-11-03").unwrap();
    assert_eq!(r.rows.last().unwrap().status, "Available");
}

/// `check` shows a failing test where it is written: a TOML `[[test]]` at its header, a
/// script's test at its name inside `tests()`, with the line and a caret under it.
#[test]
fn check_shows_a_failing_test_at_its_place_in_the_source() {
    let rhai = "fn classify(snap) { () }\n\nfn tests() {\n    [ #{ name: \"lunch\",\n         snapshot: #{ status: #{ name: \"Lunch\", type: \"CUSTOM\" } }, expect: \"Break\" } ]\n}\n";
    let lua = "function classify(snap) return nil end\n\nfunction tests()\n  return {\n    { name = 'coffee', snapshot = { status = { name = 'Coffee', type = 'CUSTOM' } }, expect = 'Break' } }\nend\n";
    let s = setup(&[("a.rhai", rhai), ("b.lua", lua)], "");
    let out = bin()
        .args(["check", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "scripts/a.rhai:4:16: test `lunch` failed: expected `Break`, got `Lunch`",
        " 4 |     [ #{ name: \"lunch\",",
        "scripts/b.lua:5:14: test `coffee` failed: expected `Break`, got `Coffee`",
        " 5 |     { name = 'coffee',",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
}

#[test]
fn check_exit_codes() {
    let test = "[[test]]\nname = \"lunch\"\nsnapshot = { status = { name = \"Lunch\", type = \"CUSTOM\" } }\nexpect = \"Break\"\n";
    let passing = setup(&[("hook.lua", DEFER_LUA), ("tests.toml", test)], "");
    bin()
        .args(["check", "--config"])
        .arg(&passing.config)
        .assert()
        .code(0)
        .stdout(contains("1 of 1 test(s) passed"));

    let failing = setup(&[("tests.toml", test)], "");
    bin()
        .args(["check", "--config"])
        .arg(&failing.config)
        .assert()
        .code(1)
        .stdout(contains(
            "scripts/tests.toml:1:1: test `lunch` failed: expected `Break`, got `Lunch`",
        ));

    let invalid = setup(
        &[("hook.rhai", "fn classify(snap) {"), ("tests.toml", test)],
        "",
    );
    bin()
        .args(["check", "--config"])
        .arg(&invalid.config)
        .assert()
        .code(2)
        .stdout(contains(
            "scripts/hook.rhai:1:20: load failed: syntax error",
        ));

    let bad_config = setup(&[], "catalog = \"conect\"\n");
    bin()
        .args(["check", "--config"])
        .arg(&bad_config.config)
        .assert()
        .code(2)
        .stdout(contains(
            "agent-audit.toml:2:11: unknown catalogue `conect`; did you mean `connect`",
        ));
}

#[test]
fn check_speaks_junit_and_json_for_ci_and_lists_every_test_when_verbose() {
    let tests = "[[test]]\nname = \"lunch\"\nsnapshot = { status = { name = \"Lunch\", type = \"CUSTOM\" } }\nexpect = \"Break\"\n\n\
                 [[test]]\nname = \"coffee <&> \\\"x\\\"\"\nsnapshot = { status = { name = \"Coffee\", type = \"CUSTOM\" } }\nexpect = \"Break\"\n";
    let s = setup(&[("hook.lua", DEFER_LUA), ("tests.toml", tests)], "");
    let check = |args: &[&str]| {
        let out = bin()
            .args(["check", "--config"])
            .arg(&s.config)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "one test fails, in every format"
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let junit = check(&["--format", "junit"]);
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    for expected in [
        "tests=\"2\" failures=\"1\" errors=\"0\"",
        "scripts/tests.toml\" name=\"lunch\" file=\"",
        "scripts/tests.toml\" line=\"1\"></testcase>",
        "name=\"coffee &lt;&amp;&gt; &quot;x&quot;\"",
        "<failure message=\"expected `Break`, got `Coffee`\" type=\"test\">",
    ] {
        assert!(junit.contains(expected), "{expected} in {junit}");
    }
    let json: serde_json::Value = serde_json::from_str(&check(&["--format", "json"])).unwrap();
    assert_eq!(
        (json["passed"].clone(), json["failed"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(json["tests"][0]["outcome"], "passed");
    assert_eq!(json["tests"][1]["name"], "coffee <&> \"x\"");
    assert_eq!(
        json["tests"][1]["message"],
        "expected `Break`, got `Coffee`"
    );
    let text = check(&[]);
    assert!(!text.contains("test `lunch` passed"), "{text}");
    let verbose = check(&["--verbose"]);
    assert!(
        verbose.contains("scripts/tests.toml:1:1: test `lunch` passed"),
        "{verbose}"
    );

    // An invalid file is a test case in error, exit 2.
    let invalid = setup(&[("hook.rhai", "fn classify(snap) {")], "");
    let out = bin()
        .args(["check", "--format", "junit", "--config"])
        .arg(&invalid.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let junit = String::from_utf8(out.stdout).unwrap();
    assert!(
        junit.contains("errors=\"1\"")
            && junit.contains("<error message=\"load failed: syntax error"),
        "{junit}"
    );
}

#[test]
fn statuses_as_json_lists_the_catalogue_for_programs() {
    let out = bin()
        .args(["statuses", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["catalog"], "connect");
    let available = doc["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Available")
        .unwrap();
    assert_eq!(available["type"], "ROUTABLE");
    assert_eq!(available["productive"], true);
    assert!(available["from"].as_str().unwrap().contains("connect.toml"));
}

#[test]
fn output_to_a_closed_pipe_ends_quietly_as_sigpipe_would() {
    for args in [
        vec!["statuses"],
        vec!["check", "--verbose"],
        vec![
            "report",
            "--events",
            "-",
            "--agent",
            "jdoe",
            "--date",
            "2026-11-02",
            "--timezone",
            "UTC",
        ],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"))
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before anything is written.
        drop(child.stdout.take());
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let day =
                lines(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available")]);
            let _ = stdin.write_all(day.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "{args:?}: nothing on stderr"
        );
    }
}

#[test]
fn the_shipped_scripts_pass_their_own_check() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    bin()
        .current_dir(root)
        .args(["check", "--config", "examples/agent-audit.toml"])
        .assert()
        .code(0)
        .stdout(contains("8 of 8 test(s) passed"));
}

#[test]
fn statuses_lists_each_status_with_its_origin() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    bin()
        .current_dir(root)
        .args(["statuses", "--config", "examples/agent-audit.toml"])
        .assert()
        .success()
        .stdout(contains("Break"))
        .stdout(contains("scripts/custom-statuses.toml"))
        .stdout(contains("built-in connect (scripts/catalogs/connect.toml)"));
}

#[test]
fn the_example_configuration_reports_breaks_as_one_label() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    report_cmd("examples/events", "jdoe", "2026-11-02", "America/New_York")
        .current_dir(root)
        .args(["--config", "examples/agent-audit.toml"])
        .assert()
        .success()
        .stdout(contains("jdoe,Break,2026-11-02T12:00:00.887-05:00,2026-11-02T12:45:30.673-05:00,00:45:29,2729.786,"))
        .stdout(contains("Lunch").not())
        // Every status is defined (the only warning is the coverage of the day).
        .stderr(contains("undefined").not());
}

#[test]
fn a_failure_on_the_state_before_a_login_fails_only_agents_that_start_with_a_login() {
    // The state before a first LOGIN is classified as a snapshot with no timestamp.
    let hook =
        "function classify(snap) if snap.timestamp == '' then error('no login state') end end";
    let s = setup(&[("login.lua", hook)], "");
    let g = s.generation().unwrap();
    let events = [
        event("a", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        event("b", "STATE_CHANGE", "2026-11-03T08:00:00.000Z")
            .previous("Offline")
            .status("Available"),
    ];
    let a = report_under(&g, &events, "a", "2026-11-03")
        .unwrap_err()
        .to_string();
    assert!(
        a.contains("no login state") && a.contains("the state before a LOGIN"),
        "{a}"
    );
    assert!(report_under(&g, &events, "b", "2026-11-03").is_ok());
}

#[test]
fn a_path_key_of_the_wrong_type_says_what_it_takes() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = dir.path().join("agent-audit.toml");
    std::fs::write(&config, "scripts = 3\n").unwrap();
    bin()
        .args(["check", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stdout(contains(
            "agent-audit.toml:1:11: `scripts` must be a path (a string) or a list of paths, not the number 3",
        ));
}

/// One generated event: its type, status, next status, hierarchy, routing profile and
/// contacts (channel, initiation method, state, connected or not), each drawn from a few
/// values, absent ones included.
type GenEvent = (
    usize,
    usize,
    Option<usize>,
    usize,
    usize,
    Vec<(usize, usize, usize, bool)>,
);

fn gen_event() -> impl proptest::strategy::Strategy<Value = GenEvent> {
    use proptest::prelude::*;
    (
        0usize..3,
        0usize..5,
        proptest::option::of(0usize..5),
        0usize..4,
        0usize..2,
        proptest::collection::vec((0usize..3, 0usize..3, 0usize..4, any::<bool>()), 0..3),
    )
}

/// The generated events as one agent's day, a minute apart.
fn generated(gens: &[GenEvent]) -> Vec<Event> {
    const KINDS: [&str; 3] = ["LOGIN", "STATE_CHANGE", "HEART_BEAT"];
    const STATUSES: [&str; 5] = ["Available", "Lunch", "Offline", "Training", "Break café"];
    const GROUPS: [&[&str]; 4] = [
        &[],
        &["North America"],
        &["EMEA", "Site 2"],
        &["Ünïcode", "x"],
    ];
    const CHANNELS: [&str; 3] = ["VOICE", "CHAT", "TASKS"];
    const METHODS: [&str; 3] = ["INBOUND", "OUTBOUND", "API"];
    const STATES: [&str; 4] = ["CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "ENDED"];
    gens.iter()
        .enumerate()
        .map(|(i, (kind, status, next, groups, profile, contacts))| {
            let ts = format!("2026-11-03T{:02}:{:02}:00.000Z", 8 + i / 60, i % 60);
            let mut e = event("agent", KINDS[*kind], &ts)
                .status(STATUSES[*status])
                .hierarchy(GROUPS[*groups])
                .routing_profile(["Basic", "Sales"][*profile]);
            if let Some(n) = next {
                e = e.next_status(STATUSES[*n]);
            }
            for (j, (channel, method, state, was_connected)) in contacts.iter().enumerate() {
                let c = contact(
                    &format!("c{i}-{j}"),
                    CHANNELS[*channel],
                    METHODS[*method],
                    STATES[*state],
                );
                e = e.contact(if *was_connected { connected(c) } else { c });
            }
            e
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(64)))]
    /// The hook that reads every field, written once in each language, labels generated
    /// days identically: the two engines see the same snapshot.
    #[test]
    fn the_same_hook_in_rhai_and_lua_classifies_generated_days_identically(
        gens in proptest::collection::vec(gen_event(), 1..30)
    ) {
        let events = generated(&gens);
        let mut reports = Vec::new();
        for (file, source) in [("every.rhai", EVERY_FIELD_RHAI), ("every.lua", EVERY_FIELD_LUA)] {
            let s = setup(&[(file, source)], "");
            let g = s.generation().unwrap();
            reports.push(rows(&report_under(&g, &events, "agent", "2026-11-03").unwrap()));
        }
        proptest::prop_assert_eq!(&reports[0], &reports[1]);
    }
}

#[test]
fn a_top_level_rhai_const_used_in_a_fn_says_how_to_give_the_fn_its_value() {
    let err = failure(
        "c.rhai",
        "const LONG = 60;\nfn classify(snap) {\n  if LONG > 1 { \"Long hold\" } else { () }\n}\n",
        "",
    );
    assert!(
        err.contains("c.rhai:3:6: load failed: syntax error: Undefined variable: LONG")
            && err.contains("a `fn` sees none of the script's top-level variables")
            && err.contains("`fn long() { … }`, and call `long()`"),
        "{err}"
    );
    // What the message suggests works.
    let s = setup(
        &[(
            "c.rhai",
            "fn long() { 60 }\nfn classify(snap) { if long() > 1 { \"Long hold\" } else { () } }\n",
        )],
        "",
    );
    assert!(s.generation().is_ok());
}
