//! Status definitions: what a label means, how it is drawn and ordered.
//!
//! A definition never decides a label; it describes one. Validation follows Connect's own
//! limits (`connect-facts.md` §5): name 1–127 characters, description up to 250, display
//! order 1–50.

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Located;

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

    fn parse(s: &str) -> Option<DefinitionType> {
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
}

/// `[[status]]` as written in TOML.
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
    /// Checks the definition's fields and returns it.
    pub(crate) fn validate(self, file: &str, text: &str) -> Result<StatusDefinition, Located> {
        let at = |span: std::ops::Range<usize>, msg: String| {
            Located::at_offset(file, text, span.start, msg)
        };

        let name = self.name.get_ref().clone();
        let len = name.chars().count();
        if len == 0 || len > 127 {
            return Err(at(
                self.name.span(),
                format!("status name must be 1 to 127 characters, `{name}` has {len}"),
            ));
        }
        let description = match self.description {
            Some(d) if d.get_ref().chars().count() > 250 => {
                return Err(at(
                    d.span(),
                    format!("description of `{name}` is longer than 250 characters"),
                ));
            }
            Some(d) => d.into_inner(),
            None => String::new(),
        };
        let kind = match self.kind {
            None => DefinitionType::Custom,
            Some(k) => DefinitionType::parse(k.get_ref()).ok_or_else(|| {
                at(
                    k.span(),
                    format!(
                        "unknown status type `{}`: expected ROUTABLE, CUSTOM, OFFLINE or SYSTEM",
                        k.get_ref()
                    ),
                )
            })?,
        };
        let display_order = match self.display_order {
            None => None,
            Some(d) => match u8::try_from(*d.get_ref()) {
                Ok(v @ 1..=50) => Some(v),
                _ => {
                    return Err(at(
                        d.span(),
                        format!(
                            "display_order of `{name}` must be 1 to 50, not {}",
                            d.get_ref()
                        ),
                    ));
                }
            },
        };
        let color = match self.color {
            None => None,
            Some(c) => {
                let v = c.get_ref();
                let ok = v.len() == 7
                    && v.starts_with('#')
                    && v[1..].chars().all(|ch| ch.is_ascii_hexdigit());
                if !ok {
                    return Err(at(
                        c.span(),
                        format!("color of `{name}` must look like `#1f77b4`, not `{v}`"),
                    ));
                }
                Some(c.into_inner())
            }
        };
        Ok(StatusDefinition {
            name,
            description,
            kind,
            arn: self.arn,
            display_order,
            color,
            productive: self.productive,
            origin: file.to_string(),
        })
    }
}
