//! The top-level fields of one event record, and a changed current snapshot, read
//! without serde when they are plain.
//!
//! Once the scan has cut a record's snapshots out (each replaced by its index), what is
//! left is a flat object of short strings: `AgentARN`, `EventId`, `EventTimestamp`,
//! `EventType`, the two placeholders and a few fields nobody reads. [`plain`] reads that
//! shape directly, and [`snapshot`] a current snapshot with its configuration cut out
//! (statuses and contacts: objects of strings). Both give up (`None`) at anything else —
//! an escape, a control character, an unknown nested value, a fraction, a repeated field,
//! a missing required one — and the caller then parses with serde, so every record serde
//! would refuse, or read differently, still goes to serde. The property test of
//! `tests/integration/store.rs` holds the two to the same store.

use std::borrow::Cow;

use crate::event::{RawContact, RawNamed, RawSnapshot, RawStatus, Str};

/// The fields [`super::read`] takes from a record: strings borrowed, the snapshots as the
/// raw JSON text of their values (a placeholder, normally).
pub(super) struct Fields<'a> {
    pub agent_arn: Str<'a>,
    pub event_id: Option<Str<'a>>,
    pub event_timestamp: Str<'a>,
    pub event_type: Option<Str<'a>>,
    pub current: Option<&'a str>,
    pub previous: Option<&'a str>,
}

/// The fields of `text`, a whole JSON object (and nothing but whitespace after it) made
/// only of plain members, or `None` when serde must decide.
pub(super) fn plain(text: &[u8]) -> Option<Fields<'_>> {
    let mut r = Reader::new(text)?;
    r.expect(b'{')?;
    let (mut arn, mut id, mut timestamp, mut kind) = (None, None, None, None);
    let (mut current, mut previous) = (None, None);
    loop {
        r.ws();
        let key = r.string()?;
        r.ws();
        r.expect(b':')?;
        r.ws();
        match key {
            "AgentARN" => set(&mut arn, r.string()?)?,
            "EventId" => set(&mut id, r.optional_string()?)?,
            "EventTimestamp" => set(&mut timestamp, r.string()?)?,
            "EventType" => set(&mut kind, r.optional_string()?)?,
            "CurrentAgentSnapshot" => set(&mut current, r.placeholder()?)?,
            "PreviousAgentSnapshot" => set(&mut previous, r.placeholder()?)?,
            _ => r.skip_plain_value()?,
        }
        r.ws();
        match r.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    r.ws();
    if r.at != text.len() {
        return None;
    }
    Some(Fields {
        agent_arn: Str(Cow::Borrowed(arn?)),
        event_id: borrowed(id),
        event_timestamp: Str(Cow::Borrowed(timestamp?)),
        event_type: borrowed(kind),
        current: current.flatten(),
        previous: previous.flatten(),
    })
}

/// A current snapshot read plainly; its configuration is not read, only the text of its
/// value kept (a placeholder, normally).
pub(super) struct PlainSnapshot<'a> {
    pub snapshot: RawSnapshot<'a>,
    pub configuration: Option<&'a str>,
}

/// The snapshot `text` (an object, nothing after it but whitespace) when it is plain: as
/// serde would read it into `Option<RawSnapshot>`, its `Configuration` as the text of
/// the value.
pub(super) fn snapshot(text: &[u8]) -> Option<PlainSnapshot<'_>> {
    let mut r = Reader::new(text)?;
    let (mut status, mut next, mut conf, mut contacts) = (None, None, None, None);
    r.object(|r, key| match key {
        "AgentStatus" => set(&mut status, r.optional(Reader::status)?),
        "NextAgentStatus" => set(&mut next, r.optional(Reader::status)?),
        "Configuration" => set(&mut conf, r.placeholder()?),
        "Contacts" => set(&mut contacts, r.optional(Reader::contacts)?),
        _ => r.skip_plain_value(),
    })?;
    r.ws();
    if r.at != text.len() {
        return None;
    }
    Some(PlainSnapshot {
        snapshot: RawSnapshot {
            status: status.flatten(),
            next_status: next.flatten(),
            configuration: None,
            contacts: contacts.flatten(),
        },
        configuration: conf.flatten(),
    })
}

fn borrowed(s: Option<Option<&str>>) -> Option<Str<'_>> {
    s.flatten().map(|s| Str(Cow::Borrowed(s)))
}

/// serde refuses a field given twice.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

struct Reader<'a> {
    /// The text, checked as UTF-8 once, and its bytes.
    s: &'a str,
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a [u8]) -> Option<Reader<'a>> {
        let s = std::str::from_utf8(text).ok()?;
        Some(Reader { s, b: text, at: 0 })
    }

    /// An object, each member's value read by `member` (given the key).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        self.ws();
        if self.b.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// `null`, or what `read` reads.
    fn optional<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.b.get(self.at) == Some(&b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        read(self).map(Some)
    }

    fn status(&mut self) -> Option<RawStatus<'a>> {
        let (mut arn, mut name, mut start, mut kind) = (None, None, None, None);
        self.object(|r, key| match key {
            "ARN" => set(&mut arn, r.optional_string()?),
            "Name" => set(&mut name, r.optional_string()?),
            "StartTimestamp" => set(&mut start, r.optional_string()?),
            "Type" => set(&mut kind, r.optional_string()?),
            _ => r.skip_plain_value(),
        })?;
        Some(RawStatus {
            arn: borrowed(arn),
            name: borrowed(name),
            start: borrowed(start),
            kind: borrowed(kind),
        })
    }

    fn named(&mut self) -> Option<RawNamed<'a>> {
        let (mut arn, mut name) = (None, None);
        self.object(|r, key| match key {
            "ARN" => set(&mut arn, r.optional_string()?),
            "Name" => set(&mut name, r.optional_string()?),
            _ => r.skip_plain_value(),
        })?;
        Some(RawNamed {
            arn: borrowed(arn),
            name: borrowed(name),
        })
    }

    fn contacts(&mut self) -> Option<Vec<RawContact<'a>>> {
        self.expect(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.b.get(self.at) == Some(&b']') {
            self.at += 1;
            return Some(out);
        }
        loop {
            self.ws();
            out.push(self.contact()?);
            self.ws();
            match self.next()? {
                b',' => continue,
                b']' => return Some(out),
                _ => return None,
            }
        }
    }

    fn contact(&mut self) -> Option<RawContact<'a>> {
        let (mut id, mut channel, mut method, mut state) = (None, None, None, None);
        let (mut state_start, mut connected, mut queue) = (None, None, None);
        self.object(|r, key| match key {
            "ContactId" => set(&mut id, r.optional_string()?),
            "Channel" => set(&mut channel, r.optional_string()?),
            "InitiationMethod" => set(&mut method, r.optional_string()?),
            "State" => set(&mut state, r.optional_string()?),
            "StateStartTimestamp" => set(&mut state_start, r.optional_string()?),
            "ConnectedToAgentTimestamp" => set(&mut connected, r.optional_string()?),
            "Queue" => set(&mut queue, r.optional(Reader::named)?),
            _ => r.skip_plain_value(),
        })?;
        Some(RawContact {
            id: borrowed(id),
            channel: borrowed(channel),
            initiation_method: borrowed(method),
            state: borrowed(state),
            state_start: borrowed(state_start),
            connected_at: borrowed(connected),
            queue: queue.flatten(),
        })
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while self
            .b
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = plain_string_end(self.b, start)?;
        self.at = end + 1;
        self.s.get(start..end)
    }

    /// `null` or a plain string.
    fn optional_string(&mut self) -> Option<Option<&'a str>> {
        if self.b.get(self.at) == Some(&b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        self.string().map(Some)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then_some(())?;
        self.at = end;
        self.delimited()
    }

    /// `null`, or a whole number without sign, fraction or exponent (a placeholder): the
    /// value's text as serde's `RawValue` would give it.
    fn placeholder(&mut self) -> Option<Option<&'a str>> {
        if self.b.get(self.at) == Some(&b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        let start = self.at;
        self.integer()?;
        self.s.get(start..self.at).map(Some)
    }

    /// `0` or digits not starting with `0`, followed by whitespace, `,` or `}`.
    fn integer(&mut self) -> Option<()> {
        let start = self.at;
        while self.b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = self.at - start;
        if digits == 0 || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        self.delimited()
    }

    /// What ends a value here: whitespace, `,` or `}` (anything else, serde decides).
    fn delimited(&self) -> Option<()> {
        matches!(
            self.b.get(self.at),
            Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']')
        )
        .then_some(())
    }

    /// The value of a field nobody reads, when it is a plain string, a literal or a
    /// whole number.
    fn skip_plain_value(&mut self) -> Option<()> {
        match *self.b.get(self.at)? {
            b'"' => self.string().map(|_| ()),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' => {
                self.at += 1;
                self.integer()
            }
            _ => self.integer(),
        }
    }
}

/// The index of the quote that closes a string whose content starts at `from`, or `None`
/// at a backslash, a control character or the end of the input.
fn plain_string_end(b: &[u8], from: usize) -> Option<usize> {
    let rest = b.get(from..)?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    // Without an early exit, so that the check runs on whole vectors.
    let control = rest[..end].iter().fold(false, |any, &c| any | (c < 0x20));
    (rest[end] == b'"' && !control).then_some(from + end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The record as the store's serde fallback reads it.
    use crate::store::read::RawEvent as Serde;

    type Seen = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    fn via_serde(text: &str) -> Option<Seen> {
        let e: Serde<'_> = serde_json::from_str(text).ok()?;
        let s = |v: Option<Str<'_>>| v.map(|v| v.as_str().to_string());
        Some((
            e.agent_arn.as_str().to_string(),
            s(e.event_id),
            e.event_timestamp.as_str().to_string(),
            s(e.event_type),
            e.current.map(|r| r.get().to_string()),
            e.previous.map(|r| r.get().to_string()),
        ))
    }

    fn via_plain(text: &str) -> Option<Seen> {
        let e = plain(text.as_bytes())?;
        let s = |v: Option<Str<'_>>| v.map(|v| v.as_str().to_string());
        Some((
            e.agent_arn.as_str().to_string(),
            s(e.event_id),
            e.event_timestamp.as_str().to_string(),
            s(e.event_type),
            e.current.map(str::to_string),
            e.previous.map(str::to_string),
        ))
    }

    #[test]
    fn a_record_with_its_snapshots_cut_out_is_read_plainly() {
        let text = r#"{"AWSAccountId":"1","AgentARN":"arn:a","CurrentAgentSnapshot":2,"EventId":"e","EventTimestamp":"2026-11-02T12:00:38.745Z","EventType":"LOGIN","PreviousAgentSnapshot":null,"Version":"2019-05-25"}"#;
        assert!(via_plain(text).is_some());
        assert_eq!(via_plain(text), via_serde(text));
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for text in [
            r#"{"AgentARN":"a\"b","EventTimestamp":"t"}"#,
            r#"{"AgentARN":"a","AgentARN":"b","EventTimestamp":"t"}"#,
            r#"{"AgentARN":"a","EventTimestamp":"t","X":{"y":1}}"#,
            r#"{"AgentARN":"a","EventTimestamp":"t","X":1.5}"#,
            r#"{"AgentARN":"a","EventTimestamp":"t","CurrentAgentSnapshot":01}"#,
            r#"{"AgentARN":"a"}"#,
            r#"{"AgentARN":null,"EventTimestamp":"t"}"#,
            "{\"AgentARN\":\"a\u{1}\",\"EventTimestamp\":\"t\"}",
            r#"{"AgentARN":"a","EventTimestamp":"t"} x"#,
            r#"{"AgentARN":"a","EventTimestamp":"t",}"#,
            "{}",
        ] {
            assert!(via_plain(text).is_none(), "{text}");
        }
    }

    fn snapshot_via_serde(text: &str) -> Option<(String, Option<String>)> {
        let mut snap: Option<RawSnapshot<'_>> = serde_json::from_str(text).ok()?;
        let conf = snap
            .as_mut()
            .and_then(|s| s.configuration.take())
            .map(|c| match c {
                crate::event::Conf::Raw(r) => r.get().to_string(),
                other => format!("{other:?}"),
            });
        // `null` is no object: the plain reader never takes it.
        Some((format!("{:?}", snap?), conf))
    }

    fn snapshot_via_plain(text: &str) -> Option<(String, Option<String>)> {
        let p = snapshot(text.as_bytes())?;
        Some((
            format!("{:?}", p.snapshot),
            p.configuration.map(str::to_string),
        ))
    }

    #[test]
    fn a_snapshot_with_its_configuration_cut_out_is_read_plainly() {
        let text = r#"{"AgentStatus": {"ARN": "arn:s", "Name": "Available", "StartTimestamp": "2026-11-02T12:01:10.257Z", "Type": "ROUTABLE"}, "NextAgentStatus": null, "Configuration": 1, "Contacts": [{"Channel": "TASKS", "ConnectedToAgentTimestamp": null, "ContactId": "c", "InitialContactId": null, "InitiationMethod": "API", "Queue": {"ARN": "arn:q", "Name": "Back Office"}, "QueueTimestamp": "2026-11-02T11:56:44.912Z", "State": "CONNECTING", "StateStartTimestamp": "2026-11-02T12:02:28.429Z"}, {}]}"#;
        assert!(snapshot_via_plain(text).is_some());
        assert_eq!(snapshot_via_plain(text), snapshot_via_serde(text));
    }

    fn value(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            "\"[a-z0-9:\\\\\"\u{1}é -]{0,12}\"",
            Just("null".to_string()),
            Just("true".to_string()),
            "-?[0-9]{1,3}(\\.[0-9])?",
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let key = prop_oneof![
            Just("AgentStatus"),
            Just("NextAgentStatus"),
            Just("Configuration"),
            Just("Contacts"),
            Just("ARN"),
            Just("Name"),
            Just("StartTimestamp"),
            Just("Type"),
            Just("ContactId"),
            Just("Channel"),
            Just("InitiationMethod"),
            Just("State"),
            Just("StateStartTimestamp"),
            Just("ConnectedToAgentTimestamp"),
            Just("Queue"),
            Just("Other"),
        ];
        prop_oneof![
            2 => leaf,
            2 => proptest::collection::vec((key, value(depth - 1), "[ \n]{0,1}"), 0..6).prop_map(
                |members| {
                    let body: Vec<String> =
                        members.iter().map(|(k, v, ws)| format!("{ws}\"{k}\":{ws}{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }
            ),
            1 => proptest::collection::vec(value(depth - 1), 0..3)
                .prop_map(|items| format!("[{}]", items.join(", "))),
        ]
        .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases(300)))]

        /// Whatever snapshot the plain reader accepts, serde reads the same way.
        #[test]
        fn plain_snapshots_agree_with_serde(text in value(4), tail in "[ \n]{0,1}[x]?") {
            let text = format!("{text}{tail}");
            if let Some(plain) = snapshot_via_plain(&text) {
                prop_assert_eq!(Some(plain), snapshot_via_serde(&text));
            }
        }

        /// Whatever the plain reader accepts, serde reads the same way.
        #[test]
        fn plain_agrees_with_serde(
            members in proptest::collection::vec((
                prop_oneof![
                    Just("AgentARN".to_string()), Just("EventId".to_string()),
                    Just("EventTimestamp".to_string()), Just("EventType".to_string()),
                    Just("CurrentAgentSnapshot".to_string()), Just("PreviousAgentSnapshot".to_string()),
                    "[A-Za-z\\\\\"]{0,8}",
                ],
                prop_oneof![
                    "\"[a-z0-9:/\\\\\"\u{1}é -]{0,20}\"",
                    Just("null".to_string()), Just("true".to_string()), Just("false".to_string()),
                    "-?[0-9]{1,3}(\\.[0-9])?", Just("{}".to_string()), Just("[1]".to_string()),
                ],
                "[ \n]{0,2}",
            ), 0..9),
            tail in "[ \n]{0,2}[x,]?",
        ) {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v, ws)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
                .collect();
            let text = format!("{{{}}}{tail}", body.join(","));
            if let Some(plain) = via_plain(&text) {
                prop_assert_eq!(Some(plain), via_serde(&text));
            }
        }
    }
}
