//! Whole outputs pinned as `insta` snapshots (`tests/integration/snapshots/`): a report in
//! each format and the main diagnostics, byte for byte, so that any change to what a user
//! reads shows as a diff to review. A change that is meant: run the test with
//! `INSTA_UPDATE=always`, read the diff of the `.snap` files, and commit them (or use
//! `cargo insta review`). Under CI a missing or different snapshot fails.

use crate::support::*;

/// What `agent-audit ARGS` prints on standard output (status 0), from the repository root.
fn stdout(args: &[&str]) -> String {
    let out = bin().args(args).current_dir(root()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn report(format: &str, kind: &str) -> String {
    stdout(&[
        "report",
        "--config",
        "examples/agent-audit.toml",
        "--events",
        "examples/events",
        "--agent",
        "jdoe",
        "--date",
        "2026-11-02",
        "--timezone",
        "America/New_York",
        "--format",
        format,
        "--kind",
        kind,
    ])
}

#[test]
fn a_day_as_csv() {
    insta::assert_snapshot!(report("csv", "audit"));
}

#[test]
fn a_day_as_json() {
    insta::assert_snapshot!(report("json", "audit"));
}

#[test]
fn a_day_as_html() {
    insta::assert_snapshot!(report("html", "audit"));
}

#[test]
fn a_summary_as_csv() {
    insta::assert_snapshot!(report("csv", "summary"));
}

/// What `check` prints (and its exit status) for a configuration of `config` with `files`
/// in its scripts, the temporary folder's path shown as `[dir]`.
fn check(files: &[(&str, &str)], config: &str) -> String {
    let s = setup(files, config);
    let out = bin()
        .args(["check", "--config", "agent-audit.toml"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let dir = s.dir.path().display().to_string();
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace(&dir, "[dir]")
}

#[test]
fn diagnostic_of_a_toml_type_error() {
    insta::assert_snapshot!(check(&[], "stale_after_secs = \"300\"\n"));
}

#[test]
fn diagnostic_of_an_unknown_key() {
    insta::assert_snapshot!(check(&[], "stale_after = 300\n"));
}

#[test]
fn diagnostic_of_a_status_file() {
    insta::assert_snapshot!(check(
        &[("s.toml", "[[status]]\nname = \"X\"\ntype = \"WEIRD\"\n")],
        ""
    ));
}

#[test]
fn diagnostic_of_a_rhai_syntax_error() {
    insta::assert_snapshot!(check(
        &[(
            "a.rhai",
            "fn classify(snap) {\n    let x = snap.status.name +;\n}\n"
        )],
        ""
    ));
}

#[test]
fn diagnostic_of_a_failing_embedded_test() {
    let lua = r#"
function classify(snap)
  if snap.status.name == "Lunch" then return "Break" end
  return nil
end

function tests()
  return {
    { name = "lunch is a break", snapshot = { status = { name = "Lunch" } }, expect = "Lunch" },
  }
end
"#;
    insta::assert_snapshot!(check(&[("t.lua", lua)], ""));
}

/// A script that fails while a report runs: the error on standard error, exit 1.
#[test]
fn diagnostic_of_a_script_failing_in_a_report() {
    let s = setup(
        &[(
            "b.lua",
            "function classify(snap)\n  local f = io.open(\"x\")\n  return nil\nend\n",
        )],
        "",
    );
    let events = s.events(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z")
        .status("Available")
        .id("00000000-0000-4000-8000-000000000001")]);
    let out = report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .args(["--config", "agent-audit.toml"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let shown = format!(
        "exit {}\n--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace(&s.dir.path().display().to_string(), "[dir]");
    insta::assert_snapshot!(shown);
}
