//! Segments → one agent's rows for one local day, and the rendered report.
//!
//! A day's rows are the agent's segments clipped to the day's window (SPEC §3.5), flagged
//! `continued`, `truncated`, `open` and `gap`. Rendering lives in one module per format
//! (`csv`, `json`, `html`) and the time-in-status summary in `summary`; all of them read the
//! same [`Report`], so the formats and kinds cannot disagree. [`render`] is the one dispatch.

pub mod columns;
pub mod csv;
pub mod html;
pub mod json;
pub mod summary;

use std::io::{self, Write};
use std::path::Path;

use crate::catalog::Catalog;
use crate::classify::{ClassId, Classes};
use crate::diagnostic::Unknown;
use crate::reduce::{Cause, Timeline};
use crate::store::{Agent, AgentProfile, Store};
use crate::time::{Timestamp, Window};

/// Output formats of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, one row per status.
    Csv,
    /// One JSON document with the rows (each with its lineage: events, first_event_id, rule)
    /// and any warnings.
    Json,
    /// One self-contained HTML page: a timeline of the day and the table (no network).
    Html,
}

impl Format {
    /// Every format, by the name it is asked for with.
    pub const NAMES: [&'static str; 3] = ["csv", "json", "html"];

    /// The file extension of a report in this format (also its name).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Unknown;

    fn from_str(s: &str) -> Result<Format, Unknown> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            other => Err(Unknown::new("format", other, &Format::NAMES)),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

/// What a report says about the agent's day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// The activity audit: one row per status period, with start, end, duration and flags.
    #[default]
    Audit,
    /// Time in each status, with productive, non-productive, online and after contact work
    /// totals, computed from the audit's rows.
    Summary,
}

impl Kind {
    /// Every kind, by the name it is asked for with.
    pub const NAMES: [&'static str; 2] = ["audit", "summary"];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Audit => "audit",
            Kind::Summary => "summary",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = Unknown;

    fn from_str(s: &str) -> Result<Kind, Unknown> {
        match s {
            "audit" => Ok(Kind::Audit),
            "summary" => Ok(Kind::Summary),
            other => Err(Unknown::new("report kind", other, &Kind::NAMES)),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Row flags, printed in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// The row's segment began before the window: the row starts at 00:00.
    pub const CONTINUED: Flags = Flags(1);
    /// The row's segment ends after the window, or has no end: the row ends at midnight.
    pub const TRUNCATED: Flags = Flags(2);
    /// The data ended while the agent was logged in (the last, not-offline segment).
    pub const OPEN: Flags = Flags(4);
    /// Two consecutive events inside the row are further apart than `stale_after`.
    pub const GAP: Flags = Flags(8);

    const NAMES: [(Flags, &'static str); 4] = [
        (Flags::CONTINUED, "continued"),
        (Flags::TRUNCATED, "truncated"),
        (Flags::OPEN, "open"),
        (Flags::GAP, "gap"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn names(self) -> Vec<&'static str> {
        Flags::NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// One row of the audit report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub status: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub flags: Flags,
    /// Channel and contact id when a contact decided the status.
    pub contact: Option<(String, String)>,
    /// The label comes from an OFFLINE-type status (the agent was not logged in).
    pub offline: bool,
    /// The classification behind the row.
    pub class: ClassId,
    /// Lineage (SPEC §3.8): the agent's events inside the row (clipped to the day, so a
    /// day's counts add up to its events), the event whose snapshot gave the label, its
    /// `EventId` (set by [`for_agent`], which has the store) and the rule that decided.
    pub events: usize,
    pub cause: Cause,
    pub first_event_id: Option<String>,
    pub rule: String,
    /// The row's segment in the agent's timeline.
    pub segment: usize,
}

impl Row {
    pub fn duration_ms(&self) -> i64 {
        self.end.0 - self.start.0
    }
}

/// What the catalogue says about one label shown in a report: how to draw it and how to
/// count it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    pub label: String,
    /// Whether the catalogue defines the label (else it is an undefined custom status).
    pub defined: bool,
    /// `#rrggbb` from the definition.
    pub color: Option<String>,
    /// The definition's `productive` attribute; `None`: unclassified.
    pub productive: Option<bool>,
    pub display_order: Option<u8>,
}

/// One agent, one local day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub agent_arn: String,
    pub agent: AgentProfile,
    pub window: Window,
    pub rows: Vec<Row>,
    pub warnings: Vec<String>,
    /// Every label of `rows` once, ordered by the definitions' `display_order` (labels
    /// without one last), then by first appearance in the day.
    pub statuses: Vec<StatusInfo>,
    /// The content hash of the configuration that produced the report (`Generation::hash`);
    /// empty when not known.
    pub configuration: String,
    /// What part of the window the agent's events cover (SPEC §5).
    pub coverage: Coverage,
}

/// The span of the agent's events and where the window sits in it: a report never claims
/// more than its events show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The agent's first and last events, whatever the window.
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// How many of the agent's events fall inside the window.
    pub events_in_window: usize,
    /// The agent's last event before the window and first event after it.
    pub before: Option<Timestamp>,
    pub after: Option<Timestamp>,
}

impl Coverage {
    /// The coverage of `window` by the (sorted) event times of `timeline`.
    pub fn of(timeline: &Timeline, window: &Window) -> Coverage {
        let times = &timeline.event_times;
        let from = times.partition_point(|&t| t < window.start);
        let to = times.partition_point(|&t| t < window.end);
        Coverage {
            first_event: timeline.first_event,
            last_event: timeline.last_event,
            events_in_window: timeline.events_between(window.start, window.end),
            before: from.checked_sub(1).map(|i| times[i]),
            after: times.get(to).copied(),
        }
    }

    /// Whether the agent's events span the whole window: no row of it is inferred beyond
    /// the first or the last event.
    pub fn spans(&self) -> bool {
        self.before.is_some() && self.after.is_some()
    }

    /// Whether the window lies wholly before the agent's first event or after their last:
    /// nothing observed covers any of it (`--strict` refuses such a report).
    pub fn outside_events(&self) -> bool {
        self.events_in_window == 0 && (self.before.is_none() || self.after.is_none())
    }

    /// The warning of a window that holds none of the agent's events, naming the nearest
    /// events around it (and, outside the agent's events, the nearest day that has some).
    fn no_events_warning(&self, login: &str, window: &Window) -> Option<String> {
        if self.events_in_window > 0 {
            return None;
        }
        let day = window.date.format("%Y-%m-%d");
        let head = format!("no events of `{login}` on {day}");
        let (before, after) = (
            self.before.map(Timestamp::to_rfc3339),
            self.after.map(Timestamp::to_rfc3339),
        );
        let day_of = |t: Timestamp| t.in_zone(window.tz).date_naive();
        Some(match (before, after) {
            (Some(before), None) => format!(
                "{head}: the rows are inferred from the last event, {before}; the day is after \
                 the agent's last event, so nothing observed covers it (the last day with events \
                 is {})",
                self.before.map(day_of).unwrap_or(window.date)
            ),
            (None, Some(after)) => format!(
                "{head}: the rows are inferred from what the first event, {after}, says came \
                 before it; the day is before the agent's first event, so nothing observed \
                 covers it (the first day with events is {})",
                self.after.map(day_of).unwrap_or(window.date)
            ),
            (Some(before), Some(after)) => format!(
                "{head}: the rows are inferred from the event before, {before}; the next event is {after}"
            ),
            (None, None) => format!("{head}: the agent has no events at all"),
        })
    }

    /// One line for formats that have no room for the coverage (CSV): `None` when the
    /// events span the whole window or the window has none (that has its own warning).
    pub fn partial_note(&self, login: &str, window: &Window) -> Option<String> {
        if self.events_in_window == 0 || self.spans() {
            return None;
        }
        let (first, last) = (
            self.first_event?.to_rfc3339(),
            self.last_event?.to_rfc3339(),
        );
        let day = window.date.format("%Y-%m-%d");
        Some(format!(
            "the events of `{login}` span {first} to {last} ({} on {day}): rows outside that span are inferred",
            self.events_in_window
        ))
    }
}

impl Report {
    /// What the catalogue says about `label`, when the report shows it.
    pub fn status(&self, label: &str) -> Option<&StatusInfo> {
        self.statuses.iter().find(|s| s.label == label)
    }
}

/// The timeline's rows inside `window`, in time order.
pub fn rows(timeline: &Timeline, classes: &Classes, window: &Window) -> Vec<Row> {
    let mut rows = Vec::new();
    let last = timeline.segments.len().saturating_sub(1);
    // Segments are in time order: skip the ones that end before the window.
    let first = timeline
        .segments
        .partition_point(|s| s.end.is_some_and(|end| end <= window.start));
    for (i, segment) in timeline.segments.iter().enumerate().skip(first) {
        let seg_start = segment.start.unwrap_or(Timestamp(i64::MIN));
        if seg_start >= window.end {
            break;
        }
        let seg_end = segment.end.unwrap_or(Timestamp(i64::MAX));
        let start = seg_start.max(window.start);
        let end = seg_end.min(window.end);
        if start >= end {
            continue;
        }
        let mut flags = Flags::default();
        if seg_start < window.start {
            flags.insert(Flags::CONTINUED);
        }
        if seg_end > window.end {
            flags.insert(Flags::TRUNCATED);
        }
        if i == last && timeline.open {
            flags.insert(Flags::OPEN);
        }
        if segment.silences.iter().any(|&(a, b)| a < end && b > start) {
            flags.insert(Flags::GAP);
        }
        rows.push(Row {
            status: classes.label(segment.class).to_string(),
            start,
            end,
            flags,
            contact: classes
                .contact(segment.class)
                .map(|(channel, id)| (channel.to_string(), id.to_string())),
            offline: classes.is_offline(segment.class),
            class: segment.class,
            events: timeline.events_between(start, end),
            cause: segment.lineage.cause,
            first_event_id: None,
            rule: classes.rule(segment.class).to_string(),
            segment: i,
        });
    }
    rows
}

/// Builds the report of `agent` for `window`, with the warnings that concern it.
pub fn build(
    agent: &Agent,
    timeline: &Timeline,
    classes: &Classes,
    catalog: &Catalog,
    window: Window,
) -> Report {
    let rows = rows(timeline, classes, &window);
    let mut warnings = Vec::new();

    let mut undefined: Vec<&str> = Vec::new();
    let mut statuses: Vec<StatusInfo> = Vec::new();
    for row in &rows {
        let label = classes.label(row.class);
        let definition = catalog.definition(label, classes.status_type(row.class));
        if definition.is_none() && !undefined.contains(&label) {
            undefined.push(label);
        }
        if !statuses.iter().any(|s| s.label == label) {
            statuses.push(StatusInfo {
                label: label.to_string(),
                defined: definition.is_some(),
                color: definition.and_then(|d| d.color.clone()),
                productive: definition.and_then(|d| d.productive),
                display_order: definition.and_then(|d| d.display_order),
            });
        }
    }
    // Display order first, then first appearance in the day (the sort is stable).
    let first_row = |label: &str| rows.iter().position(|r| r.status == label);
    statuses.sort_by_key(|s| first_row(&s.label));
    statuses.sort_by_key(|s| s.display_order.map_or(u16::MAX, u16::from));
    // One warning per name, so a batch counts the reports of each name on one line.
    for label in &undefined {
        warnings.push(format!(
            "undefined custom status: {label} (no definition in the `{}` catalogue)",
            catalog.name
        ));
    }
    let coverage = Coverage::of(timeline, &window);
    warnings.extend(coverage.no_events_warning(&agent.profile.login, &window));
    if rows.is_empty() {
        let why = match timeline.first_event {
            Some(first) if first >= window.end => "the agent's first event is after this day",
            _ => "no status is known for this day",
        };
        warnings.push(format!("no rows: {why}"));
    }
    Report {
        agent_arn: agent.arn.clone(),
        agent: agent.profile.clone(),
        window,
        rows,
        warnings,
        statuses,
        configuration: String::new(),
        coverage,
    }
}

/// The report of `kind` in `format`, as bytes: the one place every output is chosen.
/// `columns` are the audit's CSV columns (also the HTML table's); a summary has its own.
pub fn render(
    report: &Report,
    kind: Kind,
    format: Format,
    columns: &[columns::ColumnSpec],
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match kind {
        Kind::Audit => match format {
            Format::Csv => csv::write(report, columns, &mut bytes)?,
            Format::Json => json::write(report, columns, &mut bytes)?,
            Format::Html => html::write(report, columns, &mut bytes)?,
        },
        Kind::Summary => {
            let summary = summary::compute(report);
            match format {
                Format::Csv => summary::write_csv(&summary, &mut bytes)?,
                Format::Json => summary::write_json(&summary, &mut bytes)?,
                Format::Html => summary::write_html(&summary, report, &mut bytes)?,
            }
        }
    }
    Ok(bytes)
}

/// The report of `agent` for `window` from its timeline, with the warnings about the input
/// it was read from; the agent's script failure, if any, instead.
pub fn for_agent(
    agent: &Agent,
    timeline: &Timeline,
    store: &Store,
    classes: &Classes,
    catalog: &Catalog,
    window: Window,
) -> Result<Report, crate::script::ScriptError> {
    if let Some(failure) = &timeline.failure {
        return Err(failure.clone());
    }
    let mut report = build(agent, timeline, classes, catalog, window);
    for row in &mut report.rows {
        row.first_event_id = store.event_id(row.cause.event());
    }
    report.warnings.extend(duplicate_warnings(timeline, store));
    if store.problems.total() > 0 {
        report.warnings.push(format!(
            "{} malformed record(s) or region(s) in the input were skipped (listed on stderr)",
            store.problems.total()
        ));
    }
    Ok(report)
}

/// At most this many conflicting duplicates are named one by one; the rest are counted.
const MAX_NAMED_DUPLICATES: usize = 3;

/// One warning per event that repeats an earlier `EventId` with different content, naming
/// the `EventId` and the files of both.
fn duplicate_warnings(timeline: &Timeline, store: &Store) -> Vec<String> {
    let file = |e: &crate::store::StoredEvent| {
        store.sources.get(e.source() as usize).map_or_else(
            || "the input".to_string(),
            |s| format!("`{}`", s.source.display()),
        )
    };
    let conflicts = &timeline.conflicting_duplicates;
    let mut warnings: Vec<String> = conflicts
        .iter()
        .take(MAX_NAMED_DUPLICATES)
        .map(|c| {
            let id = match store.event_id(&c.kept) {
                Some(id) => format!("`EventId` `{id}`"),
                None => "an `EventId`".to_string(),
            };
            let (kept, repeat) = (file(&c.kept), file(&c.repeat));
            let place = if kept == repeat {
                format!("twice in {kept}")
            } else {
                format!("in {kept} and again in {repeat}")
            };
            format!("{id} appears {place} with different content; the first occurrence was kept")
        })
        .collect();
    if conflicts.len() > MAX_NAMED_DUPLICATES {
        warnings.push(format!(
            "... and {} more event(s) that repeat an `EventId` with different content",
            conflicts.len() - MAX_NAMED_DUPLICATES
        ));
    }
    warnings
}

/// `HH:MM:SS`, truncated (a 25-hour day's row can reach `25:00:00`).
pub fn format_hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Seconds with millisecond precision (`300.125`).
pub fn format_seconds(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// an interrupted run never leaves a half-written report under the final name (and, with
/// `tempfiles`, no temporary file either).
pub fn save_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    save(path, bytes, true)
}

/// [`save_atomically`] without waiting for the disk: for the reports of a batch, which
/// [`sync_folder`] then makes durable all at once (an fsync costs milliseconds per file).
pub fn save_atomically_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    save(path, bytes, false)
}

/// Waits until everything written to the file system holding `dir` is on disk.
pub fn sync_folder(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let folder = std::fs::File::open(dir)?;
        rustix::fs::syncfs(&folder)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn save(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    // A device, a FIFO or a socket (`--out /dev/stdout`, `--out /dev/null`, a named pipe a
    // reader waits on) is written to, never renamed over: a rename would put a regular
    // file in its place (as root, even in place of /dev/null).
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a folder, not a file",
            ));
        }
        let mut out = std::fs::OpenOptions::new().write(true).open(path)?;
        return out.write_all(bytes);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder `{}` does not exist", dir.display()),
        ));
    }
    // The temporary file's own name means nothing to the user: say the folder instead.
    let (mut tmp, _listed) = crate::tempfiles::create_in(dir).map_err(|e| {
        let kind = e.kind();
        io::Error::new(
            kind,
            format!(
                "cannot create a file in the folder `{}`: {}",
                dir.display(),
                io::Error::from(kind)
            ),
        )
    })?;
    tmp.write_all(bytes)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
