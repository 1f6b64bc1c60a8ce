//! Errors that show the source: a problem in a configuration, status, Rhai or Lua file is
//! `file:line:col: message`, then the offending line with a caret under the place.

use predicates::prelude::*;
use predicates::str::contains;

use crate::support::*;

/// `check --config` on a configuration of `config_text` with `files` in its scripts: the
/// problems it prints.
fn check(files: &[(&str, &str)], config_text: &str) -> String {
    let s = setup(files, config_text);
    let out = bin()
        .args(["check", "--config"])
        .arg(&s.config)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_toml_type_error_names_the_key_in_the_users_words_and_underlines_the_value() {
    let out = check(&[], "stale_after_secs = \"300\"\n");
    assert!(
        out.contains(
            "agent-audit.toml:2:20: `stale_after_secs` must be a number of seconds, not the \
             string \"300\"\n"
        ),
        "{out}"
    );
    assert!(!out.contains("f64"), "{out}");
    assert!(
        out.contains(" 2 | stale_after_secs = \"300\"\n   :                    ^^^^^\n"),
        "{out}"
    );
}

#[test]
fn a_status_file_error_underlines_the_offending_value() {
    let out = check(
        &[("s.toml", "[[status]]\nname = \"X\"\ntype = \"WEIRD\"\n")],
        "",
    );
    assert!(
        out.contains("s.toml:3:8: unknown status type `WEIRD`"),
        "{out}"
    );
    assert!(
        out.contains(" 3 | type = \"WEIRD\"\n   :        ^^^^^^^\n"),
        "{out}"
    );
}

#[test]
fn a_rhai_syntax_error_shows_the_line_with_a_caret_under_the_column() {
    let source = "fn classify(snap) {\n    let x = snap.status.name +;\n}\n";
    let out = check(&[("a.rhai", source)], "");
    assert!(
        out.contains("a.rhai:2:31: load failed: syntax error"),
        "{out}"
    );
    assert!(
        out.contains(
            " 2 |     let x = snap.status.name +;\n   :                               ^\n"
        ),
        "{out}"
    );
}

#[test]
fn a_lua_error_points_at_the_name_it_quotes_not_at_the_same_letters_inside_a_keyword() {
    // `io` also occurs inside `function`: the error is at the `io` of `io.open`.
    let s = setup(
        &[(
            "b.lua",
            "function classify(snap) local f = io.open(\"x\") return nil end\n",
        )],
        "",
    );
    let events =
        s.events(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available")]);
    let out = report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .arg("--config")
        .arg(&s.config)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("b.lua:1:35: classify failed: attempt to index a nil value (global 'io')"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            " 1 | function classify(snap) local f = io.open(\"x\") return nil end\n   :                                   ^^\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_report_written_into_a_missing_folder_names_the_folder() {
    let dir = tempfile::TempDir::new().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        lines(&[event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available")]),
    )
    .unwrap();
    let missing = dir.path().join("no/such");
    report_cmd(&events, "jdoe", "2026-11-02", "UTC")
        .arg("--out")
        .arg(missing.join("r.csv"))
        .assert()
        .code(1)
        .stderr(contains(format!(
            "the folder `{}` does not exist",
            missing.display()
        )))
        .stderr(contains(".agent-audit-").not());
}

#[test]
fn check_warns_of_a_label_that_differs_from_a_status_only_by_case_and_fails_under_strict() {
    let statuses = "[[status]]\nname = \"Long hold\"\ntype = \"CUSTOM\"\n";
    let hooks = [
        (
            "h.rhai",
            "// \"long HOLD\" in a comment is no label\nfn classify(snap) { if snap.status.name == \"Lunch\" { \"Long Hold\" } else { () } }\n",
        ),
        (
            "h.lua",
            "-- \"long HOLD\" in a comment is no label\nfunction classify(snap) if snap.status.name == 'Lunch' then return 'Long Hold' end end\n",
        ),
    ];
    for (file, hook) in hooks {
        let s = setup(&[("s.toml", statuses), (file, hook)], "");
        let check = |strict: bool| {
            let mut cmd = bin();
            cmd.args(["check", "--config", "agent-audit.toml"])
                .current_dir(s.dir.path());
            if strict {
                cmd.arg("--strict");
            }
            cmd.output().unwrap()
        };
        let out = check(false);
        assert_eq!(out.status.code(), Some(0), "{file}: only a warning");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.matches("warning: ").count(), 1, "{file}: {text}");
        assert!(
            text.contains(&format!("warning: scripts/{file}:2:"))
                && text.contains(
                    "\"Long Hold\" differs from the defined status \"Long hold\" only in letter case"
                )
                && text.contains("write \"Long hold\""),
            "{file}: {text}"
        );
        assert_eq!(check(true).status.code(), Some(2), "{file}: --strict fails");
        // The defined spelling: nothing to say.
        let fixed = setup(
            &[
                ("s.toml", statuses),
                (file, &hook.replace("Long Hold", "Long hold")),
            ],
            "",
        );
        bin()
            .args(["check", "--config", "agent-audit.toml", "--strict"])
            .current_dir(fixed.dir.path())
            .assert()
            .success()
            .stdout(contains("warning").not());
    }
}
