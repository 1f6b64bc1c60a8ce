//! The columns a report can carry (SPEC §5): their configuration keys, default headers,
//! and the text of each cell. The CSV writes these cells, the HTML table shows the same
//! text, and the JSON rows carry the columns that are not in every row already.

use super::{Report, Row, format_hms, format_seconds};

/// A column a report can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    AgentLogin,
    Status,
    StartTime,
    EndTime,
    Duration,
    DurationSeconds,
    Flags,
    Channel,
    ContactId,
    AgentName,
    /// Hierarchy group name at level 1–5.
    Hierarchy(u8),
    /// Lineage (SPEC §3.8): the events inside the row, the `EventId` of the event whose
    /// snapshot gave its label, and the rule that decided it (`file:line`).
    Events,
    FirstEventId,
    Rule,
}

impl Column {
    /// The key used in configuration files.
    pub const KEYS: [&'static str; 18] = [
        "agent_login",
        "status",
        "start_time",
        "end_time",
        "duration",
        "duration_seconds",
        "flags",
        "channel",
        "contact_id",
        "agent_name",
        "hierarchy_1",
        "hierarchy_2",
        "hierarchy_3",
        "hierarchy_4",
        "hierarchy_5",
        "events",
        "first_event_id",
        "rule",
    ];

    pub fn from_key(key: &str) -> Option<Column> {
        Some(match key {
            "agent_login" => Column::AgentLogin,
            "status" => Column::Status,
            "start_time" => Column::StartTime,
            "end_time" => Column::EndTime,
            "duration" => Column::Duration,
            "duration_seconds" => Column::DurationSeconds,
            "flags" => Column::Flags,
            "channel" => Column::Channel,
            "contact_id" => Column::ContactId,
            "agent_name" => Column::AgentName,
            "events" => Column::Events,
            "first_event_id" => Column::FirstEventId,
            "rule" => Column::Rule,
            _ => {
                let level: u8 = key.strip_prefix("hierarchy_")?.parse().ok()?;
                if !(1..=5).contains(&level) {
                    return None;
                }
                Column::Hierarchy(level)
            }
        })
    }

    /// The key of this column in configuration files (and in JSON rows).
    pub fn key(self) -> String {
        match self {
            Column::Hierarchy(level) => format!("hierarchy_{level}"),
            other => Column::KEYS
                .iter()
                .find(|k| Column::from_key(k) == Some(other))
                .map_or_else(String::new, |k| (*k).to_string()),
        }
    }

    /// Whether every JSON row has this column's content already (`status`, `start`, …).
    pub fn in_every_json_row(self) -> bool {
        matches!(
            self,
            Column::AgentLogin
                | Column::Status
                | Column::StartTime
                | Column::EndTime
                | Column::Duration
                | Column::DurationSeconds
                | Column::Flags
                | Column::Events
                | Column::FirstEventId
                | Column::Rule
        )
    }

    /// The default header.
    pub fn header(self) -> String {
        match self {
            Column::AgentLogin => "Agent login".into(),
            Column::Status => "Status".into(),
            Column::StartTime => "Start time".into(),
            Column::EndTime => "End time".into(),
            Column::Duration => "Duration".into(),
            Column::DurationSeconds => "Duration (s)".into(),
            Column::Flags => "Flags".into(),
            Column::Channel => "Channel".into(),
            Column::ContactId => "Contact ID".into(),
            Column::AgentName => "Agent name".into(),
            Column::Hierarchy(level) => format!("Hierarchy level {level}"),
            Column::Events => "Events".into(),
            Column::FirstEventId => "First event ID".into(),
            Column::Rule => "Rule".into(),
        }
    }

    /// The cell of this column for `row`, as the CSV prints it (the HTML table shows the
    /// same text).
    pub fn value(self, report: &Report, row: &Row) -> String {
        let tz = report.window.tz;
        match self {
            Column::AgentLogin => report.agent.login.clone(),
            Column::Status => row.status.clone(),
            Column::StartTime => row.start.format_local(tz),
            Column::EndTime => row.end.format_local(tz),
            Column::Duration => format_hms(row.duration_ms()),
            Column::DurationSeconds => format_seconds(row.duration_ms()),
            Column::Flags => row.flags.names().join(";"),
            Column::Channel => row
                .contact
                .as_ref()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            Column::ContactId => row
                .contact
                .as_ref()
                .map(|c| c.1.clone())
                .unwrap_or_default(),
            Column::AgentName => report.agent.full_name(),
            Column::Hierarchy(level) => report
                .agent
                .hierarchy
                .get(usize::from(level) - 1)
                .map(|g| g.name.clone())
                .unwrap_or_default(),
            Column::Events => row.events.to_string(),
            Column::FirstEventId => row.first_event_id.clone().unwrap_or_default(),
            Column::Rule => row.rule.clone(),
        }
    }
}

/// A column with its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub column: Column,
    pub header: String,
}

/// `Agent login,Status,Start time,End time,Duration,Duration (s),Flags`.
pub fn default_columns() -> Vec<ColumnSpec> {
    [
        Column::AgentLogin,
        Column::Status,
        Column::StartTime,
        Column::EndTime,
        Column::Duration,
        Column::DurationSeconds,
        Column::Flags,
    ]
    .into_iter()
    .map(|column| ColumnSpec {
        column,
        header: column.header(),
    })
    .collect()
}
