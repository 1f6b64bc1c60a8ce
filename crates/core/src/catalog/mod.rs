//! The status catalogue: status definitions plus the rule table that turns an agent
//! snapshot into a status label (SPEC §4).
//!
//! The catalogue is data. The two shipped catalogues live in `scripts/catalogs/*.toml` and
//! are embedded in the binary; the Rust here only evaluates them. Classification is pure:
//! the same snapshot always gets the same label, so `ingest` classifies each event once, as
//! it is read, and the reducer only compares labels.

pub mod definition;
pub mod pipeline;
pub mod rules;
pub mod status_file;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Located, line_col};
use crate::event::{RawContact, RawSnapshot, StatusType, Str};
use definition::StatusToml;
pub use definition::{DefinitionType, StatusDefinition};
pub use pipeline::{Classifier, Trace};
pub use rules::ContactRule;
use rules::ContactRuleToml;

/// The catalogues shipped in the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CatalogName {
    /// The seed document's labels (the default).
    #[default]
    Connect,
    /// The labels Connect uses since 2026-03-09.
    Connect2026,
}

impl CatalogName {
    pub const ALL: [CatalogName; 2] = [CatalogName::Connect, CatalogName::Connect2026];

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogName::Connect => CatalogName::NAMES[0],
            CatalogName::Connect2026 => CatalogName::NAMES[1],
        }
    }

    /// The catalogue's TOML source as shipped in `scripts/catalogs/`.
    pub fn source(self) -> (&'static str, &'static str) {
        match self {
            CatalogName::Connect => (
                "scripts/catalogs/connect.toml",
                include_str!("../../../../scripts/catalogs/connect.toml"),
            ),
            CatalogName::Connect2026 => (
                "scripts/catalogs/connect-2026.toml",
                include_str!("../../../../scripts/catalogs/connect-2026.toml"),
            ),
        }
    }
}

impl fmt::Display for CatalogName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CatalogName {
    /// Every catalogue's name, as configurations write it.
    pub const NAMES: [&'static str; 2] = ["connect", "connect-2026"];
}

impl FromStr for CatalogName {
    type Err = crate::diagnostic::Unknown;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CatalogName::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| crate::diagnostic::Unknown::new("catalogue", s, &CatalogName::NAMES))
    }
}

/// Where a label came from: the agent's own status, a contact's state, or a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelSource<'a> {
    Status(StatusType),
    Contact {
        channel: &'a str,
        contact_id: &'a str,
    },
    /// A `classify` hook; `offline` when the label stands for an OFFLINE-type status.
    Script {
        offline: bool,
    },
}

/// The label of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification<'a> {
    pub label: Cow<'a, str>,
    pub source: LabelSource<'a>,
    /// What decided the label, as `file:line` (SPEC §3.8): the `[[contact_rule]]` of the
    /// catalogue, the `return` of a `classify` hook, or, when the agent status decided, the
    /// `[[status]]` definition of the label ([`AGENT_STATUS_RULE`] when it has none).
    pub rule: Cow<'a, str>,
}

/// The rule of a label that is the agent status's own name and that no file defines (an
/// undefined custom status): no line decided it but the status the agent chose.
pub const AGENT_STATUS_RULE: &str = "agent status";

/// What the catalogue made of one contact of a snapshot (for `explain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactVerdict<'a> {
    pub contact_id: &'a str,
    pub channel: &'a str,
    pub state: &'a str,
    pub method: &'a str,
    pub connected: bool,
    /// The first rule that matched the contact, if any.
    pub rule: Option<&'a ContactRule>,
    /// How many rules were tried before it (or in all, when none matched).
    pub tried: usize,
}

/// A loaded catalogue.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub name: String,
    pub description: String,
    /// The catalogue's file as rules name it (`scripts/catalogs/connect.toml` for the
    /// embedded ones).
    pub file: String,
    definitions: Vec<StatusDefinition>,
    by_name: HashMap<String, usize>,
    by_arn: HashMap<String, usize>,
    rules: Vec<ContactRule>,
    outbound_methods: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogToml {
    catalog: Option<HeaderToml>,
    #[serde(default)]
    status: Vec<Spanned<StatusToml>>,
    #[serde(default)]
    contact_rule: Vec<Spanned<ContactRuleToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderToml {
    name: String,
    #[serde(default)]
    description: String,
    outbound_methods: Vec<String>,
}

impl Catalog {
    /// One of the shipped catalogues.
    pub fn builtin(name: CatalogName) -> Result<Catalog, Located> {
        let (file, text) = name.source();
        Catalog::parse(&format!("built-in {name} ({file})"), file, text)
    }

    /// Parses and validates a catalogue file: a `[catalog]` header, `[[status]]` definitions
    /// and `[[contact_rule]]` rows.
    pub fn from_toml(file: &str, text: &str) -> Result<Catalog, Located> {
        Catalog::parse(file, file, text)
    }

    /// [`Catalog::from_toml`], with errors naming `file` and rules naming `path`.
    fn parse(file: &str, path: &str, text: &str) -> Result<Catalog, Located> {
        let parsed: CatalogToml =
            toml::from_str(text).map_err(|e| Located::from_toml(file, text, &e))?;
        let header = parsed
            .catalog
            .ok_or_else(|| Located::new(file, 1, 1, "a catalogue needs a `[catalog]` table"))?;
        let mut catalog = Catalog {
            name: header.name,
            description: header.description,
            file: path.to_string(),
            definitions: Vec::new(),
            by_name: HashMap::new(),
            by_arn: HashMap::new(),
            rules: Vec::new(),
            outbound_methods: header.outbound_methods,
        };
        // Rules and definitions are named by the line of their `[[...]]` header.
        let at = |offset: usize| format!("{path}:{}", line_col(text, offset).0);
        for status in parsed.status {
            let start = status.span().start;
            let mut def = status.into_inner().validate(file, text)?;
            def.at = at(start);
            catalog.add_definition(def, file)?;
        }
        for rule in parsed.contact_rule {
            let start = rule.span().start;
            let mut rule = rule.into_inner().validate(file, text)?;
            rule.at = at(start);
            catalog.rules.push(rule);
        }
        Ok(catalog)
    }

    fn add_definition(&mut self, def: StatusDefinition, file: &str) -> Result<(), Located> {
        if self.by_name.contains_key(&def.name) {
            return Err(Located::new(
                file,
                1,
                1,
                format!("status `{}` is defined twice", def.name),
            ));
        }
        let i = self.definitions.len();
        self.by_name.insert(def.name.clone(), i);
        if let Some(arn) = &def.arn {
            self.by_arn.insert(arn.clone(), i);
        }
        self.definitions.push(def);
        Ok(())
    }

    /// The effective catalogue: the organisation's definitions first (a definition with the
    /// name of a built-in one replaces it), then the catalogue's own.
    pub fn with_definitions(&self, user: Vec<StatusDefinition>) -> Catalog {
        let mut merged = Catalog {
            definitions: Vec::new(),
            by_name: HashMap::new(),
            by_arn: HashMap::new(),
            ..self.clone()
        };
        let builtin = self.definitions.iter().cloned();
        for def in user.into_iter().chain(builtin) {
            if merged.by_name.contains_key(&def.name) {
                continue;
            }
            let i = merged.definitions.len();
            merged.by_name.insert(def.name.clone(), i);
            if let Some(arn) = &def.arn {
                merged.by_arn.entry(arn.clone()).or_insert(i);
            }
            merged.definitions.push(def);
        }
        merged
    }

    /// Agent statuses (ROUTABLE, CUSTOM, OFFLINE) defined, the number Connect caps at 50.
    pub fn agent_status_count(&self) -> usize {
        self.definitions
            .iter()
            .filter(|d| d.kind != DefinitionType::System)
            .count()
    }

    /// The defined statuses' names (their labels), in catalogue order.
    pub fn names(&self) -> Vec<&str> {
        self.definitions().iter().map(|d| d.name.as_str()).collect()
    }

    pub fn definitions(&self) -> &[StatusDefinition] {
        &self.definitions
    }

    pub fn rules(&self) -> &[ContactRule] {
        &self.rules
    }

    /// The label of a snapshot, or `None` when it carries neither a contact with a known
    /// state nor an agent status.
    pub fn classify<'a>(&'a self, snap: &'a RawSnapshot<'_>) -> Option<Classification<'a>> {
        let mut best: Option<(&ContactRule, &RawContact<'_>)> = None;
        for contact in snap.contacts() {
            if let Some((_, rule)) = self.contact_rule(contact)
                && best.is_none_or(|(b, _)| rule.tier < b.tier)
            {
                best = Some((rule, contact));
            }
        }
        if let Some((rule, contact)) = best {
            return Some(Classification {
                label: Cow::Borrowed(rule.label.as_str()),
                source: LabelSource::Contact {
                    channel: contact.channel(),
                    contact_id: contact.id.as_ref().map(Str::as_str).unwrap_or(""),
                },
                rule: Cow::Borrowed(rule.at.as_str()),
            });
        }

        let status = snap.status.as_ref()?;
        let kind = StatusType::of(status);
        let pinned = status
            .arn
            .as_ref()
            .and_then(|arn| self.by_arn.get(arn.as_str()))
            .map(|&i| &self.definitions[i]);
        let (label, definition) = match (pinned, status.name.as_ref()) {
            (Some(def), _) => (def.name.as_str(), Some(def)),
            (None, Some(name)) if !name.as_str().is_empty() => {
                (name.as_str(), self.definition(name.as_str(), Some(kind)))
            }
            _ => return None,
        };
        Some(Classification {
            label: Cow::Borrowed(label),
            source: LabelSource::Status(kind),
            rule: Cow::Borrowed(definition.map_or(AGENT_STATUS_RULE, |d| d.at.as_str())),
        })
    }

    /// The first rule that matches `contact`, with its index in the table.
    fn contact_rule(&self, contact: &RawContact<'_>) -> Option<(usize, &ContactRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(contact, &self.outbound_methods))
    }

    /// What the rule table makes of each contact of `snap`, in snapshot order (the label
    /// itself is [`Catalog::classify`]'s).
    pub fn contact_verdicts<'a>(&'a self, snap: &'a RawSnapshot<'_>) -> Vec<ContactVerdict<'a>> {
        snap.contacts()
            .iter()
            .map(|contact| {
                let found = self.contact_rule(contact);
                ContactVerdict {
                    contact_id: contact.id.as_ref().map(Str::as_str).unwrap_or(""),
                    channel: contact.channel(),
                    state: contact.state(),
                    method: contact.method(),
                    connected: contact.connected(),
                    rule: found.map(|(_, r)| r),
                    tried: found.map_or(self.rules.len(), |(i, _)| i),
                }
            })
            .collect()
    }

    /// The definition of a label. A renamed system status (a ROUTABLE or OFFLINE status
    /// with a name the catalogue does not define) takes the definition of its type.
    pub fn definition(&self, label: &str, source: Option<StatusType>) -> Option<&StatusDefinition> {
        if let Some(&i) = self.by_name.get(label) {
            return Some(&self.definitions[i]);
        }
        let kind = match source? {
            StatusType::Routable => DefinitionType::Routable,
            StatusType::Offline => DefinitionType::Offline,
            StatusType::Custom => return None,
        };
        self.definitions.iter().find(|d| d.kind == kind)
    }
}
