//! The README and `docs/` say nothing that is not so: every command they show is run here
//! (against the binary under test, in a copy of the examples) or is given a class that
//! says who runs it instead (`.ci/run`, a test that drives it, a benchmark) or what it
//! needs that CI does not have. A command no class claims fails the test, so a new command
//! in the docs cannot go unchecked. Excerpts marked `<!-- file: PATH -->` must equal the
//! file, and every relative link must lead somewhere.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::{copy_dir, root};

/// Who or what runs a documented command.
#[derive(Clone, Copy, Debug)]
enum Class {
    /// Run here, in a copy of the examples; the exit status it must end with.
    Run { code: i32 },
    /// `.ci/run` runs it: the text of `.ci/run` that does.
    Ci(&'static str),
    /// The README's test command, which `.ci/run` reads from the README and runs.
    TestCommand,
    /// It runs until interrupted; this test file drives it, and contains this text.
    Driven(&'static str, &'static str),
    /// A benchmark: `.ci/run` builds the benchmarks, their timings are not CI's business.
    Benchmark,
    /// It needs what CI does not have.
    External(&'static str),
}

/// Commands by prefix (or, for a leading `*`, by what they contain); the first match wins.
const CLASSES: &[(&str, Class)] = &[
    (
        "cargo test --locked --release --workspace",
        Class::TestCommand,
    ),
    // The Quick start's build: `.ci/run` builds every target of the workspace on the
    // release profile, the binary among them.
    (
        "cargo build --release",
        Class::Ci("cargo build --locked --release --workspace --all-targets"),
    ),
    (
        "RUSTC_WORKSPACE_WRAPPER=clippy-driver RUSTFLAGS=\"-D warnings\" cargo build --locked --release --workspace --all-targets",
        Class::Ci("cargo build --locked --release --workspace --all-targets"),
    ),
    // The cold-build figures of docs/performance.md: builds timed on a fresh clone.
    (
        "cargo build --locked --release",
        Class::External("a cold build, timed on a fresh clone; CI builds the release profile"),
    ),
    (
        "cargo test --locked",
        Class::External("a cold build of the dev profile, timed; CI tests the release profile"),
    ),
    (
        "cargo build --release --no-default-features",
        Class::External(
            "a binary without S3; .ci/run checks the library without the feature instead",
        ),
    ),
    (
        "cargo build --profile dist",
        Class::External(
            "the fully optimised build (minutes longer); the benchmarks and the Dockerfile make it",
        ),
    ),
    (
        "RUSTC_WORKSPACE_WRAPPER=clippy-driver RUSTFLAGS=\"-D warnings\" cargo check --locked --release -p agent-audit-core --no-default-features --lib",
        Class::Ci("cargo check --locked --release -p agent-audit-core --no-default-features --lib"),
    ),
    (
        "cargo fmt --all -- --check",
        Class::Ci("cargo fmt --all -- --check"),
    ),
    ("cargo bench", Class::Benchmark),
    (
        "benches/compare.sh",
        Class::External("DuckDB's Python package (pip install duckdb); a benchmark"),
    ),
    ("benches/scale.sh", Class::Benchmark),
    (
        "INSTA_UPDATE=always cargo test",
        Class::External("rewrites the snapshots; CI compares against them instead"),
    ),
    (
        "cargo insta review",
        Class::External("cargo-insta, installed from crates.io; a review of changed snapshots"),
    ),
    (
        "cargo install cargo-insta",
        Class::External("installs from crates.io"),
    ),
    (
        "PROPTEST_CASES=10000 cargo test",
        Class::External("the long property run (tens of minutes); CI runs the default counts"),
    ),
    (
        "./target/release/agent-audit serve --demo",
        Class::Driven(
            "tests/integration/serve.rs",
            "\"serve\", \"--demo\", \"--listen\"",
        ),
    ),
    (
        "UPDATE_SCREENSHOTS=1 cargo test",
        Class::Driven("tests/integration/page.rs", "\"UPDATE_SCREENSHOTS\""),
    ),
    (
        "benches/serve.sh",
        Class::External("wrk (Debian), the test provider's npm pieces, a 1.2 GB day; a benchmark"),
    ),
    // docs/running-at-scale.md: what the S3 tests run against their local S3 server.
    (
        "exec agent-audit run --quiet --shard",
        Class::Driven("tests/integration/s3/deploy.rs", "run_pods("),
    ),
    (
        "agent-audit merge s3://acme-audit-reports/nightly/",
        Class::Driven(
            "tests/integration/s3/deploy.rs",
            ".args([\"merge\", \"s3://acme-audit-reports/nightly/\"])",
        ),
    ),
    ("docker build", Class::External("a container engine")),
    (
        "chromium --headless",
        Class::External("a browser; it only redraws the docs' screenshot"),
    ),
    (
        "benches/s3.sh",
        Class::External("a local S3 server (moto or s3s-fs); a benchmark"),
    ),
    (
        "cargo install s3s-fs",
        Class::External("installs from crates.io, for benches/s3.sh"),
    ),
    (
        "*s3://",
        Class::External("an S3 bucket and AWS credentials"),
    ),
    ("kubectl", Class::External("a Kubernetes cluster")),
    ("aws ", Class::External("AWS credentials")),
    ("pip install", Class::External("installs from PyPI")),
    (
        "cargo install cargo-fuzz",
        Class::External("installs cargo-fuzz: a fuzzing run (CI replays the corpus instead)"),
    ),
    (
        "RUSTC_BOOTSTRAP=1 cargo fuzz",
        Class::External("nightly compiler features for libFuzzer: a fuzzing run"),
    ),
    (
        "fuzz/target/",
        Class::External("a fuzzing run of millions of inputs (CI replays the corpus instead)"),
    ),
    (
        "./target/release/agent-audit watch",
        Class::Driven("tests/integration/watch.rs", ".arg(\"watch\")"),
    ),
    (
        "./target/release/agent-audit authorize --config examples/secure.toml --as alice --agent mrivera",
        Class::Run { code: 1 },
    ),
    ("./target/release/agent-audit ", Class::Run { code: 0 }),
    (
        "cargo run --release --example gen-events -- ",
        Class::Run { code: 0 },
    ),
    ("python3 examples/generate.py", Class::Run { code: 0 }),
];

/// Pages the README links that other branches add: checked once they exist.
const PAGES_ADDED_ELSEWHERE: &[&str] = &["docs/limits.md"];

/// The README and every page of `docs/`, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// A command and where it is shown.
struct Shown {
    page: String,
    line: usize,
    command: String,
}

/// Programs whose inline mentions (`` `cargo bench --bench reload` ``) are commands too.
const INLINE_PROGRAMS: &[&str] = &[
    "./", "cargo ", "python3 ", "benches/", "pip ", "sh ", "bash ",
];

/// Every command of `text`: the lines of its `sh` blocks, the `$ ` lines of its `console`
/// blocks, and inline code that starts with a program.
fn commands(page: &str, text: &str) -> Vec<Shown> {
    let mut found = Vec::new();
    let mut block: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let shown = |command: &str| Shown {
            page: page.to_string(),
            line: i + 1,
            command: command.trim().to_string(),
        };
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(info.trim().to_string()),
            };
            continue;
        }
        match block.as_deref() {
            Some("sh") => {
                if !trimmed.is_empty() && !trimmed.starts_with('#') {
                    found.push(shown(trimmed));
                }
            }
            Some("console") => {
                if let Some(c) = trimmed.strip_prefix("$ ") {
                    found.push(shown(c));
                }
            }
            Some(_) => {}
            None => {
                for (k, code) in line.split('`').enumerate() {
                    if k % 2 == 1 && INLINE_PROGRAMS.iter().any(|p| code.starts_with(p)) {
                        found.push(shown(code));
                    }
                }
            }
        }
    }
    found
}

fn class_of(command: &str) -> Option<Class> {
    CLASSES.iter().find_map(|(pattern, class)| {
        let matches = match pattern.strip_prefix('*') {
            Some(inside) => command.contains(inside),
            None => command.starts_with(pattern),
        };
        matches.then_some(*class)
    })
}

/// A copy of what the documented commands read (and a `docs/` they may write into).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    for sub in ["examples", "scripts", "policies"] {
        copy_dir(&root().join(sub), &dir.path().join(sub));
    }
    let _ = fs::remove_dir_all(dir.path().join("examples/reports"));
    let _ = fs::remove_file(dir.path().join("examples/decisions.jsonl"));
    fs::create_dir_all(dir.path().join("docs")).unwrap();
    dir
}

/// The programs a documented command names, as this test has them built.
fn substituted(command: &str) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_agent-audit"));
    let gen_events = bin
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("gen-events{}", std::env::consts::EXE_SUFFIX));
    if command.contains("--example gen-events") {
        assert!(
            gen_events.exists(),
            "{} is not built: `cargo test` builds the examples (a filtered `cargo test --test \
             integration` may not)",
            gen_events.display()
        );
    }
    command
        .replace("./target/release/agent-audit", &bin.display().to_string())
        .replace(
            "cargo run --release --example gen-events --",
            &gen_events.display().to_string(),
        )
}

#[test]
fn every_command_in_the_readme_and_docs_is_run_or_classified() {
    let ci = fs::read_to_string(root().join(".ci/run")).unwrap();
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let work = workspace();
    let mut unclassified = Vec::new();
    let mut not_run = Vec::new();
    let mut ran = 0;
    for (path, text) in pages() {
        let page = path.strip_prefix(root()).unwrap().display().to_string();
        for shown in commands(&page, &text) {
            let at = format!("{}:{}: `{}`", shown.page, shown.line, shown.command);
            match class_of(&shown.command) {
                None => unclassified.push(at),
                Some(Class::Run { code }) => {
                    let out = Command::new("sh")
                        .arg("-c")
                        .arg(substituted(&shown.command))
                        .current_dir(work.path())
                        .env("AGENT_AUDIT_TODAY", "2026-11-26")
                        .stdin(Stdio::null())
                        .output()
                        .unwrap();
                    assert_eq!(
                        out.status.code(),
                        Some(code),
                        "{at}\nstdout:\n{}\nstderr:\n{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    ran += 1;
                }
                Some(Class::Ci(text)) => {
                    assert!(ci.contains(text), "{at}: `.ci/run` does not run `{text}`")
                }
                Some(Class::TestCommand) => {
                    let marker = readme.find("<!-- test-command").unwrap();
                    let next = readme[marker..]
                        .lines()
                        .find(|l| l.starts_with("cargo "))
                        .unwrap();
                    assert_eq!(next, shown.command, "{at}: not the README's test command");
                    assert!(ci.contains("eval \"$test_command\""), "{at}");
                }
                Some(Class::Driven(file, contains)) => {
                    let test = fs::read_to_string(root().join(file)).unwrap();
                    assert!(test.contains(contains), "{at}: {file} does not drive it");
                }
                Some(Class::Benchmark) => {
                    // The benchmarks compile in CI: every target is built, clippy linting.
                    assert!(
                        ci.contains("cargo build --locked --release --workspace --all-targets")
                            && ci.contains("RUSTC_WORKSPACE_WRAPPER=clippy-driver"),
                        "{at}"
                    );
                }
                Some(Class::External(needs)) => {
                    assert!(!needs.is_empty(), "{at}: say what it needs");
                    not_run.push(format!("{at}: needs {needs}"));
                }
            }
        }
    }
    assert!(
        unclassified.is_empty(),
        "commands in the docs that no class in tests/integration/docs.rs claims (add them \
         to CLASSES):\n{}",
        unclassified.join("\n")
    );
    assert!(ran >= 10, "only {ran} commands ran");
    // Said, not hidden: what CI cannot run, and why (shown with `--nocapture`).
    println!("not run here:\n{}", not_run.join("\n"));
}

#[test]
fn excerpts_marked_as_a_file_are_that_file_verbatim() {
    let mut checked = 0;
    for (path, text) in pages() {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("<!-- file: ") {
            rest = &rest[at + "<!-- file: ".len()..];
            let name = &rest[..rest.find(" -->").unwrap()];
            let fence = rest.find("```").unwrap();
            let body_start = fence + rest[fence..].find('\n').unwrap() + 1;
            let body_end = body_start + rest[body_start..].find("```").unwrap();
            let shipped = fs::read_to_string(root().join(name)).unwrap();
            assert_eq!(
                &rest[body_start..body_end],
                shipped,
                "{}: the excerpt of {name} differs from the file",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn every_relative_link_in_the_readme_and_docs_leads_to_a_file() {
    let mut broken = Vec::new();
    for (path, text) in pages() {
        let dir = path.parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').unwrap_or(rest.len())];
            let file = target.split('#').next().unwrap();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            let resolved = dir.join(file);
            let from_root = resolved
                .strip_prefix(root())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let elsewhere = PAGES_ADDED_ELSEWHERE
                .iter()
                .any(|p| from_root.ends_with(p) || resolved.ends_with(p));
            if !resolved.exists() && !elsewhere {
                broken.push(format!("{}: {target}", path.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
