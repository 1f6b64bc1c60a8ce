//! What a hook returns, read as data: `statuses()`, `tests()` and a policy's answer become
//! JSON through one conversion for both engines, so a Rhai and a Lua script returning the
//! same thing read the same, and fail with the same words.
//!
//! Each engine says only what one value is at its outer level ([`Returned::shape`]); the
//! walk, the depth limit and every message live here.

use serde_json::Value;

/// How deep returned data may nest (a script cannot make the host recurse without bound).
const MAX_DEPTH: usize = 32;

/// One level of a returned value, as its engine sees it.
pub(super) enum Shape<V> {
    /// Rhai's `()`, Lua's `nil`.
    Nothing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<V>),
    Map(Vec<(String, V)>),
    /// A table keyed by something other than text, by the key's type name.
    KeyNotText(String),
    /// Something that is not data (a function, a handle), by its type name.
    Other(String),
}

/// A script value the host can read as data.
pub(super) trait Returned: Sized {
    /// This value's outer level; an error when the engine cannot read it at all.
    fn shape(&self) -> Result<Shape<Self>, DataError>;
}

/// Returned data that is not data the host can take.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(super) enum DataError {
    #[error("returned value is nested too deeply")]
    TooDeep,
    #[error("returned a number that is not finite: {0}")]
    NotFinite(f64),
    #[error("a returned table has a {0} key; keys must be strings")]
    KeyNotText(String),
    #[error("returned a value of type {0} where data was expected")]
    NotData(String),
    /// The engine could not read the value (its own message).
    #[error("{0}")]
    Unreadable(String),
}

/// The returned value `value` as JSON.
pub(super) fn to_json<V: Returned>(value: &V) -> Result<Value, DataError> {
    at_depth(value, 0)
}

fn at_depth<V: Returned>(value: &V, depth: usize) -> Result<Value, DataError> {
    if depth > MAX_DEPTH {
        return Err(DataError::TooDeep);
    }
    Ok(match value.shape()? {
        Shape::Nothing => Value::Null,
        Shape::Bool(b) => b.into(),
        Shape::Int(i) => i.into(),
        Shape::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or(DataError::NotFinite(f))?,
        Shape::Text(s) => Value::String(s),
        Shape::List(items) => Value::Array(
            items
                .iter()
                .map(|item| at_depth(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Shape::Map(fields) => {
            let mut map = serde_json::Map::with_capacity(fields.len());
            for (key, item) in &fields {
                map.insert(key.clone(), at_depth(item, depth + 1)?);
            }
            Value::Object(map)
        }
        Shape::KeyNotText(key) => return Err(DataError::KeyNotText(key)),
        Shape::Other(type_name) => return Err(DataError::NotData(type_name)),
    })
}
