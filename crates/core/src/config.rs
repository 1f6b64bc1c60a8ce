//! The configuration file (`--config FILE`, SPEC §8): where the status scripts and policies
//! live, which catalogue to use, `stale_after`, sandbox limits and report columns.
//!
//! Raw TOML is turned into a validated [`Config`] once, with every path resolved against
//! the file's own directory; nothing downstream re-checks it. Without `--config` the
//! embedded defaults apply ([`Config::default`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::catalog::CatalogName;
use crate::diagnostic::{Located, closest, did_you_mean};
use crate::reduce::DEFAULT_STALE_AFTER_MS;
use crate::report::columns::{Column, ColumnSpec, default_columns};
use crate::script::Limits;

/// Which catalogue the rules and built-in definitions come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogChoice {
    Builtin(CatalogName),
    /// A catalogue file of the organisation's own, in the format of `scripts/catalogs/`.
    File(PathBuf),
}

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it came from; `None` for the embedded defaults.
    pub file: Option<PathBuf>,
    /// Status files and scripts: files, or directories whose files are read in name order.
    pub scripts: Vec<PathBuf>,
    /// Users, profiles and policy scripts.
    pub policies: Vec<PathBuf>,
    pub catalog: CatalogChoice,
    pub stale_after_ms: i64,
    pub decision_log: Option<PathBuf>,
    pub limits: Limits,
    /// Most agent statuses (ROUTABLE, CUSTOM, OFFLINE) one catalogue may define.
    pub max_statuses: usize,
    pub columns: Vec<ColumnSpec>,
    /// `[s3]`: the endpoint of an S3-compatible store, how often `watch` polls.
    pub s3: crate::s3::Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            file: None,
            scripts: Vec::new(),
            policies: Vec::new(),
            catalog: CatalogChoice::Builtin(CatalogName::Connect),
            stale_after_ms: DEFAULT_STALE_AFTER_MS,
            decision_log: None,
            limits: Limits::default(),
            max_statuses: 50,
            columns: default_columns(),
            s3: crate::s3::Settings::default(),
        }
    }
}

/// One path or a list of paths, as configuration and batch files write them.
pub(crate) enum Paths {
    One(String),
    Many(Vec<String>),
}

/// By hand rather than `untagged`, so that anything else is refused with what was
/// expected ("invalid type: integer `3`, expected a path (a string) or a list of paths")
/// instead of "did not match any variant".
impl<'de> Deserialize<'de> for Paths {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Paths, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Paths;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path (a string) or a list of paths")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Paths, E> {
                Ok(Paths::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Paths, A::Error> {
                let mut paths = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    paths.push(p);
                }
                Ok(Paths::Many(paths))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Paths {
    /// The paths, each relative to `base` and normalised.
    pub(crate) fn resolve(self, base: &Path) -> Vec<PathBuf> {
        let list = match self {
            Paths::One(p) => vec![p],
            Paths::Many(ps) => ps,
        };
        list.into_iter()
            .map(|p| {
                if crate::s3::is_s3(Path::new(&p)) {
                    PathBuf::from(p)
                } else {
                    normalize(&base.join(p))
                }
            })
            .collect()
    }
}

/// `a/b/../c` → `a/c`, lexically, so messages show the paths people expect.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let can_pop = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if can_pop {
                    out.pop();
                } else {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigToml {
    #[serde(default)]
    scripts: Option<Paths>,
    #[serde(default)]
    policies: Option<Paths>,
    #[serde(default)]
    catalog: Option<Spanned<String>>,
    #[serde(default)]
    stale_after_secs: Option<Spanned<f64>>,
    #[serde(default)]
    decision_log: Option<String>,
    #[serde(default)]
    limits: Option<LimitsToml>,
    #[serde(default)]
    report: Option<ReportToml>,
    #[serde(default)]
    s3: Option<S3Toml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S3Toml {
    #[serde(default)]
    endpoint_url: Option<Spanned<String>>,
    #[serde(default)]
    poll_secs: Option<Spanned<f64>>,
    #[serde(default)]
    unsigned: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsToml {
    #[serde(default)]
    operations: Option<Spanned<i64>>,
    #[serde(default)]
    memory_mb: Option<Spanned<i64>>,
    #[serde(default)]
    call_ms: Option<Spanned<i64>>,
    #[serde(default)]
    max_statuses: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportToml {
    #[serde(default)]
    columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
}

impl Config {
    /// Validates configuration text that came from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Located> {
        let name = path.display().to_string();
        let at = |offset: usize, msg: String| Located::at_offset(&name, text, offset, msg);
        let raw: ConfigToml =
            toml::from_str(text).map_err(|e| Located::from_toml(&name, text, &e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config = Config {
            file: Some(path.to_path_buf()),
            ..Config::default()
        };
        if let Some(p) = raw.scripts {
            config.scripts = p.resolve(&base);
        }
        if let Some(p) = raw.policies {
            config.policies = p.resolve(&base);
        }
        if let Some(c) = raw.catalog {
            let value = c.get_ref();
            config.catalog = match value.parse::<CatalogName>() {
                Ok(name) => CatalogChoice::Builtin(name),
                Err(_) if value.ends_with(".toml") => {
                    CatalogChoice::File(normalize(&base.join(value)))
                }
                Err(why) => {
                    return Err(at(
                        c.span().start,
                        format!(
                            "{why} (expected `connect`, `connect-2026` or the path of a catalogue .toml file)"
                        ),
                    ));
                }
            };
        }
        if let Some(s) = raw.stale_after_secs {
            let secs = *s.get_ref();
            if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                return Err(at(
                    s.span().start,
                    format!("stale_after_secs must be more than 0 and at most 86400, not {secs}"),
                ));
            }
            config.stale_after_ms = (secs * 1000.0).round() as i64;
        }
        config.decision_log = raw.decision_log.map(|p| normalize(&base.join(p)));
        if let Some(limits) = raw.limits {
            let positive = |v: &Spanned<i64>, what: &str, max: i64| {
                let n = *v.get_ref();
                if n < 1 || n > max {
                    Err(at(
                        v.span().start,
                        format!("{what} must be 1 to {max}, not {n}"),
                    ))
                } else {
                    Ok(n)
                }
            };
            if let Some(v) = &limits.operations {
                config.limits.operations =
                    positive(v, "limits.operations", 1_000_000_000_000)? as u64;
            }
            if let Some(v) = &limits.memory_mb {
                config.limits.memory_bytes =
                    (positive(v, "limits.memory_mb", 65_536)? as usize) << 20;
            }
            if let Some(v) = &limits.call_ms {
                config.limits.call_ms = positive(v, "limits.call_ms", 3_600_000)? as u64;
            }
            if let Some(v) = &limits.max_statuses {
                config.max_statuses = positive(v, "limits.max_statuses", 100_000)? as usize;
            }
        }
        if let Some(report) = raw.report {
            config.columns = columns(report, &at)?;
        }
        if let Some(s3) = raw.s3 {
            if let Some(url) = s3.endpoint_url {
                let value = url.get_ref();
                if !(value.starts_with("http://") || value.starts_with("https://")) {
                    return Err(at(
                        url.span().start,
                        format!(
                            "s3.endpoint_url must start with http:// or https://, not `{value}`"
                        ),
                    ));
                }
                config.s3.endpoint_url = Some(value.clone());
            }
            if let Some(p) = s3.poll_secs {
                let secs = *p.get_ref();
                if !(secs.is_finite() && (0.1..=86_400.0).contains(&secs)) {
                    return Err(at(
                        p.span().start,
                        format!("s3.poll_secs must be 0.1 to 86400, not {secs}"),
                    ));
                }
                config.s3.poll = std::time::Duration::from_secs_f64(secs);
            }
            config.s3.unsigned = s3.unsigned;
        }
        Ok(config)
    }
}

/// Column keys as written (`["agent_login", "status", "rule"]`), checked.
pub(crate) fn column_keys(
    keys: &[Spanned<String>],
    at: &impl Fn(usize, String) -> Located,
) -> Result<Vec<Column>, Located> {
    keys.iter()
        .map(|k| {
            Column::from_key(k.get_ref()).ok_or_else(|| {
                let hint = did_you_mean(&closest(k.get_ref(), Column::KEYS));
                at(
                    k.span().start,
                    format!("unknown report column `{}`{hint}", k.get_ref()),
                )
            })
        })
        .collect()
}

/// `columns` with their headers: as the configuration names them, else the default.
pub fn headed(columns: &[Column], configured: &[ColumnSpec]) -> Vec<ColumnSpec> {
    columns
        .iter()
        .map(|&column| ColumnSpec {
            column,
            header: configured
                .iter()
                .find(|s| s.column == column)
                .map_or_else(|| column.header(), |s| s.header.clone()),
        })
        .collect()
}

fn columns(
    report: ReportToml,
    at: &impl Fn(usize, String) -> Located,
) -> Result<Vec<ColumnSpec>, Located> {
    let mut specs = match report.columns {
        None => default_columns(),
        Some(keys) => column_keys(&keys, at)?
            .into_iter()
            .map(|column| ColumnSpec {
                column,
                header: column.header(),
            })
            .collect(),
    };
    for (key, header) in report.headers {
        let column = Column::from_key(&key).ok_or_else(|| {
            let hint = did_you_mean(&closest(&key, Column::KEYS));
            at(
                header.span().start,
                format!("unknown report column `{key}` in [report.headers]{hint}"),
            )
        })?;
        let Some(spec) = specs.iter_mut().find(|s| s.column == column) else {
            return Err(at(
                header.span().start,
                format!(
                    "[report.headers] renames `{key}`, which is not among the report's columns"
                ),
            ));
        };
        spec.header = header.into_inner();
    }
    if specs.is_empty() {
        return Err(at(
            0,
            "[report] columns must name at least one column".to_string(),
        ));
    }
    Ok(specs)
}
