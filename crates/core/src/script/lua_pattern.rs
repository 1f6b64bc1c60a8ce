//! Lua 5.4's pattern matcher (`lstrlib.c`: `match`, `max_expand`, `matchbalance`, …),
//! ported line for line so that `string.find`, `match`, `gmatch` and `gsub` behave exactly
//! as in Lua, with one difference: every step is counted, and every few thousand steps the
//! matcher asks the caller whether the call is out of time.
//!
//! The C matcher backtracks without bound (`string.rep("a*", 12) .. "b"` against 3,000
//! `a`s takes longer than anyone waits) and runs in C, where Lua's instruction hook never
//! fires: that is why the sandbox replaces those four functions instead of relying on the
//! hook. What this module must not do: allocate in proportion to the input, or recurse
//! deeper than Lua does (200 levels, "pattern too complex").
//!
//! Ported from Lua 5.4, under its MIT licence (also in `THIRD-PARTY-NOTICES.md`):
//!
//! Copyright (C) 1994-2024 Lua.org, PUC-Rio.
//!
//! Permission is hereby granted, free of charge, to any person obtaining a copy of this
//! software and associated documentation files (the "Software"), to deal in the Software
//! without restriction, including without limitation the rights to use, copy, modify,
//! merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
//! permit persons to whom the Software is furnished to do so, subject to the following
//! conditions:
//!
//! The above copyright notice and this permission notice shall be included in all copies
//! or substantial portions of the Software.
//!
//! THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
//! INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
//! PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
//! HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
//! CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
//! THE USE OR OTHER DEALINGS IN THE SOFTWARE.

/// `MAXCCALLS` in `lstrlib.c`: the matcher's recursion depth.
const MAX_DEPTH: usize = 200;
/// `LUA_MAXCAPTURES`.
pub(super) const MAX_CAPTURES: usize = 32;
const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;
const ESC: u8 = b'%';
const SPECIALS: &[u8] = b"^$*+?.([%-";
/// Steps between two questions to the caller.
const CHECK_EVERY: u64 = 4096;

/// Why a match stopped without an answer.
#[derive(Debug)]
pub(super) enum Fail {
    /// A malformed pattern or capture, with Lua's own message.
    Error(String),
    /// The caller's check said stop (the call is out of time).
    Stop(mlua::Error),
}

fn err<T>(message: &str) -> Result<T, Fail> {
    Err(Fail::Error(message.to_string()))
}

/// One capture of a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Capture {
    /// `src[start..end]`.
    Bytes(usize, usize),
    /// A position capture `()`: 1-based.
    Position(usize),
}

/// The state of one match (`MatchState`).
pub(super) struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    depth: usize,
    level: usize,
    capture: [(usize, isize); MAX_CAPTURES],
    steps: u64,
    next_check: u64,
    check: &'a mut dyn FnMut() -> Result<(), mlua::Error>,
}

/// Whether a pattern has no special characters (so `find` can search it literally).
pub(super) fn no_specials(pat: &[u8]) -> bool {
    !pat.iter().any(|b| SPECIALS.contains(b))
}

impl<'a> Matcher<'a> {
    /// A matcher of `pat` (without a leading `^` anchor, which callers handle) in `src`.
    pub(super) fn new(
        src: &'a [u8],
        pat: &'a [u8],
        check: &'a mut dyn FnMut() -> Result<(), mlua::Error>,
    ) -> Self {
        Matcher {
            src,
            pat,
            depth: MAX_DEPTH,
            level: 0,
            capture: [(0, 0); MAX_CAPTURES],
            steps: 0,
            next_check: CHECK_EVERY,
            check,
        }
    }

    /// Where the match of the whole pattern starting at `s` ends, if it matches there.
    pub(super) fn match_at(&mut self, s: usize) -> Result<Option<usize>, Fail> {
        self.level = 0;
        self.depth = MAX_DEPTH;
        self.do_match(s, 0)
    }

    /// The captures of the last match `src[s..e]`; with no captures in the pattern, the
    /// whole match (when `whole` is given) or nothing.
    pub(super) fn captures(&self, whole: Option<(usize, usize)>) -> Result<Vec<Capture>, Fail> {
        let n = if self.level == 0 && whole.is_some() {
            1
        } else {
            self.level
        };
        let (s, e) = whole.unwrap_or((0, 0));
        (0..n).map(|i| self.capture_at(i, s, e)).collect()
    }

    /// Capture `i` (0-based) of the match `src[s..e]` (`get_onecapture`).
    pub(super) fn capture_at(&self, i: usize, s: usize, e: usize) -> Result<Capture, Fail> {
        if i >= self.level {
            if i != 0 {
                return Err(Fail::Error(format!("invalid capture index %{}", i + 1)));
            }
            return Ok(Capture::Bytes(s, e));
        }
        let (init, len) = self.capture[i];
        match len {
            CAP_UNFINISHED => err("unfinished capture"),
            CAP_POSITION => Ok(Capture::Position(init + 1)),
            len => Ok(Capture::Bytes(init, init + len.unsigned_abs())),
        }
    }

    /// Counts `n` steps, asking the caller every [`CHECK_EVERY`].
    pub(super) fn tick(&mut self, n: u64) -> Result<(), Fail> {
        self.steps = self.steps.saturating_add(n);
        if self.steps >= self.next_check {
            self.next_check = self.steps.saturating_add(CHECK_EVERY);
            (self.check)().map_err(Fail::Stop)?;
        }
        Ok(())
    }

    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn s(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn class_end(&self, mut p: usize) -> Result<usize, Fail> {
        let c = self.p(p);
        p += 1;
        match c {
            ESC => {
                if p >= self.pat.len() {
                    return err("malformed pattern (ends with '%')");
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.p(p) == b'^' {
                    p += 1;
                }
                loop {
                    if p >= self.pat.len() {
                        return err("malformed pattern (missing ']')");
                    }
                    let c = self.pat[p];
                    p += 1;
                    if c == ESC && p < self.pat.len() {
                        p += 1;
                    }
                    if self.p(p) == b']' {
                        break;
                    }
                }
                Ok(p + 1)
            }
            _ => Ok(p),
        }
    }

    /// `matchbracketclass`: `p` at `[`, `ec` at the closing `]`.
    fn bracket(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.p(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                break;
            }
            let pc = self.p(p);
            if pc == ESC {
                p += 1;
                if match_class(c, self.p(p)) {
                    return sig;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if self.p(p - 2) <= c && c <= self.p(p) {
                    return sig;
                }
            } else if pc == c {
                return sig;
            }
        }
        !sig
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.src[s];
        match self.p(p) {
            b'.' => true,
            ESC => match_class(c, self.p(p + 1)),
            b'[' => self.bracket(c, p, ep - 1),
            pc => pc == c,
        }
    }

    fn balance(&mut self, s: usize, p: usize) -> Result<Option<usize>, Fail> {
        if p + 1 >= self.pat.len() {
            return err("malformed pattern (missing arguments to '%b')");
        }
        if s >= self.src.len() || self.src[s] != self.pat[p] {
            return Ok(None);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1usize;
        let mut s = s + 1;
        while s < self.src.len() {
            self.tick(1)?;
            let c = self.src[s];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(s + 1));
                }
            } else if c == open {
                depth += 1;
            }
            s += 1;
        }
        Ok(None)
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Result<Option<usize>, Fail> {
        let mut i = 0usize;
        while self.single(s + i, p, ep) {
            i += 1;
            self.tick(1)?;
        }
        loop {
            if let Some(r) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(r));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Result<Option<usize>, Fail> {
        loop {
            if let Some(r) = self.do_match(s, ep + 1)? {
                return Ok(Some(r));
            }
            if self.single(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: isize) -> Result<Option<usize>, Fail> {
        if self.level >= MAX_CAPTURES {
            return err("too many captures");
        }
        self.capture[self.level] = (s, what);
        self.level += 1;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.level -= 1;
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Result<Option<usize>, Fail> {
        let Some(l) = (0..self.level)
            .rev()
            .find(|&l| self.capture[l].1 == CAP_UNFINISHED)
        else {
            return err("invalid pattern capture");
        };
        self.capture[l].1 = isize::try_from(s - self.capture[l].0).unwrap_or(isize::MAX);
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.capture[l].1 = CAP_UNFINISHED;
        }
        Ok(r)
    }

    fn match_capture(&mut self, s: usize, digit: u8) -> Result<Option<usize>, Fail> {
        let l = usize::from(digit).wrapping_sub(usize::from(b'1'));
        if l >= self.level || self.capture[l].1 == CAP_UNFINISHED {
            return Err(Fail::Error(format!(
                "invalid capture index %{}",
                i64::from(digit) - i64::from(b'0')
            )));
        }
        let (init, len) = self.capture[l];
        // A position capture has no text: as in C (a huge unsigned length), never matches.
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        self.tick(1 + (len / 64) as u64)?;
        if self.src.len() - s >= len && self.src[init..init + len] == self.src[s..s + len] {
            Ok(Some(s + len))
        } else {
            Ok(None)
        }
    }

    fn do_match(&mut self, s: usize, p: usize) -> Result<Option<usize>, Fail> {
        if self.depth == 0 {
            return err("pattern too complex");
        }
        self.depth -= 1;
        let r = self.match_here(s, p);
        self.depth += 1;
        r
    }

    fn match_here(&mut self, mut s: usize, mut p: usize) -> Result<Option<usize>, Fail> {
        loop {
            self.tick(1)?;
            if p == self.pat.len() {
                return Ok(Some(s));
            }
            match self.pat[p] {
                b'(' => {
                    return if self.p(p + 1) == b')' {
                        self.start_capture(s, p + 2, CAP_POSITION)
                    } else {
                        self.start_capture(s, p + 1, CAP_UNFINISHED)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                ESC if self.p(p + 1) == b'b' => match self.balance(s, p + 2)? {
                    Some(next) => {
                        s = next;
                        p += 4;
                    }
                    None => return Ok(None),
                },
                ESC if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return err("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    let previous = if s == 0 { 0 } else { self.s(s - 1) };
                    if !self.bracket(previous, p, ep - 1) && self.bracket(self.s(s), p, ep - 1) {
                        p = ep;
                    } else {
                        return Ok(None);
                    }
                }
                ESC if self.p(p + 1).is_ascii_digit() => {
                    match self.match_capture(s, self.p(p + 1))? {
                        Some(next) => {
                            s = next;
                            p += 2;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let after = self.p(ep);
                    if !self.single(s, p, ep) {
                        if matches!(after, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match after {
                        b'?' => {
                            if let Some(r) = self.do_match(s + 1, ep + 1)? {
                                return Ok(Some(r));
                            }
                            p = ep + 1;
                        }
                        b'+' => return self.max_expand(s + 1, p, ep),
                        b'*' => return self.max_expand(s, p, ep),
                        b'-' => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }
}

/// `match_class`, with the C locale's character classes.
fn match_class(c: u8, class: u8) -> bool {
    let res = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !res
    } else {
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(src: &str, pat: &str) -> Option<(usize, usize, Vec<Capture>)> {
        let mut ok = || Ok(());
        let (anchor, pat) = match pat.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), &mut ok);
        let mut s = 0;
        loop {
            if let Some(e) = m.match_at(s).ok()? {
                return Some((s, e, m.captures(None).ok()?));
            }
            if anchor || s >= src.len() {
                return None;
            }
            s += 1;
        }
    }

    #[test]
    fn classes_sets_quantifiers_and_captures() {
        assert_eq!(find("hello world", "o w").map(|f| (f.0, f.1)), Some((4, 7)));
        assert_eq!(
            find("key = value", "(%w+)%s*=%s*(%w+)")
                .map(|f| f.2)
                .unwrap(),
            vec![Capture::Bytes(0, 3), Capture::Bytes(6, 11)]
        );
        assert_eq!(
            find("THE (quick) fox", "%((%a+)%)").map(|f| f.2).unwrap(),
            vec![Capture::Bytes(5, 10)]
        );
        assert_eq!(find("f(a(b)c)d", "%b()").map(|f| (f.0, f.1)), Some((1, 8)));
        assert_eq!(
            find("THE quick", "%f[%a]%a+").map(|f| (f.0, f.1)),
            Some((0, 3))
        );
        assert_eq!(find("abcabc", "(abc)%1").map(|f| (f.0, f.1)), Some((0, 6)));
        assert_eq!(find("aaab", "a-b").map(|f| (f.0, f.1)), Some((0, 4)));
        assert_eq!(
            find("x", "()").map(|f| f.2).unwrap(),
            vec![Capture::Position(1)]
        );
        assert_eq!(find("]", "[]]").map(|f| (f.0, f.1)), Some((0, 1)));
        assert!(find("abc", "^b").is_none());
        assert!(find("abc", "c$").is_some());
    }

    #[test]
    fn a_pathological_pattern_is_stopped_by_the_check() {
        let src = "a".repeat(3000);
        let pat = format!("{}b", "a*".repeat(12));
        let mut checks = 0;
        let mut check = || {
            checks += 1;
            if checks > 10 {
                Err(mlua::Error::runtime("stop"))
            } else {
                Ok(())
            }
        };
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), &mut check);
        assert!(matches!(m.match_at(0), Err(Fail::Stop(_))));
    }
}
