//! The `snap` object a `classify` hook receives (SPEC §6), as one engine-neutral tree.
//!
//! Both engines convert the same [`Tree`], so a field has the same name and type in Rhai
//! and Lua by construction. A hook's result is cached by [`Snap::key`], a hash of exactly
//! what the hook could see (the configuration's raw bytes standing for its fields).
//!
//! Times (`event_type`, `timestamp`, `status.start`, `contacts[i].state_start`) change at
//! every event, so a tree with them never repeats. They are included only for scripts
//! whose source mentions them ([`needs_times`]); such hooks are called for every event,
//! the others once per distinct snapshot.

use std::borrow::Cow;

use serde::Deserialize;

use crate::event::{
    Conf, RawConfiguration, RawContact, RawHierarchy, RawNamed, RawSnapshot, RawStatus, StatusType,
    Str,
};

/// One snapshot with the event it belongs to.
pub struct Snap<'s, 'a> {
    pub event_type: &'s str,
    pub timestamp: &'s str,
    pub snapshot: &'s RawSnapshot<'a>,
}

/// A value as both script languages see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tree<'s> {
    /// `()` in Rhai, `nil` in Lua.
    Nothing,
    Bool(bool),
    Int(i64),
    Str(&'s str),
    List(Vec<Tree<'s>>),
    Map(Vec<(&'static str, Tree<'s>)>),
}

impl Tree<'_> {
    /// The value as JSON (for `explain`, which shows an admin what a hook saw).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Tree::Nothing => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Int(i) => Value::from(*i),
            Tree::Str(s) => Value::String((*s).to_string()),
            Tree::List(items) => Value::Array(items.iter().map(Tree::to_json).collect()),
            Tree::Map(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn opt<'s>(s: &'s Option<Str<'_>>) -> Tree<'s> {
    match s {
        Some(v) => Tree::Str(v.as_str()),
        None => Tree::Nothing,
    }
}

fn named<'s>(n: &'s Option<RawNamed<'_>>) -> Tree<'s> {
    n.as_ref().map(|n| opt(&n.name)).unwrap_or(Tree::Nothing)
}

/// Whether a script reads the time fields (and so cannot be cached).
pub fn needs_times(source: &str) -> bool {
    ["timestamp", "event_type", "start"]
        .iter()
        .any(|w| source.contains(w))
}

impl<'s, 'a> Snap<'s, 'a> {
    /// The snapshot's configuration, parsed (a configuration that does not parse is as if
    /// there were none).
    pub fn configuration(&self) -> Option<std::borrow::Cow<'s, RawConfiguration<'a>>> {
        self.snapshot.configuration.as_ref()?.parse().ok()
    }

    /// A 128-bit key of everything [`Snap::tree`] shows without times, computed without
    /// parsing the configuration (its raw bytes are hashed instead): the cache key.
    pub fn key(&self) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let mut field = |s: Option<&str>| match s {
            Some(s) => {
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => h.update(&[0xff; 8]),
        };
        let snap = self.snapshot;
        fn name<'x>(v: &'x Option<Str<'_>>) -> Option<&'x str> {
            v.as_ref().map(Str::as_str)
        }
        match &snap.status {
            Some(s) => {
                field(name(&s.name));
                field(Some(StatusType::of(s).as_str()));
            }
            None => {
                field(None);
                field(None);
            }
        }
        field(snap.next_status.as_ref().and_then(|n| name(&n.name)));
        for c in snap.contacts() {
            field(name(&c.id));
            field(Some(c.channel()));
            field(name(&c.state));
            field(name(&c.initiation_method));
            field(Some(if c.connected() { "1" } else { "0" }));
            field(c.queue.as_ref().and_then(|q| name(&q.name)));
        }
        field(Some("configuration"));
        match &snap.configuration {
            Some(conf) => match conf.raw_bytes() {
                Some(bytes) => h.update(bytes),
                // A hand-built configuration (tests): its fields.
                None => {
                    if let Ok(c) = conf.parse() {
                        field(name(&c.username));
                        field(name(&c.first_name));
                        field(name(&c.last_name));
                        for l in c.hierarchy.iter().flat_map(RawHierarchy::levels) {
                            field(name(&l.name));
                        }
                        field(c.routing_profile.as_ref().and_then(|r| name(&r.name)));
                    }
                }
            },
            None => h.update(b"none"),
        }
        h.digest128()
    }

    /// The tree the hook sees, with the configuration given parsed.
    pub fn tree<'c>(
        &self,
        with_times: bool,
        configuration: Option<&'c RawConfiguration<'a>>,
    ) -> Tree<'c>
    where
        's: 'c,
    {
        let snap = self.snapshot;
        let mut top = Vec::with_capacity(6);
        if with_times {
            top.push(("event_type", Tree::Str(self.event_type)));
            top.push(("timestamp", Tree::Str(self.timestamp)));
        }
        let mut status = Vec::with_capacity(3);
        match &snap.status {
            Some(s) => {
                status.push(("name", opt(&s.name)));
                status.push(("type", Tree::Str(StatusType::of(s).as_str())));
                if with_times {
                    status.push(("start", opt(&s.start)));
                }
            }
            None => {
                status.push(("name", Tree::Nothing));
                status.push(("type", Tree::Nothing));
                if with_times {
                    status.push(("start", Tree::Nothing));
                }
            }
        }
        top.push(("status", Tree::Map(status)));
        // Nothing (`()` / `nil`) when the agent has no Next status, so `next_status ~= nil`
        // means there is one.
        let next = snap
            .next_status
            .as_ref()
            .map_or(Tree::Nothing, |n| Tree::Map(vec![("name", opt(&n.name))]));
        top.push(("next_status", next));
        top.push(("agent", agent(configuration)));
        let contacts = snap
            .contacts()
            .iter()
            .map(|c| contact(c, with_times))
            .collect();
        top.push(("contacts", Tree::List(contacts)));
        Tree::Map(top)
    }
}

fn agent<'s>(c: Option<&'s RawConfiguration<'_>>) -> Tree<'s> {
    let Some(c) = c else {
        return Tree::Map(vec![
            ("login", Tree::Nothing),
            ("first_name", Tree::Nothing),
            ("last_name", Tree::Nothing),
            ("hierarchy", Tree::List(Vec::new())),
            ("routing_profile", Tree::Nothing),
        ]);
    };
    let hierarchy = c
        .hierarchy
        .iter()
        .flat_map(RawHierarchy::levels)
        .map(|l| opt(&l.name))
        .collect();
    Tree::Map(vec![
        ("login", opt(&c.username)),
        ("first_name", opt(&c.first_name)),
        ("last_name", opt(&c.last_name)),
        ("hierarchy", Tree::List(hierarchy)),
        ("routing_profile", named(&c.routing_profile)),
    ])
}

fn contact<'s>(c: &'s RawContact<'_>, with_times: bool) -> Tree<'s> {
    let mut m = vec![
        ("id", opt(&c.id)),
        ("channel", Tree::Str(c.channel())),
        ("state", opt(&c.state)),
        ("initiation_method", opt(&c.initiation_method)),
        ("connected", Tree::Bool(c.connected())),
        ("queue", named(&c.queue)),
    ];
    if with_times {
        m.push(("state_start", opt(&c.state_start)));
    }
    Tree::Map(m)
}

/// A snapshot written by hand in a test, in the shape of `snap` (every field optional).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestSnap {
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub status: Option<TestStatus>,
    #[serde(default)]
    pub next_status: Option<TestName>,
    #[serde(default)]
    pub agent: Option<TestAgent>,
    #[serde(default)]
    pub contacts: Vec<TestContact>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestStatus {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestName {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestAgent {
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub hierarchy: Vec<String>,
    #[serde(default)]
    pub routing_profile: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestContact {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub initiation_method: Option<String>,
    #[serde(default)]
    pub connected: bool,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub state_start: Option<String>,
}

fn owned(s: &Option<String>) -> Option<Str<'static>> {
    s.as_ref().map(|v| Str(Cow::Owned(v.clone())))
}

impl TestSnap {
    pub fn event_type(&self) -> &str {
        self.event_type.as_deref().unwrap_or("STATE_CHANGE")
    }

    pub fn timestamp(&self) -> &str {
        self.timestamp
            .as_deref()
            .unwrap_or("2026-01-01T00:00:00.000Z")
    }

    /// The snapshot as if it had been read from an event.
    pub fn to_raw(&self) -> RawSnapshot<'static> {
        let named = |n: &Option<String>| {
            n.as_ref().map(|_| RawNamed {
                arn: None,
                name: owned(n),
            })
        };
        let level = |i: usize, a: &TestAgent| {
            a.hierarchy.get(i).map(|n| RawNamed {
                arn: None,
                name: Some(Str(Cow::Owned(n.clone()))),
            })
        };
        RawSnapshot {
            status: self.status.as_ref().map(|s| RawStatus {
                arn: owned(&s.arn),
                name: owned(&s.name),
                start: owned(&s.start),
                kind: owned(&s.kind),
            }),
            next_status: self.next_status.as_ref().map(|n| RawStatus {
                name: owned(&n.name),
                ..RawStatus::default()
            }),
            configuration: self.agent.as_ref().map(|a| {
                Conf::Parsed(Box::new(RawConfiguration {
                    username: owned(&a.login),
                    first_name: owned(&a.first_name),
                    last_name: owned(&a.last_name),
                    hierarchy: Some(RawHierarchy {
                        level1: level(0, a),
                        level2: level(1, a),
                        level3: level(2, a),
                        level4: level(3, a),
                        level5: level(4, a),
                    }),
                    routing_profile: named(&a.routing_profile),
                }))
            }),
            contacts: Some(
                self.contacts
                    .iter()
                    .map(|c| RawContact {
                        id: owned(&c.id),
                        channel: owned(&c.channel),
                        initiation_method: owned(&c.initiation_method),
                        state: owned(&c.state),
                        state_start: owned(&c.state_start),
                        connected_at: c.connected.then_some(Str(Cow::Borrowed("connected"))),
                        queue: named(&c.queue),
                    })
                    .collect(),
            ),
        }
    }
}
