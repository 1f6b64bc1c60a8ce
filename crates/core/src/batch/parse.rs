//! The batch file, parsed once into a validated [`Batch`]: paths resolved against the
//! file's directory, dates, zones, formats and kinds checked, each error at its
//! `file:line:col`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::Outcome;
use crate::config::{Paths, column_keys, normalize};
use crate::diagnostic::Located;
use crate::report::columns::Column;
use crate::report::{Format, Kind};
use crate::time::parse_timezone;

/// Which agents an entry covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agents {
    /// `["*"]`: every agent found in the events.
    All,
    List(Vec<String>),
}

/// One `[[report]]` entry, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub agents: Agents,
    pub dates: Vec<NaiveDate>,
    pub timezone: Tz,
    pub format: Format,
    pub kind: Kind,
}

/// A validated batch file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub file: PathBuf,
    pub events: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub requester: Option<String>,
    /// The configuration the batch names (`--config` wins over it).
    pub config: Option<PathBuf>,
    /// The CSV and HTML columns of this batch's audits, instead of the configuration's
    /// (whose `[report.headers]` still name them).
    pub columns: Option<Arc<[Column]>>,
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchToml {
    events: Spanned<Paths>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    out_dir: String,
    #[serde(default)]
    requester: Option<String>,
    #[serde(default)]
    config: Option<String>,
    #[serde(default)]
    columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    report: Vec<Spanned<ReportToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportToml {
    agents: Spanned<Vec<String>>,
    #[serde(default)]
    dates: Option<Vec<Spanned<DateText>>>,
    #[serde(default)]
    from: Option<Spanned<DateText>>,
    #[serde(default)]
    to: Option<Spanned<DateText>>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    /// Fan-out: every zone, format and kind listed (the product of the lists), instead of
    /// one `timezone`, `format` or `kind`.
    #[serde(default)]
    timezones: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    formats: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    kinds: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One value or a fan-out list of an entry's key: `key` or `keys`, not both, and a list
/// not empty; `None` when neither is given.
fn one_or_many<'a>(
    one: &'a Option<Spanned<String>>,
    many: &'a Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
    at: &dyn Fn(usize, String) -> Located,
) -> Result<Option<Vec<&'a Spanned<String>>>, Located> {
    match (one, many) {
        (Some(_), Some(list)) => Err(at(
            list.span().start,
            format!("give `{key}` or `{key}s`, not both"),
        )),
        (Some(v), None) => Ok(Some(vec![v])),
        (None, Some(list)) if list.get_ref().is_empty() => Err(at(
            list.span().start,
            format!("`{key}s` lists nothing: give at least one, or leave it out"),
        )),
        (None, Some(list)) => Ok(Some(list.get_ref().iter().collect())),
        (None, None) => Ok(None),
    }
}

/// A date as a batch file may write it: a string (`"2026-11-02"`, checked later) or a bare
/// TOML date (`2026-11-02`), which people write as naturally; anything else is refused
/// with what is expected.
struct DateText(String);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DateText, D::Error> {
        use serde::de::{Error, Unexpected};
        const EXPECTED: &str = "a date (\"YYYY-MM-DD\", or a bare TOML date)";
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Ok(DateText(s)),
            toml::Value::Datetime(t) => match (t.date, t.time, t.offset) {
                (Some(date), None, None) => Ok(DateText(date.to_string())),
                _ => Err(D::Error::custom(format!(
                    "`{t}` is a date and time; a report is of a whole local day, so give the date \
                     alone (YYYY-MM-DD)"
                ))),
            },
            toml::Value::Integer(i) => {
                Err(D::Error::invalid_type(Unexpected::Signed(i), &EXPECTED))
            }
            toml::Value::Float(f) => Err(D::Error::invalid_type(Unexpected::Float(f), &EXPECTED)),
            toml::Value::Boolean(b) => Err(D::Error::invalid_type(Unexpected::Bool(b), &EXPECTED)),
            toml::Value::Array(_) => Err(D::Error::invalid_type(Unexpected::Seq, &EXPECTED)),
            toml::Value::Table(_) => Err(D::Error::invalid_type(Unexpected::Map, &EXPECTED)),
        }
    }
}

/// The longest date range one entry may ask for (ten years).
const MAX_DAYS: i64 = 3660;

impl Batch {
    pub fn load(path: &Path) -> Result<Batch, Located> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Located::new(&name, 1, 1, format!("cannot read the batch file: {e}")))?;
        Batch::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Batch, Located> {
        let name = path.display().to_string();
        let at = |offset: usize, msg: String| Located::at_offset(&name, text, offset, msg);
        let raw: BatchToml =
            toml::from_str(text).map_err(|e| Located::from_toml(&name, text, &e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &str| normalize(&base.join(p));

        let events_at = raw.events.span().start;
        let events: Vec<PathBuf> = raw.events.into_inner().resolve(&base);
        if events.is_empty() {
            return Err(at(
                events_at,
                "`events` names no files or directories".to_string(),
            ));
        }
        let zone = |z: &Spanned<String>| {
            parse_timezone(z.get_ref()).map_err(|e| at(z.span().start, e.to_string()))
        };
        let format = |f: &Spanned<String>| {
            f.get_ref()
                .parse::<Format>()
                .map_err(|e| at(f.span().start, e.to_string()))
        };
        let kind = |k: &Spanned<String>| {
            k.get_ref()
                .parse::<Kind>()
                .map_err(|e| at(k.span().start, e.to_string()))
        };
        let default_kind = raw.kind.as_ref().map(kind).transpose()?.unwrap_or_default();
        let default_zone = raw.timezone.as_ref().map(zone).transpose()?;
        let default_format = raw
            .format
            .as_ref()
            .map(format)
            .transpose()?
            .unwrap_or(Format::Csv);
        if raw.report.is_empty() {
            return Err(Located::new(
                &name,
                1,
                1,
                "a batch needs at least one [[report]]",
            ));
        }
        let mut entries = Vec::new();
        for entry in raw.report {
            let start = entry.span().start;
            let r = entry.into_inner();
            let agents_at = r.agents.span().start;
            let list = r.agents.into_inner();
            let agents = if list.iter().any(|a| a == "*") {
                if list.len() > 1 {
                    return Err(at(
                        agents_at,
                        "`*` already means every agent; list no others with it".to_string(),
                    ));
                }
                Agents::All
            } else if list.is_empty() {
                return Err(at(
                    agents_at,
                    "`agents` is empty: name agents, or `[\"*\"]` for all".to_string(),
                ));
            } else {
                Agents::List(list)
            };
            let date = |d: &Spanned<DateText>| {
                crate::time::parse_date(&d.get_ref().0)
                    .map_err(|e| at(d.span().start, e.to_string()))
            };
            let dates = match (&r.dates, &r.from, &r.to) {
                (Some(list), None, None) if !list.is_empty() => {
                    list.iter().map(date).collect::<Result<Vec<_>, _>>()?
                }
                (None, Some(from), Some(to)) => {
                    let (a, b) = (date(from)?, date(to)?);
                    if b < a {
                        return Err(at(
                            to.span().start,
                            format!("`to` ({b}) is before `from` ({a})"),
                        ));
                    }
                    if (b - a).num_days() >= MAX_DAYS {
                        return Err(at(
                            to.span().start,
                            format!("a range of more than {MAX_DAYS} days"),
                        ));
                    }
                    a.iter_days().take_while(|d| *d <= b).collect()
                }
                _ => {
                    return Err(at(
                        start,
                        "a [[report]] needs either `dates = [...]` or both `from` and `to`"
                            .to_string(),
                    ));
                }
            };
            let timezones = match (
                one_or_many(&r.timezone, &r.timezones, "timezone", &at)?,
                default_zone,
            ) {
                (Some(list), _) => list.into_iter().map(zone).collect::<Result<Vec<_>, _>>()?,
                (None, Some(z)) => vec![z],
                (None, None) => {
                    return Err(at(
                        start,
                        "no time zone: set `timezone` in the batch or in this [[report]]"
                            .to_string(),
                    ));
                }
            };
            let formats = match one_or_many(&r.format, &r.formats, "format", &at)? {
                Some(list) => list
                    .into_iter()
                    .map(format)
                    .collect::<Result<Vec<_>, _>>()?,
                None => vec![default_format],
            };
            let kinds = match one_or_many(&r.kind, &r.kinds, "kind", &at)? {
                Some(list) => list.into_iter().map(kind).collect::<Result<Vec<_>, _>>()?,
                None => vec![default_kind],
            };
            // A fan-out is the entries it stands for, written out.
            for &timezone in &timezones {
                for &format in &formats {
                    for &kind in &kinds {
                        entries.push(Entry {
                            agents: agents.clone(),
                            dates: dates.clone(),
                            timezone,
                            format,
                            kind,
                        });
                    }
                }
            }
        }
        let columns = match &raw.columns {
            None => None,
            Some(keys) if keys.is_empty() => {
                return Err(Located::new(
                    &name,
                    1,
                    1,
                    "`columns` must name at least one column",
                ));
            }
            Some(keys) => Some(column_keys(keys, &at)?.into()),
        };
        Ok(Batch {
            file: path.to_path_buf(),
            events,
            out_dir: if crate::s3::is_s3(Path::new(&raw.out_dir)) {
                PathBuf::from(raw.out_dir.trim_end_matches('/'))
            } else {
                resolve(&raw.out_dir)
            },
            requester: raw.requester,
            config: raw.config.as_deref().map(resolve),
            columns,
            entries,
        })
    }

    /// Whether an entry asking for every agent would have made `report` (its date, zone,
    /// kind and format): then a report of it that is no longer made is one whose agent's
    /// events are gone.
    pub fn asks_all_agents_for(&self, report: &Outcome) -> bool {
        self.entries.iter().any(|e| {
            e.agents == Agents::All
                && e.timezone.name() == report.timezone
                && e.kind.as_str() == report.kind
                && e.format == report.format
                && e.dates
                    .iter()
                    .any(|d| d.format("%Y-%m-%d").to_string() == report.date)
        })
    }

    /// The run's identity: the configuration hash and everything the batch asks for
    /// (events, entries, columns, requester), in a stable form: not the output directory
    /// nor the shard, so the shards of one run share it with each other and with the run on
    /// one machine, whose manifest their merge reproduces. `merge` refuses manifests of
    /// different runs.
    pub fn identity(&self, configuration: &str) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut feed = |s: &str| {
            h.update(s.as_bytes());
            h.update([0]);
        };
        feed(configuration);
        for e in &self.events {
            feed(&e.to_string_lossy());
        }
        feed(self.requester.as_deref().unwrap_or(""));
        if let Some(columns) = &self.columns {
            for c in columns.iter() {
                feed(&format!("{c:?}"));
            }
        }
        for e in &self.entries {
            match &e.agents {
                Agents::All => feed("*"),
                Agents::List(list) => feed(&list.join("\u{1}")),
            }
            for d in &e.dates {
                feed(&d.format("%Y-%m-%d").to_string());
            }
            feed(e.timezone.name());
            feed(e.format.extension());
            feed(e.kind.as_str());
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether every entry asks for all agents (then a shard may pass over other shards'
    /// records unparsed: no listed agent can be mistaken for a missing one).
    pub fn all_agents_only(&self) -> bool {
        self.entries.iter().all(|e| e.agents == Agents::All)
    }
}
