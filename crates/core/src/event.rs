//! The agent event as it arrives, borrowed from the input buffer.
//!
//! Only the fields a report or a classification hook needs are declared; serde skips every
//! other field without allocating. Strings borrow from the input unless they contain an
//! escape ([`Str`]). Enums are open: an unknown `State`, `Channel` or `InitiationMethod` is
//! kept as its string. Nothing here interprets an event; `catalog` classifies snapshots and
//! `ingest` turns events into compact per-agent records.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;

/// A JSON string that borrows from the input when it can.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// One agent event (`connect-facts.md` §1.3).
#[derive(Debug, Deserialize)]
#[serde(expecting = "an event (a JSON object)")]
pub struct RawEvent<'a> {
    #[serde(rename = "AgentARN", borrow)]
    pub agent_arn: Str<'a>,
    #[serde(rename = "EventId", borrow, default)]
    pub event_id: Option<Str<'a>>,
    #[serde(rename = "EventTimestamp", borrow)]
    pub event_timestamp: Str<'a>,
    #[serde(rename = "EventType", borrow, default)]
    pub event_type: Option<Str<'a>>,
    #[serde(rename = "CurrentAgentSnapshot", borrow, default)]
    pub current: Option<RawSnapshot<'a>>,
    #[serde(rename = "PreviousAgentSnapshot", borrow, default)]
    pub previous: Option<RawSnapshot<'a>>,
}

/// The agent's state before or after an event (`connect-facts.md` §1.4).
#[derive(Debug, Default, Deserialize)]
pub struct RawSnapshot<'a> {
    #[serde(rename = "AgentStatus", borrow, default)]
    pub status: Option<RawStatus<'a>>,
    #[serde(rename = "NextAgentStatus", borrow, default)]
    pub next_status: Option<RawStatus<'a>>,
    #[serde(rename = "Configuration", borrow, default)]
    pub configuration: Option<Conf<'a>>,
    #[serde(rename = "Contacts", borrow, default)]
    pub contacts: Option<Vec<RawContact<'a>>>,
}

impl RawSnapshot<'_> {
    pub fn contacts(&self) -> &[RawContact<'_>] {
        self.contacts.as_deref().unwrap_or(&[])
    }
}

/// `Configuration`, kept as raw JSON when read from an event. It is two thirds of every
/// event and rarely changes, so it is parsed only where needed ([`Conf::parse`]), and the
/// reader compares raw bytes to skip parsing repeats.
#[derive(Debug)]
pub enum Conf<'a> {
    Raw(&'a RawValue),
    /// The object's bytes, cut out of the record before parsing ([`crate::input::scan`]).
    Bytes(&'a [u8]),
    Parsed(Box<RawConfiguration<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Conf<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(deserializer).map(Conf::Raw)
    }
}

impl<'a> Conf<'a> {
    /// The configuration's fields. A raw `null` or a configuration of the wrong shape is an
    /// error naming what was wrong.
    pub fn parse(&self) -> Result<std::borrow::Cow<'_, RawConfiguration<'a>>, Malformed> {
        match self {
            Conf::Parsed(c) => Ok(std::borrow::Cow::Borrowed(&**c)),
            Conf::Raw(raw) => parse_configuration(raw.get().as_bytes()),
            Conf::Bytes(bytes) => parse_configuration(bytes),
        }
    }

    /// The raw bytes, when read from an event.
    pub fn raw_bytes(&self) -> Option<&[u8]> {
        match self {
            Conf::Raw(raw) => Some(raw.get().as_bytes()),
            Conf::Bytes(bytes) => Some(bytes),
            Conf::Parsed(_) => None,
        }
    }
}

pub(crate) fn parse_configuration<'a, 'c>(
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'c, RawConfiguration<'a>>, Malformed> {
    serde_json::from_slice::<Option<RawConfiguration<'a>>>(bytes)
        .map_err(Malformed::Configuration)
        .map(|c| std::borrow::Cow::Owned(c.unwrap_or_default()))
}

/// Why a record is not a usable event: it is skipped, and counted with its place.
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    #[error("malformed record: bad `EventTimestamp` `{0}`: {1}")]
    Timestamp(String, crate::time::TimestampError),
    #[error("malformed record: `AgentARN` is empty")]
    NoAgent,
    /// `PreviousAgentSnapshot` or `CurrentAgentSnapshot`, and serde's reason.
    #[error("malformed record: bad `{0}`: {1}")]
    Snapshot(&'static str, serde_json::Error),
    #[error("malformed `Configuration`: {0}")]
    Configuration(serde_json::Error),
}

/// `AgentStatus` or `NextAgentStatus`.
#[derive(Debug, Default, Deserialize)]
pub struct RawStatus<'a> {
    #[serde(rename = "ARN", borrow, default)]
    pub arn: Option<Str<'a>>,
    #[serde(rename = "Name", borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(rename = "StartTimestamp", borrow, default)]
    pub start: Option<Str<'a>>,
    #[serde(rename = "Type", borrow, default)]
    pub kind: Option<Str<'a>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawConfiguration<'a> {
    #[serde(rename = "Username", borrow, default)]
    pub username: Option<Str<'a>>,
    #[serde(rename = "FirstName", borrow, default)]
    pub first_name: Option<Str<'a>>,
    #[serde(rename = "LastName", borrow, default)]
    pub last_name: Option<Str<'a>>,
    #[serde(rename = "AgentHierarchyGroups", borrow, default)]
    pub hierarchy: Option<RawHierarchy<'a>>,
    #[serde(rename = "RoutingProfile", borrow, default)]
    pub routing_profile: Option<RawNamed<'a>>,
}

/// `AgentHierarchyGroups`: up to five levels, top first.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawHierarchy<'a> {
    #[serde(rename = "Level1", borrow, default)]
    pub level1: Option<RawNamed<'a>>,
    #[serde(rename = "Level2", borrow, default)]
    pub level2: Option<RawNamed<'a>>,
    #[serde(rename = "Level3", borrow, default)]
    pub level3: Option<RawNamed<'a>>,
    #[serde(rename = "Level4", borrow, default)]
    pub level4: Option<RawNamed<'a>>,
    #[serde(rename = "Level5", borrow, default)]
    pub level5: Option<RawNamed<'a>>,
}

impl RawHierarchy<'_> {
    /// The levels that are present, top first; the path stops at the first missing level.
    pub fn levels(&self) -> impl Iterator<Item = &RawNamed<'_>> {
        [
            &self.level1,
            &self.level2,
            &self.level3,
            &self.level4,
            &self.level5,
        ]
        .into_iter()
        .map_while(|l| l.as_ref())
    }
}

/// Any `{ARN, Name}` object: hierarchy groups, routing profiles, queues.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawNamed<'a> {
    #[serde(rename = "ARN", borrow, default)]
    pub arn: Option<Str<'a>>,
    #[serde(rename = "Name", borrow, default)]
    pub name: Option<Str<'a>>,
}

/// One contact in a snapshot (`connect-facts.md` §1.8).
#[derive(Debug, Default, Deserialize)]
pub struct RawContact<'a> {
    #[serde(rename = "ContactId", borrow, default)]
    pub id: Option<Str<'a>>,
    #[serde(rename = "Channel", borrow, default)]
    pub channel: Option<Str<'a>>,
    #[serde(rename = "InitiationMethod", borrow, default)]
    pub initiation_method: Option<Str<'a>>,
    #[serde(rename = "State", borrow, default)]
    pub state: Option<Str<'a>>,
    #[serde(rename = "StateStartTimestamp", borrow, default)]
    pub state_start: Option<Str<'a>>,
    #[serde(rename = "ConnectedToAgentTimestamp", borrow, default)]
    pub connected_at: Option<Str<'a>>,
    #[serde(rename = "Queue", borrow, default)]
    pub queue: Option<RawNamed<'a>>,
}

impl RawContact<'_> {
    /// The channel with the data model's `TASKS` spelled `TASK`.
    pub fn channel(&self) -> &str {
        match self.channel.as_ref().map(Str::as_str) {
            Some("TASKS") => "TASK",
            Some(c) => c,
            None => "",
        }
    }

    pub fn state(&self) -> &str {
        self.state.as_ref().map(Str::as_str).unwrap_or("")
    }

    pub fn method(&self) -> &str {
        self.initiation_method
            .as_ref()
            .map(Str::as_str)
            .unwrap_or("")
    }

    /// Whether the contact was ever connected to the agent.
    pub fn connected(&self) -> bool {
        self.connected_at.is_some()
    }
}

/// Event types; unknown values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Login,
    Logout,
    StateChange,
    HeartBeat,
    Other,
}

impl EventKind {
    pub fn parse(s: Option<&str>) -> EventKind {
        match s {
            Some("LOGIN") => EventKind::Login,
            Some("LOGOUT") => EventKind::Logout,
            Some("STATE_CHANGE") => EventKind::StateChange,
            Some("HEART_BEAT") => EventKind::HeartBeat,
            _ => EventKind::Other,
        }
    }
}

/// `AgentStatus.Type`, inferred from the name when missing (old `Version`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusType {
    Routable,
    Offline,
    Custom,
}

impl StatusType {
    /// `Type` when present, otherwise `Available` → ROUTABLE, `Offline` → OFFLINE,
    /// anything else → CUSTOM. An unknown `Type` value counts as CUSTOM.
    pub fn of(status: &RawStatus<'_>) -> StatusType {
        match status.kind.as_ref().map(Str::as_str) {
            Some("ROUTABLE") => StatusType::Routable,
            Some("OFFLINE") => StatusType::Offline,
            Some(_) => StatusType::Custom,
            None => match status.name.as_ref().map(Str::as_str) {
                Some("Available") => StatusType::Routable,
                Some("Offline") => StatusType::Offline,
                _ => StatusType::Custom,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusType::Routable => "ROUTABLE",
            StatusType::Offline => "OFFLINE",
            StatusType::Custom => "CUSTOM",
        }
    }
}
