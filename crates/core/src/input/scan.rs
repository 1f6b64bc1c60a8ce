//! A structural scan of one JSON object, fast enough to run before parsing.
//!
//! It finds where an object ends, jumping from one `"`, `{` or `}` to the next with
//! `memchr` and over whole strings, and notes the spans of the object values of one key at
//! one depth (the agent snapshots' `Configuration`, two thirds of every event). `ingest`
//! uses it to cut a record out of the stream, to skip other agents' records unparsed, and
//! to parse a record with its configurations replaced by placeholders. It does not
//! validate: serde_json parses whatever it accepts, and anything it gets wrong is caught
//! there.

use std::ops::Range;

/// Where the object starting at `bytes[0]` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// The object is `bytes[..end]`.
    Complete(usize),
    /// `bytes` ends inside the object.
    Incomplete,
    /// `bytes` does not start with `{`.
    NotObject,
}

/// Scans the object at the start of `bytes`, pushing onto `spans` the ranges of the object
/// values of `key` found `depth` levels down (1: the object's own keys).
///
/// Strings are jumped over with `memchr` for their closing quote; the few bytes between
/// strings (`":"`, `","`, `{`, `}`) are looked at one by one. That is the whole cost of
/// passing over a record that is not wanted.
pub fn object(bytes: &[u8], key: &[u8], depth: usize, spans: &mut Vec<Range<usize>>) -> Extent {
    if bytes.first() != Some(&b'{') {
        return Extent::NotObject;
    }
    let mut level = 0usize;
    let mut i = 0usize;
    // The level at which a wanted value was entered, and where it began.
    let mut inside: Option<usize> = None;
    let mut value_start = 0usize;
    let mut want_value = false;
    loop {
        let quote = find_quote(bytes, i);
        let gap_end = quote.unwrap_or(bytes.len());
        for (at, &b) in bytes[i..gap_end].iter().enumerate() {
            let at = i + at;
            match b {
                b'{' => {
                    level += 1;
                    if want_value {
                        inside = Some(level);
                        value_start = at;
                        want_value = false;
                    }
                }
                b'}' => {
                    if inside == Some(level) {
                        spans.push(value_start..at + 1);
                        inside = None;
                    }
                    level = level.saturating_sub(1);
                    if level == 0 {
                        return Extent::Complete(at + 1);
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' | b':' => {}
                _ => want_value = false,
            }
        }
        let Some(q) = quote else {
            return Extent::Incomplete;
        };
        let Some(end) = string_end(bytes, q + 1) else {
            return Extent::Incomplete;
        };
        // A wanted key: its value is taken if it is an object (the next `{` in the gap).
        want_value = level == depth && inside.is_none() && &bytes[q + 1..end] == key && {
            let after = &bytes[end + 1..];
            let colon = after.iter().position(|b| !b.is_ascii_whitespace());
            colon.is_some_and(|c| after[c] == b':')
        };
        i = end + 1;
    }
}

/// The next `"` at or after `from`. Most distances are short (keys, and the `":"` between
/// a key and its value), where testing eight bytes at a time in a `u64` beats setting up a
/// vector search; long strings go to `memchr`.
fn find_quote(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    let mut i = from;
    let near_end = (from + 64).min(bytes.len());
    while i + 8 <= near_end {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ QUOTES;
        // The lowest flagged byte is always a real match (borrows only flag bytes above one).
        let found = x.wrapping_sub(ONES) & !x & HIGH;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if near_end < bytes.len() {
        return memchr::memchr(b'"', &bytes[i..]).map(|off| i + off);
    }
    bytes[i..]
        .iter()
        .position(|&b| b == b'"')
        .map(|off| i + off)
}

/// The index of the `"` that closes the string whose content starts at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = find_quote(bytes, from)?;
        // Escaped if preceded by an odd number of backslashes.
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The string value of a top-level key of the record, found without parsing, when it has
/// no escapes (`None` otherwise: the caller then parses the record to be sure). `quoted` is
/// the key with its quotes, `b"\"AgentARN\""`.
pub fn string_value<'r>(record: &'r [u8], quoted: &[u8]) -> Option<&'r str> {
    let at = memchr::memmem::find(record, quoted)? + quoted.len();
    let rest = record[at..]
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// Copies `record` into `out` with each span replaced by its index (`0`, `1`, …), so the
/// copy is valid JSON that parses without the spans' bytes.
pub fn replace_spans(record: &[u8], spans: &[Range<usize>], out: &mut Vec<u8>) {
    out.clear();
    let mut from = 0;
    for (n, span) in spans.iter().enumerate() {
        out.extend_from_slice(&record[from..span.start]);
        out.extend_from_slice(n.to_string().as_bytes());
        from = span.end;
    }
    out.extend_from_slice(&record[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn configs(text: &str) -> (Extent, Vec<String>) {
        let mut spans = Vec::new();
        let extent = object(text.as_bytes(), b"Configuration", 2, &mut spans);
        (
            extent,
            spans.into_iter().map(|s| text[s].to_string()).collect(),
        )
    }

    #[test]
    fn finds_the_end_and_the_configurations() {
        let text = r#"{"A":"x}{","Cur":{"Configuration":{"U":"a\"}","L":{"N":1}},"C":[{}]},"Prev":{"Configuration":null}}tail"#;
        let (extent, found) = configs(text);
        assert_eq!(extent, Extent::Complete(text.len() - 4));
        assert_eq!(found, [r#"{"U":"a\"}","L":{"N":1}}"#]);
    }

    #[test]
    fn a_key_in_a_string_or_at_another_depth_is_not_taken() {
        let (_, found) = configs(
            r#"{"Configuration":{"x":1},"S":{"v":"\"Configuration\":{}","D":{"Configuration":{}}}}"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn truncation_is_incomplete_and_other_values_are_not_objects() {
        assert_eq!(configs(r#"{"a":"b"#).0, Extent::Incomplete);
        assert_eq!(configs(r#"{"a":{"b":1}"#).0, Extent::Incomplete);
        assert_eq!(configs(r#"{"a":"\"#).0, Extent::Incomplete);
        assert_eq!(configs("[1]").0, Extent::NotObject);
    }

    #[test]
    fn replacing_spans_keeps_valid_json() {
        let text = r#"{"S":{"Configuration":{"U":"a"}},"T":{"Configuration": {"U":"b"} }}"#;
        let mut spans = Vec::new();
        object(text.as_bytes(), b"Configuration", 2, &mut spans);
        let mut out = Vec::new();
        replace_spans(text.as_bytes(), &spans, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"S":{"Configuration":0},"T":{"Configuration": 1 }}"#
        );
    }

    proptest! {
        /// On any valid JSON object, the extent is where serde_json says the value ends.
        #[test]
        fn agrees_with_serde_json_on_valid_objects(v in json_object(), pad in "[ \n]{0,3}", tail in "[ \n{\\[a-z0-9]{0,8}") {
            let text = format!("{v}{pad}{tail}");
            let mut spans = Vec::new();
            let got = object(text.as_bytes(), b"Configuration", 2, &mut spans);
            prop_assert_eq!(got, Extent::Complete(v.len()));
            for s in spans {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&text.as_bytes()[s]).is_ok());
            }
        }
    }

    fn json_object() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<i32>().prop_map(|n| n.to_string()),
            "[a-z{}\\[\\]\"\\\\:, ]{0,12}".prop_map(|s| serde_json::Value::String(s).to_string()),
        ];
        let value = leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("(Configuration|[a-z]{1,4})", inner), 0..4).prop_map(
                    |kv| {
                        let fields: Vec<String> = kv
                            .into_iter()
                            .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
                            .collect();
                        format!("{{{}}}", fields.join(","))
                    }
                ),
            ]
        });
        proptest::collection::vec(("(Configuration|[a-z]{1,4})", value), 0..5).prop_map(|kv| {
            let fields: Vec<String> = kv
                .into_iter()
                .map(|(k, v)| format!("{}: {v}", serde_json::Value::String(k)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        })
    }
}
