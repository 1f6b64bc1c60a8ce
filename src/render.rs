//! Errors as the user reads them, rendered once, here. The library's errors are `miette`
//! diagnostics: a [`Located`] carries its file's text and the span it is about, and
//! miette draws it whole: `error: file:line:col: message` (the form editors and CI logs
//! link to), then the offending line with a caret under the place.

use agent_audit::diagnostic::{Located, terminal_safe};
use agent_audit::error::Error;
use miette::{GraphicalReportHandler, GraphicalTheme, ThemeCharacters, ThemeStyles};

/// `e` as printed on standard error: each place in a file it is about drawn by miette, or
/// `error: ` and its message; safe for a terminal (messages quote logins, file names and
/// input: they never steer it).
pub fn error(e: &Error) -> String {
    let located = e.located();
    if located.is_empty() {
        return format!("error: {}", terminal_safe(&e.to_string()));
    }
    located
        .iter()
        .map(self::located)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `error: file:line:col: message`, then the line of the file with the place underlined
/// when the file's text is known (carried by the message, or read from the file if it
/// still is one); safe for a terminal.
pub fn located(l: &Located) -> String {
    drawn(l, "error:")
}

/// [`located`] for what is valid but most likely wrong: `warning: file:line:col: …`.
pub fn warning(l: &Located) -> String {
    drawn(l, "warning:")
}

fn drawn(l: &Located, severity: &str) -> String {
    let read;
    let l = match &l.source {
        None => match read_for_snippet(&l.file) {
            Some(text) => {
                read = l.clone().with_source(&text);
                &read
            }
            None => l,
        },
        Some(_) => l,
    };
    let mut out = String::new();
    let theme = GraphicalTheme {
        characters: ThemeCharacters {
            error: severity.to_string(),
            ..ThemeCharacters::ascii()
        },
        styles: ThemeStyles::none(),
    };
    let drawn = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_wrap_lines(false)
        .render_report(&mut out, l);
    match drawn {
        Ok(()) => terminal_safe(out.trim_end()).into_owned(),
        Err(_) => format!("{severity} {}", terminal_safe(&l.to_string())),
    }
}

/// The text of `file` for a snippet: only a regular file of a configuration's size (the
/// file an error is about may be a FIFO that would block, or something huge).
fn read_for_snippet(file: &str) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return None;
    }
    std::fs::read_to_string(file).ok()
}
