//! `agent-audit check`: parse, compile and validate every file of a configuration and run
//! the tests embedded next to them. Exit 0 when all pass, 1 when a test fails, 2 when a
//! file is invalid; every problem is printed as `file:line:col: message`, or as JUnit XML
//! or JSON for CI systems and programs.

use maud::{Markup, PreEscaped, html};
use serde_json::json;

use crate::cli::{CheckArgs, CheckFormat};
use agent_audit::diagnostic::Located;
use agent_audit::error::Error;
use agent_audit::generation::{Generation, TestResult};

/// What a check found: the invalid files, or the loaded configuration's test results.
enum Found {
    Invalid(Vec<Located>),
    Tested {
        generation: Box<Generation>,
        results: Vec<TestResult>,
        /// Valid but most likely wrong ([`Generation::warnings`]).
        warnings: Vec<Located>,
    },
}

pub fn run(args: &CheckArgs) -> Result<(), Error> {
    let found = match Generation::load(args.config.config.as_deref()) {
        Err(errors) => Found::Invalid(errors),
        Ok(generation) => {
            let results = generation.run_tests();
            let warnings = generation.warnings();
            Found::Tested {
                generation: Box::new(generation),
                results,
                warnings,
            }
        }
    };
    match args.format {
        CheckFormat::Text => print_text(&found, args.verbose),
        CheckFormat::Json => println!("{}", to_json(&found)),
        CheckFormat::Junit => println!("{}", to_junit(&found, args.strict).into_string()),
    }
    match &found {
        Found::Invalid(errors) => Err(Error::InvalidFiles(errors.len())),
        Found::Tested { warnings, .. } if args.strict && !warnings.is_empty() => {
            Err(Error::InvalidFiles(warnings.len()))
        }
        Found::Tested { results, .. } => match failed(results) {
            0 => Ok(()),
            n => Err(Error::TestsFailed(n)),
        },
    }
}

fn failed(results: &[TestResult]) -> usize {
    results.iter().filter(|r| r.outcome.is_err()).count()
}

fn print_text(found: &Found, verbose: bool) {
    match found {
        Found::Invalid(errors) => {
            for e in errors {
                println!("{}", crate::render::located(e));
            }
        }
        Found::Tested {
            generation,
            results,
            warnings,
        } => {
            for w in warnings {
                println!("{}", crate::render::warning(w));
            }
            for r in results.iter().filter(|r| verbose || r.outcome.is_err()) {
                match r.located() {
                    Some(failure) => println!("{}", crate::render::located(&failure)),
                    None => println!("{r}"),
                }
            }
            println!(
                "{} file(s), {} status(es), {} of {} test(s) passed, configuration {}",
                generation.files.len(),
                generation.classifier.catalog.definitions().len(),
                results.len() - failed(results),
                results.len(),
                generation.hash
            );
        }
    }
}

fn to_json(found: &Found) -> serde_json::Value {
    match found {
        Found::Invalid(errors) => json!({
            "valid": false,
            "errors": errors.iter().map(|e| json!({
                "file": e.file, "line": e.line, "column": e.column, "message": e.message,
            })).collect::<Vec<_>>(),
        }),
        Found::Tested {
            generation,
            results,
            warnings,
        } => json!({
            "valid": true,
            "warnings": warnings.iter().map(|w| json!({
                "file": w.file, "line": w.line, "column": w.column, "message": w.message,
            })).collect::<Vec<_>>(),
            "configuration": generation.hash,
            "files": generation.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "statuses": generation.classifier.catalog.definitions().len(),
            "passed": results.len() - failed(results),
            "failed": failed(results),
            "tests": results.iter().map(|r| json!({
                "file": r.file, "line": r.line, "column": r.column, "name": r.name,
                "outcome": if r.outcome.is_ok() { "passed" } else { "failed" },
                "message": r.outcome.as_ref().err().map(ToString::to_string),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// Text as XML 1.0 may hold it: the characters it forbids (most controls), replaced.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// JUnit XML (the schema Jenkins, GitLab and GitHub reporters read): one suite, a test
/// case per embedded test, and for an invalid configuration one case in error per problem.
/// maud escapes every attribute and text; every element is written with its end tag.
/// Under `--strict` each warning is a failing case too.
fn to_junit(found: &Found, strict: bool) -> Markup {
    let none = Vec::new();
    let failing = match found {
        Found::Tested { warnings, .. } if strict => warnings,
        _ => &none,
    };
    let (tests, failures, errors) = match found {
        Found::Invalid(e) => (e.len(), 0, e.len()),
        Found::Tested { results, .. } => (
            results.len() + failing.len(),
            failed(results) + failing.len(),
            0,
        ),
    };
    html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
        testsuites name="agent-audit check" tests=(tests) failures=(failures) errors=(errors) {
            testsuite name="agent-audit check" tests=(tests) failures=(failures) errors=(errors) {
                @match found {
                    Found::Invalid(problems) => {
                        @for p in problems {
                            testcase classname=(xml_text(&p.file)) name=(format!("{}:{}:{}", p.file, p.line, p.column))
                                file=(xml_text(&p.file)) line=(p.line) {
                                error message=(xml_text(&p.message)) type="invalid" {
                                    (xml_text(&p.to_string()))
                                }
                            }
                        }
                    }
                    Found::Tested { generation, results, .. } => {
                        properties {
                            property name="configuration" value=(generation.hash) {}
                        }
                        @for w in failing {
                            testcase classname=(xml_text(&w.file)) name=(format!("{}:{}:{}", w.file, w.line, w.column))
                                file=(xml_text(&w.file)) line=(w.line) {
                                failure message=(xml_text(&w.message)) type="warning" {
                                    (xml_text(&w.to_string()))
                                }
                            }
                        }
                        @for r in results {
                            testcase classname=(xml_text(&r.file)) name=(xml_text(&r.name))
                                file=(xml_text(&r.file)) line=(r.line) {
                                @if let Err(why) = &r.outcome {
                                    failure message=(xml_text(&why.to_string())) type="test" {
                                        (xml_text(&r.to_string()))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
