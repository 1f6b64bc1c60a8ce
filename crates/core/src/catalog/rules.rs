//! The contact rule table (SPEC §4) as data, and its native evaluation.
//!
//! A rule names the contact states it applies to and, optionally, the channels, initiation
//! methods, outbound-ness and whether the contact was ever connected. A contact takes the
//! label and tier of the first rule that matches it; rules are kept in file order.

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Located, closest, did_you_mean};
use crate::event::RawContact;

pub const STATES: [&str; 10] = [
    "INCOMING",
    "PENDING",
    "CONNECTING",
    "CONNECTED",
    "CONNECTED_ONHOLD",
    "MISSED",
    "PAUSED",
    "REJECTED",
    "ERROR",
    "ENDED",
];

pub const CHANNELS: [&str; 5] = ["VOICE", "CHAT", "TASK", "TASKS", "EMAIL"];

pub const METHODS: [&str; 17] = [
    "INBOUND",
    "OUTBOUND",
    "TRANSFER",
    "CALLBACK",
    "API",
    "WEBRTC_API",
    "QUEUE_TRANSFER",
    "MONITOR",
    "DISCONNECT",
    "EXTERNAL_OUTBOUND",
    "AGENT_REPLY",
    "FLOW",
    "CAMPAIGN_PREVIEW",
    "CALLBACK_CUSTOMER_FIRST_QUEUED",
    "CALLBACK_CUSTOMER_FIRST_DIALED",
    "EMAIL_REPLY",
    "WEBRTC",
];

/// One row of the rule table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRule {
    pub tier: u8,
    pub states: Vec<String>,
    /// Empty: any channel.
    pub channels: Vec<String>,
    /// Empty: any method.
    pub methods: Vec<String>,
    /// Whether the method must (true) or must not (false) be an outbound method.
    pub outbound: Option<bool>,
    /// Whether the contact must (true) or must not (false) have been connected.
    pub connected: Option<bool>,
    pub label: String,
    /// Where the rule stands, as `file:line` of its `[[contact_rule]]` header.
    pub at: String,
}

impl ContactRule {
    pub fn matches(&self, contact: &RawContact<'_>, outbound_methods: &[String]) -> bool {
        let state = contact.state();
        if !self.states.iter().any(|s| s == state) {
            return false;
        }
        if !self.channels.is_empty() && !self.channels.iter().any(|c| c == contact.channel()) {
            return false;
        }
        let method = contact.method();
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == method) {
            return false;
        }
        if let Some(want) = self.outbound
            && outbound_methods.iter().any(|m| m == method) != want
        {
            return false;
        }
        if let Some(want) = self.connected
            && contact.connected() != want
        {
            return false;
        }
        true
    }
}

/// `[[contact_rule]]` as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactRuleToml {
    tier: Spanned<i64>,
    state: Vec<Spanned<String>>,
    #[serde(default)]
    channel: Vec<Spanned<String>>,
    #[serde(default)]
    method: Vec<Spanned<String>>,
    #[serde(default)]
    outbound: Option<bool>,
    #[serde(default)]
    connected: Option<bool>,
    label: Spanned<String>,
}

impl ContactRuleToml {
    pub(crate) fn validate(self, file: &str, text: &str) -> Result<ContactRule, Located> {
        let tier = match u8::try_from(*self.tier.get_ref()) {
            Ok(t @ 1..=9) => t,
            _ => {
                return Err(Located::at_offset(
                    file,
                    text,
                    self.tier.span().start,
                    format!("tier must be 1 to 9, not {}", self.tier.get_ref()),
                ));
            }
        };
        if self.state.is_empty() {
            return Err(Located::at_offset(
                file,
                text,
                self.label.span().start,
                "a contact rule needs at least one `state`",
            ));
        }
        let label = self.label.into_inner();
        if label.is_empty() {
            return Err(Located::new(
                file,
                1,
                1,
                "a contact rule needs a non-empty `label`",
            ));
        }
        Ok(ContactRule {
            tier,
            states: checked(file, text, self.state, &STATES, "contact state")?,
            channels: checked(file, text, self.channel, &CHANNELS, "channel")?
                .into_iter()
                .map(|c| if c == "TASKS" { "TASK".to_string() } else { c })
                .collect(),
            methods: checked(file, text, self.method, &METHODS, "initiation method")?,
            outbound: self.outbound,
            connected: self.connected,
            label,
            at: file.to_string(),
        })
    }
}

/// Enums are open, so a value Connect may add later is accepted; a value one or two letters
/// away from a known one is almost certainly a typo and is refused.
fn checked(
    file: &str,
    text: &str,
    values: Vec<Spanned<String>>,
    known: &[&str],
    what: &str,
) -> Result<Vec<String>, Located> {
    values
        .into_iter()
        .map(|v| {
            let s = v.get_ref();
            if known.contains(&s.as_str()) {
                return Ok(v.into_inner());
            }
            let typo = known.iter().any(|k| strsim::levenshtein(k, s) <= 2);
            if typo || s.chars().any(|c| c.is_ascii_lowercase()) {
                let hint = did_you_mean(&closest(s, known.iter().copied()));
                return Err(Located::at_offset(
                    file,
                    text,
                    v.span().start,
                    format!("unknown {what} `{s}`{hint}"),
                ));
            }
            Ok(v.into_inner())
        })
        .collect()
}
