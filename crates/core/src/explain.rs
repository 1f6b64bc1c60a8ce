//! One row traced back to what made it (SPEC §3.8, §8): `agent-audit explain`.
//!
//! For an instant, the row of the agent's report that covers it (the local day of the
//! instant, cut exactly as `report` cuts it), the events inside that row with the file and
//! line of each record, the snapshot that gave the row its label as the rules and hooks saw
//! it, and every hook and rule consulted for that snapshot, in order, with what each
//! returned, ending with the one that decided. Nothing here decides anything: the row comes
//! from `report`, the label's rule from `classify`, and the steps from the same classifier
//! asked again ([`Classifier::trace`]), so an explanation cannot disagree with the report.
//! Rendered as text for an admin who has never seen the source, or as JSON.

use std::fmt::Write as _;

use chrono_tz::Tz;
use serde::Serialize;

use crate::catalog::{AGENT_STATUS_RULE, Classifier, ContactVerdict, LabelSource};
use crate::classify::{Label, Labels, offline_snapshot};
use crate::error::Error;
use crate::event::{RawSnapshot, StatusType};
use crate::reduce::{Cause, events_in_order, reduce};
use crate::report::{self, Row, format_hms, format_seconds};
use crate::script::Snap;
use crate::store::{Agent, RecordAt, Store, StoredEvent};
use crate::time::{Timestamp, Window};

/// How `explain` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExplainFormat {
    /// Sentences and aligned lists, for people.
    #[default]
    Text,
    /// One JSON document, for programs.
    Json,
}

impl ExplainFormat {
    pub const NAMES: [&'static str; 2] = ["text", "json"];
}

impl std::str::FromStr for ExplainFormat {
    type Err = crate::diagnostic::Unknown;

    fn from_str(s: &str) -> Result<ExplainFormat, Self::Err> {
        match s {
            "text" => Ok(ExplainFormat::Text),
            "json" => Ok(ExplainFormat::Json),
            other => Err(crate::diagnostic::Unknown::new(
                "format",
                other,
                &ExplainFormat::NAMES,
            )),
        }
    }
}

impl std::fmt::Display for ExplainFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExplainFormat::Text => "text",
            ExplainFormat::Json => "json",
        })
    }
}

/// Everything `explain` says about one instant.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub agent: String,
    pub at: String,
    pub date: String,
    pub timezone: String,
    /// 1-based, as the report numbers its rows.
    pub row_number: usize,
    pub row: RowView,
    /// The segment the row is cut from, when it reaches beyond the day.
    pub segment: SegmentView,
    pub cause: CauseView,
    pub events: Vec<EventView>,
    /// The snapshot that gave the label, with the fields `snap` has in a hook.
    pub snapshot: serde_json::Value,
    /// Every hook and rule consulted, in order; the last one decided.
    pub steps: Vec<Step>,
    pub configuration: String,
    /// What the reader should know about the question itself (an ambiguous local time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RowView {
    pub status: String,
    pub start: String,
    pub end: String,
    pub duration_ms: i64,
    pub flags: Vec<&'static str>,
    pub events: usize,
    pub first_event_id: Option<String>,
    pub rule: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SegmentView {
    /// `None`: it covers everything before the agent's first event.
    pub start: Option<String>,
    /// `None`: the agent's last segment, which has no end.
    pub end: Option<String>,
    pub events: u32,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

/// Which snapshot gave the label, of which event.
#[derive(Clone, Debug, Serialize)]
pub struct CauseView {
    /// `current_snapshot` (the event that started the row), `previous_snapshot` (the
    /// agent's first event, saying what came before it) or `before_login` (a first `LOGIN`
    /// with no previous snapshot: Offline before it).
    pub kind: &'static str,
    pub event: EventView,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventView {
    pub time: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub event_id: Option<String>,
    /// `file:line` of the record; `None` when it cannot be found again (standard input, or
    /// no `EventId`).
    pub record: Option<String>,
    /// The label after this event; `None`: it has no current snapshot.
    pub label: Option<String>,
}

/// One hook or rule consulted.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A `classify` hook: what it returned (`None`: nothing, the next one is asked) and the
    /// `file:line` of the `return` that returned it.
    Hook {
        file: String,
        returned: Option<String>,
        rule: Option<String>,
    },
    /// The catalogue's rule table on one contact: the first rule that matched, if any.
    Contact {
        contact_id: String,
        channel: String,
        state: String,
        method: String,
        connected: bool,
        rule: Option<String>,
        tier: Option<u8>,
        label: Option<String>,
        /// Rules tried before the matching one (all of them when none matched).
        rules_tried: usize,
    },
    /// No contact had a label: the agent status decides.
    AgentStatus {
        name: Option<String>,
        #[serde(rename = "type")]
        status_type: Option<&'static str>,
    },
    /// The label and the rule that gave it (`None`: no label at all).
    Decided {
        label: Option<String>,
        rule: Option<String>,
        /// In words: which of the steps above decided and why.
        because: String,
    },
}

/// The explanation of `agent` at `at`, its row cut from the local day of `at` in `tz`.
pub fn explain(
    store: &Store,
    labels: &Labels,
    classifier: &Classifier,
    stale_after_ms: i64,
    agent: &Agent,
    at: Timestamp,
    tz: Tz,
) -> Result<Explanation, Error> {
    let classes = &labels.classes;
    let timeline = reduce(store, agent, labels, stale_after_ms);
    let date = at.in_zone(tz).date_naive();
    let window = Window::local_day(date, tz)
        .ok_or_else(|| Error::Usage(format!("`{}` is out of range", at.to_rfc3339())))?;
    let report = report::for_agent(
        agent,
        &timeline,
        store,
        classes,
        &classifier.catalog,
        window,
    )
    .map_err(Error::Script)?;
    let login = if agent.profile.login.is_empty() {
        agent.arn.clone()
    } else {
        agent.profile.login.clone()
    };
    let Some(index) = report.rows.iter().position(|r| r.start <= at && at < r.end) else {
        let when = match timeline.first_event {
            Some(first) if at < first => format!(
                "it is before the agent's first event ({}) and before any status those events show",
                first.format_local(tz)
            ),
            Some(_) => "no status is known for it".to_string(),
            None => "the agent has no events".to_string(),
        };
        return Err(Error::NoRow(format!(
            "no row of `{login}` covers {}: {when}",
            at.format_local(tz)
        )));
    };
    let row = &report.rows[index];
    let segment = &timeline.segments[row.segment];

    let ordered = events_in_order(store, agent, labels);
    let inside: Vec<StoredEvent> = ordered
        .into_iter()
        .filter(|e| row.start <= e.at && e.at < row.end)
        .collect();
    let cause_event = *segment.lineage.cause.event();
    let mut wanted = inside.clone();
    wanted.push(cause_event);
    let mut records = store.locate(&wanted);
    let cause_record = records.pop().flatten();
    let view = |e: &StoredEvent, record: Option<RecordAt>| EventView {
        time: e.at.format_local(tz),
        event_type: store.str(e.event_type).to_string(),
        event_id: store.event_id(e),
        record: record.map(|r| r.to_string()),
        label: match labels.of_event(e) {
            Some(Label::Known { class: Some(c), .. }) => Some(classes.label(*c).to_string()),
            _ => None,
        },
    };
    let events: Vec<EventView> = inside
        .iter()
        .zip(records)
        .map(|(e, r)| view(e, r))
        .collect();

    // The snapshot as it was classified (`classify` asks with the event's type and time
    // only when a hook reads them).
    let (kind, snapshot_id) = match segment.lineage.cause {
        Cause::Event(e) => ("current_snapshot", e.current),
        Cause::PreviousOf(e) => (
            "previous_snapshot",
            store.first_previous(agent, e.seq).flatten(),
        ),
        Cause::BeforeLogin(_) => ("before_login", None),
    };
    let held = match snapshot_id {
        Some(id) => store.raw_snapshot(id),
        None if kind == "before_login" => offline_snapshot(),
        None => {
            return Err(Error::NoRow(format!(
                "the snapshot behind row {} was not kept (read the events again)",
                index + 1
            )));
        }
    };
    let raw = &held;
    let event_type = store.str(cause_event.event_type);
    let with_times = classifier.hooks.need_times();
    let timestamp = cause_event.at.to_rfc3339();
    let (asked_type, asked_time) = if with_times && kind != "before_login" {
        (event_type, timestamp.as_str())
    } else if kind == "before_login" {
        ("LOGIN", "")
    } else {
        ("", "")
    };
    let snap = Snap {
        event_type: asked_type,
        timestamp: asked_time,
        snapshot: raw,
    };
    let configuration = snap.configuration();
    let snapshot = snap.tree(with_times, configuration.as_deref()).to_json();
    let trace = classifier
        .trace(asked_type, asked_time, raw)
        .map_err(Error::Script)?;
    let steps = steps(&trace, raw);

    let fmt = |t: Option<Timestamp>| t.map(|t| t.format_local(tz));
    Ok(Explanation {
        agent: login,
        at: at.format_local(tz),
        date: date.format("%Y-%m-%d").to_string(),
        timezone: tz.name().to_string(),
        row_number: index + 1,
        row: row_view(row, tz),
        segment: SegmentView {
            start: fmt(segment.start),
            end: fmt(segment.end),
            events: segment.lineage.events,
            first_event: fmt(segment.lineage.first_event),
            last_event: fmt(segment.lineage.last_event),
        },
        cause: CauseView {
            kind,
            event: view(&cause_event, cause_record),
        },
        events,
        snapshot,
        steps,
        configuration: String::new(),
        notes: Vec::new(),
    })
}

fn row_view(row: &Row, tz: Tz) -> RowView {
    RowView {
        status: row.status.clone(),
        start: row.start.format_local(tz),
        end: row.end.format_local(tz),
        duration_ms: row.duration_ms(),
        flags: row.flags.names(),
        events: row.events,
        first_event_id: row.first_event_id.clone(),
        rule: row.rule.clone(),
    }
}

/// The trace as steps, ending with the decision.
fn steps(trace: &crate::catalog::Trace<'_>, raw: &RawSnapshot<'_>) -> Vec<Step> {
    let mut steps: Vec<Step> = trace
        .hooks
        .iter()
        .map(|h| Step::Hook {
            file: h.file.clone(),
            returned: h.returned.as_ref().map(|r| r.label.clone()),
            rule: h.returned.as_ref().map(|r| r.rule.clone()),
        })
        .collect();
    let decided_by_hook = trace.hooks.last().is_some_and(|h| h.returned.is_some());
    if !decided_by_hook {
        steps.extend(trace.contacts.iter().map(contact_step));
        if !trace.contacts.iter().any(|c| c.rule.is_some()) {
            let status = raw.status.as_ref();
            steps.push(Step::AgentStatus {
                name: status.and_then(|s| s.name.as_ref().map(|n| n.as_str().to_string())),
                status_type: status.map(|s| StatusType::of(s).as_str()),
            });
        }
    }
    let because = match &trace.decision {
        None => "no hook returned a label, no contact matched a rule and the snapshot has no agent status".to_string(),
        Some(c) => match c.source {
            LabelSource::Script { .. } => "the first hook that returned a label decides".to_string(),
            LabelSource::Contact { contact_id, .. } => {
                let n = trace.contacts.iter().filter(|v| v.rule.is_some()).count();
                if n > 1 {
                    format!("of the contacts' labels, the lowest tier wins (ties: the contact listed first): contact `{contact_id}`")
                } else {
                    format!("the only contact with a label, `{contact_id}`, decides")
                }
            }
            LabelSource::Status(_) if c.rule == AGENT_STATUS_RULE => {
                "no contact has a label, so the agent status decides; no file defines this status (an undefined custom status)".to_string()
            }
            LabelSource::Status(_) => {
                "no contact has a label, so the agent status decides; the rule is the status's definition".to_string()
            }
        },
    };
    steps.push(Step::Decided {
        label: trace.decision.as_ref().map(|c| c.label.to_string()),
        rule: trace.decision.as_ref().map(|c| c.rule.to_string()),
        because,
    });
    steps
}

fn contact_step(v: &ContactVerdict<'_>) -> Step {
    Step::Contact {
        contact_id: v.contact_id.to_string(),
        channel: v.channel.to_string(),
        state: v.state.to_string(),
        method: v.method.to_string(),
        connected: v.connected,
        rule: v.rule.map(|r| r.at.clone()),
        tier: v.rule.map(|r| r.tier),
        label: v.rule.map(|r| r.label.clone()),
        rules_tried: v.tried,
    }
}

/// The explanation as JSON, pretty-printed, with a final newline.
pub fn to_json(e: &Explanation) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(e)?;
    s.push('\n');
    Ok(s)
}

/// The explanation in sentences and aligned lists.
pub fn to_text(e: &Explanation) -> String {
    let mut s = String::new();
    let r = &e.row;
    let _ = writeln!(
        s,
        "At {}, `{}` is in row {} of their audit for {} ({}):",
        e.at, e.agent, e.row_number, e.date, e.timezone
    );
    let _ = writeln!(s);
    let flags = if r.flags.is_empty() {
        "none".to_string()
    } else {
        r.flags.join(", ")
    };
    let field = |s: &mut String, name: &str, value: &str| {
        let _ = writeln!(s, "  {name:<9} {value}");
    };
    field(&mut s, "Status", &r.status);
    field(&mut s, "Start", &r.start);
    field(&mut s, "End", &r.end);
    field(
        &mut s,
        "Duration",
        &format!(
            "{} ({} s)",
            format_hms(r.duration_ms),
            format_seconds(r.duration_ms)
        ),
    );
    field(&mut s, "Flags", &flags);
    field(&mut s, "Events", &format!("{} inside the row", r.events));
    field(
        &mut s,
        "Rule",
        &format!("{} (what gave the label; see below)", r.rule),
    );
    if e.segment.start.as_deref() != Some(r.start.as_str())
        || e.segment.end.as_deref() != Some(r.end.as_str())
    {
        let from = e
            .segment
            .start
            .clone()
            .unwrap_or_else(|| "before the agent's first event".to_string());
        let to = e
            .segment
            .end
            .clone()
            .unwrap_or_else(|| "the end of the data (no later event changes it)".to_string());
        let _ = writeln!(
            s,
            "\n  The row is the part of this day of one status period, from {from} to {to} \
             ({} events in all).",
            e.segment.events
        );
    }

    let _ = writeln!(s);
    let whence = match e.cause.kind {
        "current_snapshot" => {
            "The label comes from the snapshot (CurrentAgentSnapshot) of the event that started the row:"
        }
        "previous_snapshot" => {
            "The label comes from what the agent's first event says came before it (its PreviousAgentSnapshot):"
        }
        _ => {
            "The agent's first event is a LOGIN with no previous snapshot: before it the agent was Offline, classified as this snapshot:"
        }
    };
    let _ = writeln!(s, "{whence}");
    let _ = writeln!(s, "  {}", event_line(&e.cause.event));

    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Events inside the row ({}), in time order, with the label after each:",
        e.events.len()
    );
    if e.events.is_empty() {
        let _ = writeln!(s, "  (none: the row is inferred from the event above)");
    }
    for ev in &e.events {
        let _ = writeln!(s, "  {}", event_line(ev));
    }

    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "The snapshot, as the rules and hooks saw it (`snap` in a hook):"
    );
    let pretty = serde_json::to_string_pretty(&e.snapshot).unwrap_or_default();
    for line in pretty.lines() {
        let _ = writeln!(s, "  {line}");
    }

    let _ = writeln!(s);
    let _ = writeln!(s, "Rules and hooks consulted, in order:");
    for (i, step) in e.steps.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, step_line(step));
    }
    if !e.configuration.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Configuration {}.", e.configuration);
    }
    for note in &e.notes {
        let _ = writeln!(s, "Note: {note}.");
    }
    s
}

/// An event on two lines: what it is, then where its record is.
fn event_line(ev: &EventView) -> String {
    let label = match &ev.label {
        Some(label) => format!("-> {label}"),
        None => "(no snapshot: the label stays)".to_string(),
    };
    let record = match &ev.record {
        Some(r) => format!("record {r}"),
        None => "record not located (standard input, or no EventId)".to_string(),
    };
    format!(
        "{}  {:<12}  EventId {}  {label}\n      {record}",
        ev.time,
        ev.event_type,
        ev.event_id.as_deref().unwrap_or("(none)"),
    )
}

fn step_line(step: &Step) -> String {
    match step {
        Step::Hook {
            file,
            returned: None,
            ..
        } => format!("hook {file}: classify returned nothing, so the next rule is asked"),
        Step::Hook {
            file,
            returned: Some(label),
            rule,
        } => format!(
            "hook {file}: classify returned `{label}` ({})",
            rule.as_deref().unwrap_or(file)
        ),
        Step::Contact {
            contact_id,
            channel,
            state,
            method,
            connected,
            rule,
            tier,
            label,
            rules_tried,
        } => {
            let what = format!(
                "contact `{contact_id}` ({channel}, {state}, {method}, {})",
                if *connected {
                    "connected"
                } else {
                    "never connected"
                }
            );
            match (rule, tier, label) {
                (Some(rule), Some(tier), Some(label)) => format!(
                    "catalogue rule table, {what}: the first matching rule is {rule} (tier {tier}) \
                     after {rules_tried} that did not match: `{label}`"
                ),
                _ => format!(
                    "catalogue rule table, {what}: none of the {rules_tried} rules matches, so the \
                     contact is ignored"
                ),
            }
        }
        Step::AgentStatus { name, status_type } => match name {
            Some(name) => format!(
                "no contact has a label: the agent status `{name}` ({}) decides",
                status_type.unwrap_or("no type")
            ),
            None => "no contact has a label and the snapshot has no agent status".to_string(),
        },
        Step::Decided {
            label,
            rule,
            because,
        } => match (label, rule) {
            (Some(label), Some(rule)) => {
                format!("decided: `{label}`, by {rule} ({because})")
            }
            _ => format!("decided: no label ({because})"),
        },
    }
}
