//! Status definitions: what a label means, how it is drawn and ordered.
//!
//! A definition never decides a label; it describes one. Validation follows Connect's own
//! limits (`connect-facts.md` §5): name 1–127 characters, description up to 250, display
//! order 1–50.

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Located;

/// `#rrggbb`.
pub fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

/// What kind of status a label is. `System` marks labels Connect derives from a contact's
/// state (Busy, After contact work, …) rather than a status the agent chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefinitionType {
    Routable,
    Custom,
    Offline,
    System,
}

impl DefinitionType {
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionType::Routable => "ROUTABLE",
            DefinitionType::Custom => "CUSTOM",
            DefinitionType::Offline => "OFFLINE",
            DefinitionType::System => "SYSTEM",
        }
    }

    pub fn parse(s: &str) -> Option<DefinitionType> {
        match s {
            "ROUTABLE" => Some(DefinitionType::Routable),
            "CUSTOM" => Some(DefinitionType::Custom),
            "OFFLINE" => Some(DefinitionType::Offline),
            "SYSTEM" => Some(DefinitionType::System),
            _ => None,
        }
    }
}

/// One status label and what it means.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusDefinition {
    pub name: String,
    pub description: String,
    pub kind: DefinitionType,
    /// Matches a status by its ARN, so a renamed status keeps this definition's name.
    pub arn: Option<String>,
    pub display_order: Option<u8>,
    /// `#rrggbb`, for charts.
    pub color: Option<String>,
    pub productive: Option<bool>,
    /// The file (or built-in catalogue) the definition came from.
    pub origin: String,
    /// Where the definition stands, as `file:line` (a row's `rule` when the agent status
    /// decided its label); set by whoever read the file.
    pub at: String,
}

/// The fields of a status definition, before validation: what a `statuses()` hook returns.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusFields {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub display_order: Option<i64>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub productive: Option<bool>,
}

/// Which field a validation error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Name,
    Description,
    Type,
    DisplayOrder,
    Color,
}

impl StatusFields {
    /// Checks the fields against Connect's limits.
    pub(crate) fn validate(self, origin: &str) -> Result<StatusDefinition, (Field, String)> {
        let name = self.name;
        let len = name.chars().count();
        if len == 0 || len > 127 {
            return Err((
                Field::Name,
                format!(
                    "status name must be 1 to 127 characters, `{}` has {len}",
                    crate::script::cap_text(&name, crate::script::MAX_QUOTED)
                ),
            ));
        }
        let description = self.description.unwrap_or_default();
        if description.chars().count() > 250 {
            return Err((
                Field::Description,
                format!("description of `{name}` is longer than 250 characters"),
            ));
        }
        let kind = match self.kind {
            None => DefinitionType::Custom,
            Some(k) => DefinitionType::parse(&k).ok_or_else(|| {
                (
                    Field::Type,
                    format!(
                        "unknown status type `{}`: expected ROUTABLE, CUSTOM, OFFLINE or SYSTEM",
                        crate::script::cap_text(&k, crate::script::MAX_QUOTED)
                    ),
                )
            })?,
        };
        let display_order = match self.display_order {
            None => None,
            Some(d) => match u8::try_from(d) {
                Ok(v @ 1..=50) => Some(v),
                _ => {
                    return Err((
                        Field::DisplayOrder,
                        format!("display_order of `{name}` must be 1 to 50, not {d}"),
                    ));
                }
            },
        };
        if let Some(c) = &self.color
            && !is_hex_color(c)
        {
            return Err((
                Field::Color,
                format!(
                    "color of `{name}` must look like `#1f77b4`, not `{}`",
                    crate::script::cap_text(c, crate::script::MAX_QUOTED)
                ),
            ));
        }
        Ok(StatusDefinition {
            name,
            description,
            kind,
            arn: self.arn,
            display_order,
            color: self.color,
            productive: self.productive,
            origin: origin.to_string(),
            at: origin.to_string(),
        })
    }
}

/// `[[status]]` as written in TOML: the same fields, with their places in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusToml {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<Spanned<String>>,
    #[serde(rename = "type", default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    display_order: Option<Spanned<i64>>,
    #[serde(default)]
    color: Option<Spanned<String>>,
    #[serde(default)]
    productive: Option<bool>,
}

impl StatusToml {
    /// Checks the definition's fields and returns it; errors point at the field.
    pub(crate) fn validate(self, file: &str, text: &str) -> Result<StatusDefinition, Located> {
        let span_of = |field: Field| -> usize {
            let span = match field {
                Field::Name => Some(self.name.span()),
                Field::Description => self.description.as_ref().map(Spanned::span),
                Field::Type => self.kind.as_ref().map(Spanned::span),
                Field::DisplayOrder => self.display_order.as_ref().map(Spanned::span),
                Field::Color => self.color.as_ref().map(Spanned::span),
            };
            span.unwrap_or(self.name.span()).start
        };
        let fields = StatusFields {
            name: self.name.get_ref().clone(),
            description: self.description.as_ref().map(|d| d.get_ref().clone()),
            kind: self.kind.as_ref().map(|k| k.get_ref().clone()),
            arn: self.arn.clone(),
            display_order: self.display_order.as_ref().map(|d| *d.get_ref()),
            color: self.color.as_ref().map(|c| c.get_ref().clone()),
            productive: self.productive,
        };
        fields
            .validate(file)
            .map_err(|(field, msg)| Located::at_offset(file, text, span_of(field), msg))
    }
}
