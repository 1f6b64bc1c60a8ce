//! Which `return` gave a hook's value (SPEC §3.8: a label names the `return` that produced
//! it; §7: so does a policy's forbid).
//!
//! Neither engine says where a returned value came from, and asking their debug interfaces
//! costs on every node or every function return. Instead each `return` statement of a hook
//! (`classify`, `authorize`) is marked in the source the engine compiles: just before its
//! value is computed, the marker records the statement's line, so after the call the last
//! line recorded is the `return` that ended it. A `return` in a helper function is not the
//! hook's and is not marked. The marker adds text within the line, never a line, so every
//! line number stays; in Rhai, columns after a marker are mapped back for error messages.
//!
//! - Rhai: `return EXPR` becomes `return __agent_audit_return(LINE) ?? EXPR`; the native
//!   function records the line and returns `()`, and `() ?? v` is `v` whatever the
//!   precedence of the operators in `EXPR`. Positions come from the parsed syntax tree.
//! - Lua: `__agent_audit_return = LINE` is put before `return` (a statement may always
//!   precede a `return`, which ends its block); the host reads the global after the call.
//!   `return` keywords are found by a lexer that knows Lua's comments and strings.

/// The name of the marker (a Rhai native function, a Lua global).
pub(super) const MARK: &str = "__agent_audit_return";

/// Text inserted before byte `offset` of a source; `column` (1-based, in characters) is
/// where it goes in its line.
pub(super) struct Insertion {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub text: String,
}

/// A source with markers, and how its columns map back to the original.
pub(super) struct Marked {
    pub source: String,
    /// Per insertion: its line, its column in the marked source and its length in chars.
    shifts: Vec<(usize, usize, usize)>,
}

impl Marked {
    /// `source` with `insertions` made (in any order).
    pub fn new(source: &str, mut insertions: Vec<Insertion>) -> Marked {
        insertions.sort_by_key(|i| i.offset);
        let mut out = String::with_capacity(source.len() + insertions.len() * 32);
        let mut shifts = Vec::with_capacity(insertions.len());
        let mut done = 0;
        let mut added_on_line: (usize, usize) = (0, 0);
        for ins in insertions {
            let Some(before) = source.get(done..ins.offset) else {
                continue;
            };
            out.push_str(before);
            out.push_str(&ins.text);
            done = ins.offset;
            if added_on_line.0 != ins.line {
                added_on_line = (ins.line, 0);
            }
            let len = ins.text.chars().count();
            shifts.push((ins.line, ins.column + added_on_line.1, len));
            added_on_line.1 += len;
        }
        out.push_str(source.get(done..).unwrap_or_default());
        Marked {
            source: out,
            shifts,
        }
    }

    /// The column in the original source of `column` on `line` of the marked one.
    pub fn original_column(&self, line: usize, column: usize) -> usize {
        let added: usize = self
            .shifts
            .iter()
            .filter(|&&(l, at, len)| l == line && column >= at + len)
            .map(|&(_, _, len)| len)
            .sum();
        column.saturating_sub(added).max(1)
    }
}

/// The byte offset of 1-based (line, column in characters) in `source`.
pub(super) fn offset_of(source: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        source
            .match_indices('\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)?
    };
    let text = &source[start..];
    let within = text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    Some(start + within)
}

/// The `return` keywords of a Lua chunk, outside comments and strings: (byte offset, line,
/// column).
pub(super) fn lua_returns(source: &str) -> Vec<(usize, usize, usize)> {
    let b = source.as_bytes();
    let mut found = Vec::new();
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let newline = |i: usize, line: &mut usize, line_start: &mut usize| {
        *line += 1;
        *line_start = i + 1;
    };
    while i < b.len() {
        match b[i] {
            b'\n' => {
                newline(i, &mut line, &mut line_start);
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i += 2;
                if let Some(level) = long_bracket(b, i) {
                    i = skip_long(b, i, level, &mut |at| {
                        newline(at, &mut line, &mut line_start)
                    });
                } else {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
            }
            b'[' => match long_bracket(b, i) {
                Some(level) => {
                    i = skip_long(b, i, level, &mut |at| {
                        newline(at, &mut line, &mut line_start)
                    })
                }
                None => i += 1,
            },
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != quote {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if b.get(i) == Some(&b'\n') {
                        newline(i, &mut line, &mut line_start);
                    }
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if &b[start..i] == b"return" {
                    let column = source[line_start..start].chars().count() + 1;
                    found.push((start, line, column));
                }
            }
            c if c.is_ascii_digit() => {
                // A number, so that `0x1return` is not read as a keyword.
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// At `[`: the level of a long bracket `[==[` that opens there.
fn long_bracket(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let level = b[i + 1..].iter().take_while(|&&c| c == b'=').count();
    (b.get(i + 1 + level) == Some(&b'[')).then_some(level)
}

/// Past the long bracket of `level` opening at `i`, calling `newline` at each line break.
fn skip_long(b: &[u8], mut i: usize, level: usize, newline: &mut impl FnMut(usize)) -> usize {
    i += level + 2;
    while i < b.len() {
        if b[i] == b'\n' {
            newline(i);
        } else if b[i] == b']'
            && b[i + 1..].iter().take_while(|&&c| c == b'=').count() == level
            && b.get(i + 1 + level) == Some(&b']')
        {
            return i + level + 2;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_returns_skip_comments_and_strings() {
        let src = "-- return here is a comment\nlocal s = \"return\" .. 'return'\n--[[ return\nreturn ]]\nlocal l = [==[\nreturn ]] ]==]\nfunction f()\n  return 1 -- return\nend\nlocal returned = 0x1f\n";
        let found: Vec<(usize, usize)> = lua_returns(src).iter().map(|&(_, l, c)| (l, c)).collect();
        assert_eq!(found, vec![(8, 3)]);
    }

    #[test]
    fn markers_keep_lines_and_map_columns_back() {
        let src = "a\nb return x\n";
        let offset = offset_of(src, 2, 3).unwrap_or(0);
        let m = Marked::new(
            src,
            vec![Insertion {
                offset,
                line: 2,
                column: 3,
                text: "M; ".to_string(),
            }],
        );
        assert_eq!(m.source, "a\nb M; return x\n");
        // `x` is at column 13 in the marked line and 10 in the original one.
        assert_eq!(m.original_column(2, 13), 10);
        assert_eq!(m.original_column(2, 1), 1);
    }
}
