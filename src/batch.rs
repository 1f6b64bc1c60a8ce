//! Batch runs (SPEC §8): a TOML file names the events, the reports (agents × dates ×
//! zones) and where they go; the events are read once and every report is authorised,
//! built and written atomically to `OUT_DIR/<login>/<date>_<zone with / as ->.<ext>`
//! (summaries to `….summary.<ext>`), then listed in `OUT_DIR/manifest.json` and, when the
//! batch has HTML output, in the page `OUT_DIR/index.html`.
//!
//! Parsing turns the file into a validated [`Batch`] (paths resolved against the file's
//! directory, dates and zones checked, with `file:line:col` errors). Running expands it
//! against the agents in the events into [`Job`]s and produces them, one agent's reports at
//! a time on the worker threads. A denied or failed report never stops the others.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use chrono_tz::Tz;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::access::Request;
use crate::classify::Labels;
use crate::config::{Paths, column_keys, normalize};
use crate::diagnostic::Located;
use crate::error::Error;
use crate::generation::Generation;
use crate::reduce::reduce;
use crate::report;
use crate::report::csv::Column;
use crate::report::{Format, Kind};
use crate::store::{Agent, Store};
use crate::time::Window;
use crate::time::parse_timezone;

/// One of N machines' share of a batch: the agents whose ARN hashes to `index` (0-based,
/// as Kubernetes Indexed Jobs and AWS Batch array jobs number their tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// `K/N` with `0 <= K < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: expected K/N with 0 <= K < N, such as 0/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(format!("{} (shards count from 0)", bad()));
        }
        Ok(Shard { index, count })
    }

    /// Whether the agent (by ARN, or by login when it is not in the events) is this
    /// shard's. The hash is stable across machines and versions (xxh3).
    pub fn owns(&self, key: &str) -> bool {
        xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % self.count == self.index
    }

    /// `name` with `-K-of-N` before its extension, so shards sharing an output directory
    /// do not overwrite each other's manifest.
    pub fn file_name(shard: Option<Shard>, stem: &str, ext: &str) -> String {
        match shard {
            None => format!("{stem}.{ext}"),
            Some(s) => format!("{stem}-{}-of-{}.{ext}", s.index, s.count),
        }
    }
}

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
    dates: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    from: Option<Spanned<String>>,
    #[serde(default)]
    to: Option<Spanned<String>>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
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
        let zone =
            |z: &Spanned<String>| parse_timezone(z.get_ref()).map_err(|e| at(z.span().start, e));
        let format = |f: &Spanned<String>| {
            f.get_ref()
                .parse::<Format>()
                .map_err(|e| at(f.span().start, e))
        };
        let kind = |k: &Spanned<String>| {
            k.get_ref()
                .parse::<Kind>()
                .map_err(|e| at(k.span().start, e))
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
            let date = |d: &Spanned<String>| {
                crate::time::parse_date(d.get_ref()).map_err(|e| at(d.span().start, e))
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
            let timezone = match (&r.timezone, default_zone) {
                (Some(z), _) => zone(z)?,
                (None, Some(z)) => z,
                (None, None) => {
                    return Err(at(
                        start,
                        "no time zone: set `timezone` in the batch or in this [[report]]"
                            .to_string(),
                    ));
                }
            };
            let format = r
                .format
                .as_ref()
                .map(format)
                .transpose()?
                .unwrap_or(default_format);
            let kind = r
                .kind
                .as_ref()
                .map(kind)
                .transpose()?
                .unwrap_or(default_kind);
            entries.push(Entry {
                agents,
                dates,
                timezone,
                format,
                kind,
            });
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

    /// Every report the batch asks for, given the agents in the events, without repeats;
    /// with a shard, only that shard's agents.
    pub fn jobs(&self, ingested: &Store, shard: Option<Shard>) -> Vec<Job> {
        // `*`: every agent, by login where the login is theirs alone, else by ARN (an
        // agent whose events carry no login, or a login two ARNs share).
        // Logins that differ only in case name one person (`crate::login`).
        let mut login_count: HashMap<String, usize> = HashMap::new();
        for a in &ingested.agents {
            *login_count
                .entry(crate::login::key(&a.profile.login))
                .or_insert(0) += 1;
        }
        let mut all_agents: Vec<&str> = ingested
            .agents
            .iter()
            .map(|a| {
                let login = a.profile.login.as_str();
                if !login.is_empty() && login_count.get(&crate::login::key(login)) == Some(&1) {
                    login
                } else {
                    a.arn.as_str()
                }
            })
            .collect();
        all_agents.sort_unstable();
        let mut seen = BTreeSet::new();
        let mut jobs = Vec::new();
        for entry in &self.entries {
            let agents: Vec<String> = match &entry.agents {
                Agents::All => all_agents.iter().map(|s| s.to_string()).collect(),
                Agents::List(list) => list.clone(),
            };
            for agent in &agents {
                if let Some(shard) = shard {
                    let key = ingested
                        .find_agent(agent)
                        .map(|a| a.arn.as_str())
                        .unwrap_or(agent);
                    if !shard.owns(key) {
                        continue;
                    }
                }
                for date in &entry.dates {
                    let path = self.out_dir.join(output_name(
                        agent,
                        *date,
                        entry.timezone,
                        entry.kind,
                        entry.format,
                    ));
                    if seen.insert(path.clone()) {
                        jobs.push(Job {
                            agent: agent.clone(),
                            date: *date,
                            timezone: entry.timezone,
                            format: entry.format,
                            kind: entry.kind,
                            path,
                            columns: self.columns.clone(),
                        });
                    }
                }
            }
        }
        jobs
    }
}

/// `<login>/<date>_<zone with / as ->.<ext>` (`….summary.<ext>` for a summary), with the
/// login escaped by [`login_dir`].
pub fn output_name(agent: &str, date: NaiveDate, tz: Tz, kind: Kind, format: Format) -> PathBuf {
    let ext = format.extension();
    let kind = match kind {
        Kind::Audit => "",
        Kind::Summary => ".summary",
    };
    PathBuf::from(login_dir(agent)).join(format!(
        "{}_{}{kind}.{ext}",
        date.format("%Y-%m-%d"),
        tz.name().replace('/', "-")
    ))
}

/// The directory name of a login under `OUT_DIR`, one to one: `%` and every character a
/// path or a shell would read specially (`/`, `\`, `:`, `*`, `?`, `"`, `<`, `>`, `|`,
/// controls) is written as `%XX` (its UTF-8 bytes in hex), as is a leading `.` (no `..`,
/// no hidden names, no clash with the `.agent-audit-*` temporary files) and the first
/// letter of a name the batch itself writes there (`manifest.json`, `index.html`). Because
/// `%` is always escaped, two logins never share a directory: `a/b` is `a%2Fb`, `a_b`
/// stays `a_b`, `..` is `%2E.`, `_..` stays `_..`.
pub fn login_dir(login: &str) -> String {
    let mut out = String::with_capacity(login.len());
    for (i, c) in login.chars().enumerate() {
        let special = matches!(
            c,
            '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
        ) || c.is_control()
            || (i == 0 && c == '.');
        if special {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        // An empty login never names an agent (they go by ARN), but must name a directory;
        // a lone `%` is no escape, so no other login gets it.
        return "%".to_string();
    }
    if is_batch_file_name(&out) {
        let first = out.remove(0);
        out.insert_str(0, &format!("%{:02X}", u32::from(first)));
    }
    out
}

/// Whether a name is one the batch writes in `OUT_DIR` itself: the manifest and index
/// page, with or without a shard suffix, in any letter case (some file systems ignore it).
fn is_batch_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["manifest", "index"].iter().any(|stem| {
        lower
            .strip_prefix(stem)
            .is_some_and(|rest| rest.ends_with(".json") || rest.ends_with(".html"))
    })
}

/// One report to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub agent: String,
    pub date: NaiveDate,
    pub timezone: Tz,
    pub format: Format,
    pub kind: Kind,
    pub path: PathBuf,
    /// The batch's own columns, if it sets them.
    pub columns: Option<Arc<[Column]>>,
}

/// What became of one job, or (`Removed`) of a report an earlier run wrote that this one
/// no longer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Written,
    Denied,
    Failed,
    Removed,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Written => "written",
            Status::Denied => "denied",
            Status::Failed => "failed",
            Status::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "written" => Status::Written,
            "denied" => Status::Denied,
            "failed" => Status::Failed,
            "removed" => Status::Removed,
            _ => return None,
        })
    }
}

/// One line of the manifest and of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub file: String,
    pub agent: String,
    pub date: String,
    pub timezone: String,
    /// `audit` or `summary`.
    pub kind: &'static str,
    /// Not in the manifest (the file's extension says it); decides the index page.
    #[serde(skip)]
    pub format: Format,
    pub status: Status,
    /// Why it was denied, failed or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a report denied or failed this time: that the file an earlier generation wrote
    /// under its name was deleted (`out_dir` holds only what this generation writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
    /// A report written: its size and SHA-256 (hex), which `merge` and `verify` check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The write failed (not the report): `watch` tries it again.
    #[serde(skip)]
    pub write_failed: bool,
    pub warnings: Vec<String>,
    /// What part of its day the agent's events cover (SPEC §5), for a report written: CSV
    /// reports have no room for it, so the manifest carries it for every report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<ManifestCoverage>,
    /// The generation that produced it.
    pub configuration: String,
}

/// A report's coverage in the manifest: as in a JSON report, in the report's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ManifestCoverage {
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub events_in_window: usize,
    /// Whether the agent's events span the whole day (no row is inferred beyond them).
    pub spans_day: bool,
}

impl ManifestCoverage {
    fn of(coverage: &report::Coverage, tz: chrono_tz::Tz) -> ManifestCoverage {
        ManifestCoverage {
            first_event: coverage.first_event.map(|t| t.format_local(tz)),
            last_event: coverage.last_event.map(|t| t.format_local(tz)),
            events_in_window: coverage.events_in_window,
            spans_day: coverage.spans(),
        }
    }
}

/// Counts for a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub denied: usize,
    pub failed: usize,
    /// Reports an earlier run wrote that this one deleted (denied now, failed now, or no
    /// longer asked for).
    pub removed: usize,
    /// Distinct warning messages, with how many reports carried each.
    pub warnings: BTreeMap<String, usize>,
    /// CSV reports written whose events do not span their whole day (the rows outside the
    /// span are inferred); a JSON or HTML report says so itself.
    pub partial_csv: usize,
}

impl Summary {
    /// The counts of `outcomes`.
    pub fn of(outcomes: &[Outcome]) -> Summary {
        let mut summary = Summary::default();
        for o in outcomes {
            summary.add(o);
        }
        summary
    }

    pub fn ok(&self) -> bool {
        self.denied == 0 && self.failed == 0
    }

    /// The run's result: an error (exit 1) when any report was denied or failed.
    pub fn result(&self) -> Result<(), Error> {
        if self.ok() {
            Ok(())
        } else {
            Err(Error::BatchIncomplete {
                denied: self.denied,
                failed: self.failed,
            })
        }
    }

    pub(crate) fn add(&mut self, outcome: &Outcome) {
        match outcome.status {
            Status::Written => self.written += 1,
            Status::Denied => self.denied += 1,
            Status::Failed => self.failed += 1,
            Status::Removed => self.removed += 1,
        }
        if outcome.removed.is_some() {
            self.removed += 1;
        }
        for w in &outcome.warnings {
            *self.warnings.entry(w.clone()).or_insert(0) += 1;
        }
        if outcome.format == Format::Csv
            && outcome.kind == "audit"
            && outcome
                .coverage
                .as_ref()
                .is_some_and(|c| c.events_in_window > 0 && !c.spans_day)
        {
            self.partial_csv += 1;
        }
    }
}

/// Produces `jobs`, calling `progress` after each. Returns the outcomes in job order.
pub fn produce(
    generation: &Generation,
    store: &Store,
    labels: &Labels,
    requester: Option<&str>,
    jobs: &[Job],
    command: &str,
    progress: &(dyn Fn() + Sync),
) -> (Vec<Outcome>, Summary) {
    // Group by agent so each timeline is built once.
    let mut by_agent: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        by_agent.entry(job.agent.as_str()).or_default().push(i);
    }
    let groups: Vec<(&str, Vec<usize>)> = by_agent.into_iter().collect();
    let slots: Vec<Mutex<Option<Outcome>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    groups.par_iter().for_each(|(agent, indices)| {
        let found = store.find_agent(agent);
        let timeline = found
            .as_ref()
            .ok()
            .map(|a| reduce(store, a, labels, generation.config.stale_after_ms));
        for &i in indices {
            let job = &jobs[i];
            let outcome = match &found {
                Err(e) => failed(job, generation, e.to_string()),
                Ok(a) => one(
                    (generation, store, labels),
                    requester,
                    job,
                    a,
                    timeline.as_ref(),
                    command,
                ),
            };
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(outcome);
            }
            progress();
        }
    });
    let outcomes: Vec<Outcome> = slots
        .into_iter()
        .zip(jobs)
        .map(|(slot, job)| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| failed(job, generation, "not produced".to_string()))
        })
        .collect();
    let summary = Summary::of(&outcomes);
    (outcomes, summary)
}

fn failed(job: &Job, generation: &Generation, reason: String) -> Outcome {
    outcome(job, generation, Status::Failed, Some(reason), Vec::new())
}

fn outcome(
    job: &Job,
    generation: &Generation,
    status: Status,
    reason: Option<String>,
    warnings: Vec<String>,
) -> Outcome {
    Outcome {
        file: job.path.display().to_string(),
        agent: job.agent.clone(),
        date: job.date.format("%Y-%m-%d").to_string(),
        timezone: job.timezone.name().to_string(),
        kind: job.kind.as_str(),
        format: job.format,
        status,
        reason,
        removed: None,
        bytes: None,
        sha256: None,
        write_failed: false,
        warnings,
        coverage: None,
        configuration: generation.hash.clone(),
    }
}

/// Authorises, builds and writes one report.
fn one(
    (generation, store, labels): (&Generation, &Store, &Labels),
    requester: Option<&str>,
    job: &Job,
    agent: &Agent,
    timeline: Option<&crate::reduce::Timeline>,
    command: &str,
) -> Outcome {
    let request = Request::for_agent(requester, agent, job.date, job.timezone);
    let decision = match generation.decide(&request, command) {
        Ok(d) => d,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    if !decision.allowed {
        let reason = format!("{} (decided by {})", decision.reason, decision.rule);
        return outcome(job, generation, Status::Denied, Some(reason), Vec::new());
    }
    let (Some(timeline), Some(window)) = (timeline, Window::local_day(job.date, job.timezone))
    else {
        return failed(job, generation, "date out of range".to_string());
    };
    let catalog = &generation.classifier.catalog;
    let classes = &labels.classes;
    let mut report = match report::for_agent(agent, timeline, store, classes, catalog, window) {
        Ok(r) => r,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    report.configuration = generation.hash.clone();
    let configured = &generation.config.columns;
    let own;
    let columns = match &job.columns {
        Some(columns) => {
            own = crate::config::headed(columns, configured);
            &own
        }
        None => configured,
    };
    let bytes = match report::render(&report, job.kind, job.format, columns) {
        Ok(b) => b,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    match crate::output::write_unsynced(&job.path, &bytes) {
        Ok(()) => Outcome {
            coverage: Some(ManifestCoverage::of(&report.coverage, job.timezone)),
            bytes: Some(bytes.len() as u64),
            sha256: Some(sha256_hex(&bytes)),
            ..outcome(job, generation, Status::Written, None, report.warnings)
        },
        Err(e) => Outcome {
            write_failed: true,
            ..failed(
                job,
                generation,
                format!("cannot write `{}`: {e}", job.path.display()),
            )
        },
    }
}

/// A manifest's head: the configuration every report was made with, and the identity of
/// the run (the configuration and what the batch asks for), which the manifests of one
/// run's shards share and `merge` checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub configuration: String,
    #[serde(default)]
    pub run: String,
}

/// Writes `OUT_DIR/manifest.json`: every report of the batch, in file order, with its status
/// and the generation that produced it (CSV and JSON reports have no room for it
/// themselves); and, when any report is HTML, the page `OUT_DIR/index.html` that links them
/// all. File order is what shards' manifests merge into (`merge`) and what `watch` keeps.
pub fn write_manifest(
    out_dir: &Path,
    head: &RunInfo,
    outcomes: &[Outcome],
    shard: Option<Shard>,
) -> Result<(), Error> {
    #[derive(Serialize)]
    struct Manifest<'a> {
        configuration: &'a str,
        run: &'a str,
        reports: &'a [Outcome],
    }
    let path = crate::output::join(out_dir, &Shard::file_name(shard, "manifest", "json"));
    let write_error = |source| Error::Write {
        path: path.display().to_string(),
        source,
    };
    // The reports were written without waiting for the disk: one sync makes them all
    // durable before the manifest that lists them is written.
    crate::output::sync_dir(out_dir).map_err(write_error)?;
    let mut sorted = outcomes.to_vec();
    sorted.sort_by(|a, b| a.file.cmp(&b.file));
    let mut bytes = serde_json::to_vec_pretty(&Manifest {
        configuration: &head.configuration,
        run: &head.run,
        reports: &sorted,
    })
    .map_err(|e| write_error(e.into()))?;
    bytes.push(b'\n');
    crate::output::write_atomically(&path, &bytes).map_err(write_error)?;
    if outcomes.iter().any(|o| o.format == Format::Html) {
        write_index(out_dir, &head.configuration, outcomes, shard)?;
    }
    Ok(())
}

/// A manifest read back: by `merge`, and by the next run into the same `out_dir`.
#[derive(Debug)]
pub struct Manifest {
    pub head: RunInfo,
    pub reports: Vec<Outcome>,
}

#[derive(Deserialize)]
struct ManifestFile {
    #[serde(flatten)]
    head: RunInfo,
    reports: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    agent: String,
    date: String,
    timezone: String,
    kind: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    removed: Option<String>,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    coverage: Option<ManifestCoverage>,
    configuration: String,
}

impl Manifest {
    /// Parses a manifest as [`write_manifest`] writes it.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let file: ManifestFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let reports = file
            .reports
            .into_iter()
            .map(ManifestEntry::into_outcome)
            .collect::<Result<_, _>>()?;
        Ok(Manifest {
            head: file.head,
            reports,
        })
    }

    /// The manifest at `path`, `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Manifest>, String> {
        match crate::output::read(path) {
            Ok(bytes) => Manifest::parse(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl ManifestEntry {
    fn into_outcome(self) -> Result<Outcome, String> {
        let kind = match self.kind.as_str() {
            "audit" => "audit",
            "summary" => "summary",
            other => return Err(format!("unknown report kind `{other}`")),
        };
        let status = Status::parse(&self.status)
            .ok_or_else(|| format!("unknown report status `{}`", self.status))?;
        let format = match Path::new(&self.file).extension().and_then(|x| x.to_str()) {
            Some("html") => Format::Html,
            Some("json") => Format::Json,
            _ => Format::Csv,
        };
        Ok(Outcome {
            file: self.file,
            agent: self.agent,
            date: self.date,
            timezone: self.timezone,
            kind,
            format,
            status,
            reason: self.reason,
            removed: self.removed,
            bytes: self.bytes,
            sha256: self.sha256,
            write_failed: false,
            warnings: self.warnings,
            coverage: self.coverage,
            configuration: self.configuration,
        })
    }
}

/// The SHA-256 of a report's bytes, in hex, as the manifest carries it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes `out_dir` hold exactly what this generation wrote (`outcomes`): every report the
/// `previous` manifest of that `out_dir` names, that is still there and that this
/// generation does not write — denied now, failed now, no longer asked for, or of an agent
/// whose events are gone — is deleted. A report this generation denied or failed gets
/// `removed` saying so; a report no longer asked for is added as a `removed` line with the
/// reason. Nothing the previous manifest does not name is ever touched, nor anything it
/// names outside `out_dir` or not shaped like a report. Returns warnings to print.
pub fn reconcile(
    out_dir: &Path,
    batch: &Batch,
    previous: &[Outcome],
    outcomes: &mut Vec<Outcome>,
    configuration: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let index: HashMap<String, usize> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.file.clone(), i))
        .collect();
    let mut added = Vec::new();
    for old in previous {
        let now = index.get(&old.file).map(|&i| &outcomes[i]);
        if now.is_some_and(|o| o.status == Status::Written) {
            continue;
        }
        if old.status == Status::Removed {
            continue;
        }
        let path = PathBuf::from(&old.file);
        if !is_report_of(out_dir, &path) {
            warnings.push(format!(
                "the previous manifest names `{}`, which is not a report in `{}`: left alone",
                old.file,
                out_dir.display()
            ));
            continue;
        }
        // A local report that is not there (never written, or deleted by hand) needs no
        // removal; on S3 a delete of a missing object is harmless.
        let local = !crate::s3::is_s3(&path);
        if local && std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        if old.status != Status::Written && !local {
            continue;
        }
        if let Err(e) = crate::output::remove(&path) {
            warnings.push(format!(
                "cannot remove `{}`, which this generation does not write: {e}",
                old.file
            ));
            continue;
        }
        let by = &old.configuration;
        match now {
            Some(o) => {
                let i = index[&old.file];
                let why = format!(
                    "the report written before (configuration {by}) was deleted: this generation {} it",
                    if o.status == Status::Denied {
                        "denies"
                    } else {
                        "failed to write"
                    }
                );
                outcomes[i].removed = Some(why);
            }
            None => {
                let reason = if batch.asks_all_agents_for(old) {
                    "the agent has no events any more".to_string()
                } else {
                    "no longer asked for by the batch".to_string()
                };
                added.push(Outcome {
                    status: Status::Removed,
                    reason: Some(format!(
                        "{reason}: the report written before (configuration {by}) was deleted"
                    )),
                    removed: None,
                    bytes: None,
                    sha256: None,
                    write_failed: false,
                    warnings: Vec::new(),
                    coverage: None,
                    configuration: configuration.to_string(),
                    ..old.clone()
                });
            }
        }
    }
    outcomes.extend(added);
    warnings
}

/// Whether `path` has the shape of a report under `out_dir`: `OUT_DIR/<login>/<name>.<ext>`
/// with a report's extension, no `.` or `..` anywhere, and (locally) a regular file, not a
/// symlink or a directory.
fn is_report_of(out_dir: &Path, path: &Path) -> bool {
    let (dir, file) = (out_dir.to_string_lossy(), path.to_string_lossy());
    let Some(rest) = file.strip_prefix(dir.trim_end_matches('/')) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('/') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [login, name] = parts.as_slice() else {
        return false;
    };
    let plain = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\\');
    let shaped = plain(login)
        && plain(name)
        && !name.starts_with('.')
        && [".csv", ".json", ".html"].iter().any(|e| name.ends_with(e));
    if !shaped {
        return false;
    }
    crate::s3::is_s3(path)
        || std::fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_file())
}

/// Writes `OUT_DIR/index.html`: every report of the batch by agent, date, zone and kind,
/// with its status and, when it was written, a link to it relative to the page.
pub fn write_index(
    out_dir: &Path,
    hash: &str,
    outcomes: &[Outcome],
    shard: Option<Shard>,
) -> Result<(), Error> {
    let path = crate::output::join(out_dir, &Shard::file_name(shard, "index", "html"));
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.agent, &a.date, &a.timezone, a.kind, &a.file).cmp(&(
            &b.agent,
            &b.date,
            &b.timezone,
            b.kind,
            &b.file,
        ))
    });
    let items: Vec<report::html::IndexItem<'_>> = sorted
        .iter()
        .map(|o| {
            let href = (o.status == Status::Written).then(|| {
                let relative = Path::new(&o.file)
                    .strip_prefix(out_dir)
                    .unwrap_or(Path::new(&o.file));
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            });
            let status = o.status.as_str();
            let note = match (&o.reason, o.warnings.len()) {
                (Some(reason), _) => reason.clone(),
                (None, 0) => String::new(),
                (None, _) => o.warnings.join("; "),
            };
            report::html::IndexItem {
                agent: &o.agent,
                date: &o.date,
                timezone: &o.timezone,
                kind: o.kind,
                status,
                href,
                note,
            }
        })
        .collect();
    let page = report::html::index(hash, &items);
    crate::output::write_atomically(&path, page.as_bytes()).map_err(|source| Error::Write {
        path: path.display().to_string(),
        source,
    })
}
