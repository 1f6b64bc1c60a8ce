//! Errors that point into a user's file.
//!
//! Every configuration, catalogue, script or policy problem is a [`Located`]: its message
//! reads `file:line:col: message`, the form editors and CI logs link to, and as a
//! [`miette::Diagnostic`] it carries the file's text (when it was read) and the span it is
//! about, so that the binary can draw the offending line with a caret under the place. This
//! module owns that form, the conversion from byte offsets (TOML spans) to lines and
//! columns, and TOML's type errors said in the user's words; it renders nothing.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};

/// A message about a place in a named file. Lines and columns are 1-based; columns count
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The file's text, when the error was found in it (for the snippet).
    pub source: Option<Arc<NamedSource<Arc<str>>>>,
    /// How many characters from the column the snippet underlines (0: the name, number
    /// or quoted string that starts there, or one character).
    pub width: usize,
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
            source: None,
            width: 0,
        }
    }

    /// A message about the byte offset `offset` of `text`.
    pub fn at_offset(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        Located::new(file, line, column, message).with_source(text)
    }

    /// A TOML parse or schema error, placed at its span; a type error names the key and
    /// what it must be (`stale_after_secs` must be a number of seconds, not the string
    /// "300"), not the Rust type it is read into.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let span = e.span().unwrap_or(0..0);
        let message = toml_message(text, span.start, &one_line(e.message()));
        let mut located = Located::at_offset(file, text, span.start, message);
        located.width = text
            .get(span.clone())
            .map_or(0, |s| s.lines().next().unwrap_or("").chars().count());
        located
    }

    /// The same message, with the text of its file for the snippet.
    pub fn with_source(mut self, text: &str) -> Self {
        self.source = Some(Arc::new(NamedSource::new(&self.file, Arc::from(text))));
        self
    }

    /// The bytes of the file's text this message is about: from its line and column,
    /// `width` characters, or the token that starts there. `None` without the text, or
    /// when the place is not in it.
    pub fn span(&self) -> Option<std::ops::Range<usize>> {
        let text: &str = self.source.as_ref()?.inner();
        let line_start: usize = text
            .split_inclusive('\n')
            .take(self.line.checked_sub(1)?)
            .map(str::len)
            .sum();
        let line_text = text.get(line_start..)?.lines().next()?;
        let start = line_start
            + line_text
                .char_indices()
                .nth(self.column.checked_sub(1)?)
                .map_or(line_text.len(), |(i, _)| i);
        let rest = &text[start..];
        let len = if self.width > 0 {
            rest.chars().take(self.width).map(char::len_utf8).sum()
        } else {
            token_len(rest)
        };
        Some(start..start + len)
    }
}

/// The file's text and the place underlined, for the binary's renderer.
impl miette::Diagnostic for Located {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span()?;
        Some(Box::new(std::iter::once(LabeledSpan::underline(span))))
    }
}

/// The length in bytes of the name, number or quoted string at the start of `s`; one
/// character otherwise (nothing at the end of a line).
fn token_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    if first == '\n' || first == '\r' {
        return 0;
    }
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    if is_name(first) {
        return s.find(|c: char| !is_name(c)).unwrap_or(s.len());
    }
    if (first == '"' || first == '\'')
        && let Some(end) = s[1..].find([first, '\n'])
    {
        return end + 2;
    }
    first.len_utf8()
}

/// A TOML error message in the user's words: a type error names the key and says what it
/// must be (`stale_after_secs` must be a number of seconds, not the string "300") instead
/// of the type it is read into (`expected f64`).
fn toml_message(text: &str, offset: usize, message: &str) -> String {
    if let Some(said) = unknown_name(message) {
        return said;
    }
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_string();
    };
    let Some((found, expected)) = rest.split_once(", expected ") else {
        return message.to_string();
    };
    let key = key_at(text, offset);
    let wanted = match expected.trim() {
        "f64" | "f32" => match key.as_deref() {
            Some(k) if k.ends_with("_secs") => "a number of seconds",
            Some(k) if k.ends_with("_ms") => "a number of milliseconds",
            _ => "a number",
        },
        "i64" | "u64" | "i32" | "u32" | "u16" | "u8" | "usize" => match key.as_deref() {
            Some(k) if k.ends_with("_mb") => "a whole number of megabytes",
            Some(k) if k.ends_with("_ms") => "a whole number of milliseconds",
            Some(k) if k.ends_with("_secs") => "a whole number of seconds",
            _ => "a whole number",
        },
        "a boolean" => "`true` or `false`",
        "a sequence" => "a list (`[...]`)",
        "a map" | "struct" => "a table",
        other if other.starts_with("a ") || other.starts_with("an ") => other,
        other if other.starts_with("struct ") || other.ends_with("Toml") => "a table",
        _ => return message.to_string(),
    };
    let found = found.trim();
    let found = if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = found.strip_prefix("integer ") {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(n) = found.strip_prefix("floating point ") {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        format!("`{}`", b.trim_matches('`'))
    } else if found == "sequence" {
        "a list".to_string()
    } else if found == "map" {
        "a table".to_string()
    } else {
        found.to_string()
    };
    match key {
        Some(key) => format!("`{key}` must be {wanted}, not {found}"),
        None => format!("this must be {wanted}, not {found}"),
    }
}

/// serde's `unknown field `x`, expected one of `a`, `b`` (and `unknown variant`) with the
/// closest names suggested: `unknown key `stale_after`; did you mean `stale_after_secs`?
/// (one of `scripts`, …)`.
fn unknown_name(message: &str) -> Option<String> {
    let (what, rest) = if let Some(rest) = message.strip_prefix("unknown field `") {
        ("key", rest)
    } else {
        ("value", message.strip_prefix("unknown variant `")?)
    };
    let (given, expected) = rest.split_once('`')?;
    let expected = expected.trim_start_matches(',').trim();
    if expected == "there are no fields" {
        return Some(format!("unknown key `{given}`: this table takes no keys"));
    }
    let expected = expected.strip_prefix("expected ")?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if names.is_empty() {
        return None;
    }
    let choices: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    Some(format!(
        "unknown {what} `{given}`{} (one of {})",
        did_you_mean(&closest(given, names.iter().copied())),
        choices.join(", ")
    ))
}

/// The key of the `key = value` line that holds byte `offset`, if it is one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    bare.then(|| key.to_string())
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

/// `s` safe to print on a terminal: control characters (escape sequences, carriage
/// returns, C1 controls; not line breaks or tabs) and the bidirectional overrides that reorder what a
/// reader sees are shown as `\u{..}` escapes. Use it on any text a user or an input file
/// controls before it reaches standard output or standard error.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    // Line breaks and tabs stay: messages may be several lines (a snippet under them).
    fn unsafe_char(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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

/// A name that is not one of its choices (a format, a report kind, a catalogue): what it
/// names, the name given, and the choices, with the closest suggested.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`{} (one of {})", did_you_mean(&closest(given, choices.iter().copied())), choices.join(", "))]
pub struct Unknown {
    pub what: &'static str,
    pub given: String,
    pub choices: &'static [&'static str],
}

impl Unknown {
    pub fn new(what: &'static str, given: &str, choices: &'static [&'static str]) -> Unknown {
        Unknown {
            what,
            given: given.to_string(),
            choices,
        }
    }
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
    fn toml_type_errors_name_the_key_and_what_it_must_be() {
        let text = "stale_after_secs = \"300\"\n";
        assert_eq!(
            toml_message(text, 19, "invalid type: string \"300\", expected f64"),
            "`stale_after_secs` must be a number of seconds, not the string \"300\""
        );
        assert_eq!(
            toml_message("x = 1\n", 4, "invalid type: integer `1`, expected a string"),
            "`x` must be a string, not the number 1"
        );
    }

    #[test]
    fn an_unknown_key_or_value_gets_the_closest_names() {
        assert_eq!(
            toml_message(
                "stale_after = 1\n",
                0,
                "unknown field `stale_after`, expected one of `scripts`, `stale_after_secs`, `limits`"
            ),
            "unknown key `stale_after`; did you mean `stale_after_secs`? (one of `scripts`, `stale_after_secs`, `limits`)"
        );
        assert_eq!(
            toml_message("x = 1\n", 0, "unknown field `x`, expected `a` or `b`"),
            "unknown key `x` (one of `a`, `b`)"
        );
        assert_eq!(
            toml_message("x = 1\n", 0, "unknown field `x`, there are no fields"),
            "unknown key `x`: this table takes no keys"
        );
        assert_eq!(
            toml_message(
                "t = \"ROUTEABLE\"\n",
                4,
                "unknown variant `ROUTEABLE`, expected one of `ROUTABLE`, `CUSTOM`"
            ),
            "unknown value `ROUTEABLE`; did you mean `ROUTABLE`? (one of `ROUTABLE`, `CUSTOM`)"
        );
    }

    #[test]
    fn terminal_escapes_are_shown_not_sent() {
        assert_eq!(terminal_safe("alice"), "alice");
        assert_eq!(
            terminal_safe("a\u{1b}[2Jb\r\n\u{9b}c\u{202e}"),
            "a\\u{1b}[2Jb\\u{d}\n\\u{9b}c\\u{202e}"
        );
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
