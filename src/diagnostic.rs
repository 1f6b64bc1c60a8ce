//! Errors that point into a user's file.
//!
//! Every configuration, catalogue, script or policy problem is reported as
//! `file:line:col: message`, the form editors and CI logs link to. This module owns that
//! form and the conversion from byte offsets (TOML spans) to lines and columns.

use std::fmt;

/// A message about a place in a named file. Lines and columns are 1-based; columns count
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Located {
    pub fn new(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Located {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A message about the byte offset `offset` of `text`.
    pub fn at_offset(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        Located::new(file, line, column, message)
    }

    /// A TOML parse or schema error, placed at its span.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        Located::at_offset(file, text, offset, one_line(e.message()))
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Located {}

/// 1-based line and character column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// Joins a multi-line message into one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Up to three names from `candidates` closest to `wanted`, best first.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wanted_lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// ", did you mean `a`, `b`?" or nothing.
pub fn did_you_mean(suggestions: &[&str]) -> String {
    if suggestions.is_empty() {
        return String::new();
    }
    let list: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
    format!("; did you mean {}?", list.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 12), (2, 6));
    }

    #[test]
    fn suggestions_are_close_names() {
        let names = ["agent00001", "agent00002", "supervisor"];
        assert_eq!(
            closest("agent0001", names)[..2],
            ["agent00001", "agent00002"]
        );
        assert!(closest("zzz", names).is_empty());
    }
}
