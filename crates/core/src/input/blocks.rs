//! The SIMD structural scan: one record's bytes, 64 at a time, turned into bitmasks.
//!
//! Each 64-byte block becomes four masks — quotes, backslashes, opening and closing
//! brackets — from which, as simdjson does, the escaped characters (odd runs of
//! backslashes, carried across blocks), the real quotes and the inside of strings (a prefix
//! XOR of the quotes, carried too) follow with a handful of integer operations. Only the
//! brackets outside strings are then visited, one set bit at a time, to track the depth:
//! that finds where the record ends and the spans of the object values the store does not
//! parse (`PreviousAgentSnapshot`, `Configuration`), which are cut out before serde sees
//! the record. Nothing here validates JSON: serde parses what remains, and a record whose
//! structure the scan misjudges fails to parse there (see the property tests).
//!
//! The masks come from vector compares and byte-mask moves through `wide`'s safe vector
//! types (SSE2, which every x86-64 has; NEON on Arm); `multiversion` also compiles the scan
//! for AVX2 with BMI (bit scans) and picks a version at run time, so neither `unsafe` nor a
//! `target-cpu=native` build is needed.
//!
//! The escape scanner and the prefix XOR follow simdjson's, used under its MIT licence:
//! Copyright 2018-2025 The simdjson authors; the notice is in `THIRD-PARTY-NOTICES.md`.

use std::ops::Range;

use multiversion::multiversion;
use wide::u8x16;

/// Where the object at the start of a slice ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// The object is `bytes[..end]`.
    Complete(usize),
    /// `bytes` ends inside the object.
    Incomplete,
    /// `bytes` does not start with `{`.
    NotObject,
}

/// An object value to cut out: the value of `key` found `depth` levels down (1: the
/// record's own keys); `within` another wanted key's value, when it must lie inside that
/// one (so that nothing is cut out of a value serde would otherwise check, such as an
/// unknown key's).
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'k> {
    pub key: &'k [u8],
    pub depth: u32,
    pub within: Option<usize>,
}

/// A value found: which of the wanted keys, and the value's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub which: usize,
    pub range: Range<usize>,
}

/// What a scan found besides the extent.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The wanted values, in the order they end (an inner one before its outer one).
    pub spans: Vec<Span>,
    /// Some byte is not ASCII (the record must then be checked as UTF-8).
    pub non_ascii: bool,
    /// Room the scan reuses from one record to the next (no allocation per record): the
    /// inside-a-string mask of every block, and the values being cut.
    in_strings: Vec<u64>,
    open: Vec<(usize, usize, u32)>,
}

#[derive(Clone, Copy, Default)]
struct Masks {
    high: u64,
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

/// The four masks of one block, 16 bytes at a time in vector registers (`wide` compiles
/// to SSE2 on any x86-64, NEON on Arm, plain code elsewhere). `[` and `{` differ only in
/// bit 5, as do `]` and `}`, so one compare finds both.
#[inline(always)]
fn masks(block: &[u8; 64]) -> Masks {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let open = u8x16::splat(b'{');
    let close = u8x16::splat(b'}');
    let bit5 = u8x16::splat(0x20);
    let mut m = Masks::default();
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(lane);
        let v = u8x16::new(bytes);
        let folded = v | bit5;
        let bits = |x: u8x16| u64::from(x.move_mask() as u16) << (16 * k);
        m.high |= bits(v);
        m.quote |= bits(v.cmp_eq(quote));
        m.backslash |= bits(v.cmp_eq(backslash));
        m.open |= bits(folded.cmp_eq(open));
        m.close |= bits(folded.cmp_eq(close));
    }
    m
}

/// simdjson's escape scanner: which characters are escaped (follow an odd run of
/// backslashes), carrying a run that ends a block into the next.
#[inline(always)]
fn escaped(backslash: u64, next_is_escaped: &mut u64) -> u64 {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    if backslash == 0 {
        let e = *next_is_escaped;
        *next_is_escaped = 0;
        return e;
    }
    let potential = backslash & !*next_is_escaped;
    let maybe_escaped = potential << 1;
    let codes = (maybe_escaped | ODD_BITS).wrapping_sub(potential) ^ ODD_BITS;
    let escaped = codes ^ (backslash | *next_is_escaped);
    let escape = codes & backslash;
    *next_is_escaped = escape >> 63;
    escaped
}

/// Bit i set when an odd number of bits at or below i are set.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Scans the object at the start of `bytes`, noting in `found` the object values of the
/// `wanted` keys and whether any byte is not ASCII.
#[multiversion(targets("x86_64+avx2+bmi1+bmi2+popcnt+lzcnt", "x86_64+sse4.2+popcnt"))]
pub fn object(bytes: &[u8], wanted: &[Wanted<'_>], found: &mut Found) -> Extent {
    found.spans.clear();
    found.non_ascii = false;
    if bytes.first() != Some(&b'{') {
        return Extent::NotObject;
    }
    // The inside-a-string mask of every block so far: a key's opening quote is checked
    // against it, wherever it lies.
    let mut in_strings = std::mem::take(&mut found.in_strings);
    in_strings.clear();
    // The values being cut, innermost last: which key, its start, the depth inside it.
    let mut open = std::mem::take(&mut found.open);
    open.clear();
    let extent = scan(bytes, wanted, found, &mut in_strings, &mut open);
    found.in_strings = in_strings;
    found.open = open;
    extent
}

#[inline(always)]
fn scan(
    bytes: &[u8],
    wanted: &[Wanted<'_>],
    found: &mut Found,
    in_strings: &mut Vec<u64>,
    open: &mut Vec<(usize, usize, u32)>,
) -> Extent {
    let mut next_is_escaped = 0u64;
    let mut in_string_carry = 0u64;
    let mut high = 0u64;
    let mut depth = 0u32;
    let mut padded = [b' '; 64];
    // A `{` can start a wanted value only at a depth up to this.
    let shallowest = wanted.iter().map(|w| w.depth).max().unwrap_or(0);
    for (b, chunk) in bytes.chunks(64).enumerate() {
        let block: &[u8; 64] = match chunk.try_into() {
            Ok(full) => full,
            Err(_) => {
                padded.fill(b' ');
                padded[..chunk.len()].copy_from_slice(chunk);
                &padded
            }
        };
        let m = masks(block);
        let esc = escaped(m.backslash, &mut next_is_escaped);
        let quotes = m.quote & !esc;
        let in_string = prefix_xor(quotes) ^ in_string_carry;
        in_string_carry = 0u64.wrapping_sub(in_string >> 63);
        in_strings.push(in_string);
        let mut brackets = (m.open | m.close) & !in_string;
        // Deep inside a value (most of a record is a configuration's nested objects), a
        // block whose closing brackets cannot bring the depth back to where a wanted value
        // starts or the one being cut ends (nor end the record) only moves the depth.
        let closes = (m.close & !in_string).count_ones();
        let floor = open.last().map_or(0, |&(.., d)| d).max(shallowest + 1);
        if depth >= floor + closes {
            depth = depth + (m.open & !in_string).count_ones() - closes;
            high |= m.high;
            continue;
        }
        while brackets != 0 {
            let bit = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let at = b * 64 + bit;
            if m.open >> bit & 1 == 1 {
                let inside = open.last().map(|&(which, ..)| which);
                if bytes[at] == b'{'
                    && let Some(which) = wanted.iter().position(|w| {
                        w.depth == depth
                            && w.within == inside
                            && key_before(bytes, at, w.key, in_strings)
                    })
                {
                    open.push((which, at, depth + 1));
                }
                depth += 1;
            } else {
                if let Some(&(which, start, d)) = open.last()
                    && d == depth
                {
                    found.spans.push(Span {
                        which,
                        range: start..at + 1,
                    });
                    open.pop();
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    found.non_ascii = high != 0 || m.high & low_bits(bit) != 0;
                    return Extent::Complete(at + 1);
                }
            }
        }
        high |= m.high;
    }
    found.non_ascii = high != 0;
    Extent::Incomplete
}

/// Bits 0 to `i` set.
#[inline(always)]
fn low_bits(i: usize) -> u64 {
    u64::MAX >> (63 - i)
}

/// Whether the value starting at `at` is the value of `key`: `"key"`, then `:`, with only
/// whitespace around it, and the key's opening quote starts a string.
#[inline(always)]
fn key_before(bytes: &[u8], at: usize, key: &[u8], in_strings: &[u64]) -> bool {
    let mut i = at;
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    while i > 0 && ws(bytes[i - 1]) {
        i -= 1;
    }
    if i == 0 || bytes[i - 1] != b':' {
        return false;
    }
    i -= 1;
    while i > 0 && ws(bytes[i - 1]) {
        i -= 1;
    }
    // `i` is just past the key's closing quote.
    let Some(open) = i.checked_sub(key.len() + 2) else {
        return false;
    };
    if bytes[i - 1] != b'"' || bytes[open] != b'"' || &bytes[open + 1..i - 1] != key {
        return false;
    }
    let inside = |p: usize| {
        in_strings
            .get(p / 64)
            .is_some_and(|m| m >> (p % 64) & 1 == 1)
    };
    inside(open) && (open == 0 || !inside(open - 1))
}

/// Copies the part `range` of a record with each span directly inside it (in no other
/// span inside it) replaced by its index in `spans`: a number, so the result stays valid
/// JSON and each value can be found again.
pub fn replace_spans(record: &[u8], range: Range<usize>, spans: &[Span], out: &mut Vec<u8>) {
    out.clear();
    let inside =
        |s: &Span| s.range.start >= range.start && s.range.end <= range.end && s.range != range;
    let direct = |s: &Span| {
        inside(s)
            && !spans.iter().any(|o| {
                inside(o)
                    && o.range != s.range
                    && o.range.start <= s.range.start
                    && s.range.end <= o.range.end
            })
    };
    let mut at = range.start;
    let mut put = |out: &mut Vec<u8>, i: usize, span: &Span| {
        out.extend_from_slice(&record[at..span.range.start]);
        // The index's digits, written without formatting into a new string.
        let mut digits = [0u8; 20];
        let mut n = digits.len();
        let mut v = i;
        loop {
            n -= 1;
            digits[n] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[n..]);
        at = span.range.end;
    };
    // A record has a few spans: sorted in place on the stack, not in a new vector (which
    // cost an allocation per record).
    let mut few = [(0usize, 0usize); 8];
    let mut count = 0;
    for (i, s) in spans.iter().enumerate() {
        if !direct(s) {
            continue;
        }
        if count == few.len() {
            count = usize::MAX;
            break;
        }
        few[count] = (s.range.start, i);
        count += 1;
    }
    if count != usize::MAX {
        few[..count].sort_unstable();
        for &(_, i) in &few[..count] {
            put(out, i, &spans[i]);
        }
    } else {
        let mut many: Vec<(usize, usize)> = spans
            .iter()
            .enumerate()
            .filter(|(_, s)| direct(s))
            .map(|(i, s)| (s.range.start, i))
            .collect();
        many.sort_unstable();
        for (_, i) in many {
            put(out, i, &spans[i]);
        }
    }
    out.extend_from_slice(&record[at..range.end]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::store::read::CUT as WANTED;

    fn scan(text: &str) -> (Extent, Vec<(usize, String)>) {
        let mut found = Found::default();
        let e = object(text.as_bytes(), &WANTED, &mut found);
        let s = found
            .spans
            .into_iter()
            .map(|s| (s.which, text[s.range].to_string()))
            .collect();
        (e, s)
    }

    #[test]
    fn finds_the_end_and_the_wanted_values() {
        let t = r#"{"CurrentAgentSnapshot":{"Configuration":{"x":[1,{"y":"}"}]}},"PreviousAgentSnapshot":{"Configuration":{}}} tail"#;
        let (e, spans) = scan(t);
        assert_eq!(e, Extent::Complete(t.len() - 5));
        assert_eq!(
            spans,
            vec![
                (1, r#"{"x":[1,{"y":"}"}]}"#.to_string()),
                (2, r#"{"Configuration":{"x":[1,{"y":"}"}]}}"#.to_string()),
                (0, r#"{"Configuration":{}}"#.to_string())
            ]
        );
    }

    #[test]
    fn a_key_in_a_string_or_escaped_or_at_another_depth_is_not_taken() {
        let (_, spans) = scan(r#"{"s":"\"Configuration\":{","Configuration":{"a":1}}"#);
        assert!(spans.is_empty(), "{spans:?}");
        // Only a current snapshot's configuration is cut: elsewhere serde checks it.
        let (_, spans) = scan(r#"{"Other":{"Configuration":{"a":1}}}"#);
        assert!(spans.is_empty(), "{spans:?}");
        let (_, spans) = scan(r#"{"x\"PreviousAgentSnapshot":{}}"#);
        assert!(spans.is_empty(), "{spans:?}");
        let (_, spans) = scan(r#"{"a":{"b":{"Configuration":{}}}}"#);
        assert!(spans.is_empty(), "{spans:?}");
    }

    #[test]
    fn backslash_runs_across_block_boundaries() {
        for pad in 0..130 {
            let t = format!(
                r#"{{"{}":"a\\\\","k":"\"}}","PreviousAgentSnapshot" : {{"q":1}}}}"#,
                "p".repeat(pad)
            );
            let (e, spans) = scan(&t);
            assert_eq!(e, Extent::Complete(t.len()), "{t}");
            assert_eq!(spans, vec![(0, r#"{"q":1}"#.to_string())], "{t}");
        }
    }

    #[test]
    fn truncation_is_incomplete_and_other_values_are_not_objects() {
        assert_eq!(scan(r#"{"a":"}"#).0, Extent::Incomplete);
        assert_eq!(scan("[1]").0, Extent::NotObject);
    }

    /// Arbitrary JSON objects with the wanted keys sprinkled in, escapes and brackets in
    /// strings, and whitespace anywhere.
    fn json_value(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            Just("1".to_string()),
            Just("null".to_string()),
            "[a-z{}\\[\\]:,\"\\\\ é]{0,12}"
                .prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let key = prop_oneof![
            Just("PreviousAgentSnapshot".to_string()),
            Just("CurrentAgentSnapshot".to_string()),
            Just("Configuration".to_string()),
            "[a-z\"\\\\{]{0,6}",
        ];
        prop_oneof![
            leaf,
            proptest::collection::vec((key, json_value(depth - 1), "[ \n]{0,2}"), 0..5).prop_map(
                |members| {
                    let body: Vec<String> = members
                        .iter()
                        .map(|(k, v, ws)| {
                            format!(
                                "{}{ws}:{ws}{v}",
                                serde_json::to_string(k).unwrap_or_default()
                            )
                        })
                        .collect();
                    format!("{{{}}}", body.join(","))
                }
            ),
            proptest::collection::vec(json_value(depth - 1), 0..4)
                .prop_map(|items| format!("[{}]", items.join(" , "))),
        ]
        .boxed()
    }

    /// What serde_json says: the end of the object, and the wanted values (found by walking
    /// a parsed copy and re-serialising is not exact, so spans are checked by parsing them).
    fn reference(text: &str) -> Option<(usize, Vec<(usize, serde_json::Value)>)> {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        let v = stream.next()?.ok()?;
        let end = stream.byte_offset();
        let mut found = Vec::new();
        // `within`: the wanted key whose value this one lies in, if any.
        fn walk(
            v: &serde_json::Value,
            depth: u32,
            within: Option<usize>,
            found: &mut Vec<(usize, serde_json::Value)>,
        ) {
            if let serde_json::Value::Object(map) = v {
                for (k, child) in map {
                    let which = WANTED.iter().position(|w| {
                        w.depth == depth
                            && w.key == k.as_bytes()
                            && w.within == within
                            && child.is_object()
                    });
                    match which {
                        Some(i) => {
                            found.push((i, child.clone()));
                            walk(child, depth + 1, Some(i), found);
                        }
                        None => walk(child, depth + 1, within, found),
                    }
                }
            } else if let serde_json::Value::Array(items) = v {
                for child in items {
                    walk(child, depth + 1, within, found);
                }
            }
        }
        walk(&v, 1, None, &mut found);
        Some((end, found))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(300)))]

        /// The fast scan agrees with a full serde_json parse on the end of every object and
        /// on every value it cuts out.
        #[test]
        fn agrees_with_serde_json(body in json_value(4), pad in " {0,70}") {
            let text = format!("{{\"pad\":\"{pad}\",\"v\":{body}}}");
            let Some((end, mut expected)) = reference(&text) else { return Ok(()) };
            // serde_json keeps the last of duplicate keys; the scan takes each occurrence.
            let mut found = Found::default();
            let extent = object(text.as_bytes(), &WANTED, &mut found);
            prop_assert_eq!(extent, Extent::Complete(end));
            prop_assert_eq!(found.non_ascii, !text[..end].is_ascii());
            let mut got: Vec<(usize, serde_json::Value)> = found
                .spans
                .iter()
                .map(|s| (s.which, serde_json::from_str(&text[s.range.clone()]).unwrap_or_default()))
                .collect();
            let sort = |v: &mut Vec<(usize, serde_json::Value)>| v.sort_by_key(|(w, x)| (*w, x.to_string()));
            sort(&mut got);
            sort(&mut expected);
            let has_duplicates = text.matches("\"Configuration\"").count() > 1
                || text.matches("\"PreviousAgentSnapshot\"").count() > 1
                || text.matches("\"CurrentAgentSnapshot\"").count() > 1;
            if !has_duplicates {
                prop_assert_eq!(got, expected);
            }
        }
    }
}
