//! An organisation's status file: TOML with `[[status]]` definitions and `[[test]]` cases,
//! any file ending in `.toml` among the configured scripts.
//!
//! ```toml
//! [[status]]
//! name = "Lunch"
//! type = "CUSTOM"
//!
//! [[test]]
//! name = "a lunch break"
//! snapshot = { status = { name = "Lunch", type = "CUSTOM" } }
//! expect = "Lunch"
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::catalog::StatusDefinition;
use crate::catalog::definition::StatusToml;
use crate::diagnostic::{Located, line_col};
use crate::script::{TestCase, TestSnap};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusFileToml {
    #[serde(default)]
    status: Vec<Spanned<StatusToml>>,
    #[serde(default)]
    test: Vec<Spanned<TestToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestToml {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    snapshot: TestSnap,
    /// The label the snapshot must get; omit it for "no label at all".
    #[serde(default)]
    expect: Option<String>,
}

/// A parsed status file.
pub struct StatusFile {
    /// Definitions with the byte offset where each starts.
    pub statuses: Vec<(StatusDefinition, usize)>,
    pub tests: Vec<TestCase>,
}

impl StatusFile {
    pub fn parse(file: &str, text: &str) -> Result<StatusFile, Located> {
        let raw: StatusFileToml =
            toml::from_str(text).map_err(|e| Located::from_toml(file, text, &e))?;
        let mut statuses = Vec::new();
        for status in raw.status {
            let start = status.span().start;
            statuses.push((status.into_inner().validate(file, text)?, start));
        }
        let tests = raw
            .test
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let (line, column) = line_col(text, t.span().start);
                let t = t.into_inner();
                TestCase {
                    file: file.to_string(),
                    line,
                    column,
                    name: t.name.unwrap_or_else(|| format!("test {}", i + 1)),
                    snapshot: t.snapshot,
                    expect: t.expect,
                }
            })
            .collect();
        Ok(StatusFile { statuses, tests })
    }
}
