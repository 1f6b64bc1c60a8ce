//! The decision log: one JSON line per decision, appended to the configured file.
//!
//! Each line is written with a single `write` on a file opened for appending, under a lock,
//! so lines from parallel reports never interleave. A decision that cannot be recorded is
//! treated as a denial by the callers: nothing is audited off the record.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::{ACTION, Decision};

/// Where decisions are recorded; without a path, nowhere.
#[derive(Debug, Default)]
pub struct DecisionLog {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
}

/// Through what a decision was asked for: the command, and for `serve` the request and the
/// identity behind it. Logged with the decision; never a token or a cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// `report`, `run`, `watch`, `authorize`, `explain`; for `serve`, the route's action.
    pub command: String,
    /// `serve` for a request to the report page or API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The identity provider (`iss`) and subject (`sub`) that vouched for the requester.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl Asked {
    /// A decision asked for by a command of the binary.
    pub fn by(command: &str) -> Asked {
        Asked {
            command: command.to_string(),
            ..Asked::default()
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    #[serde(flatten)]
    asked: &'a Asked,
    requester: Option<&'a str>,
    action: &'a str,
    agent: &'a str,
    date: String,
    timezone: &'a str,
    decision: &'a str,
    rule: &'a str,
    reason: &'a str,
    configuration: &'a str,
}

impl DecisionLog {
    pub fn new(path: Option<&Path>) -> DecisionLog {
        DecisionLog {
            path: path.map(Path::to_path_buf),
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one decision, asked for as `asked` says, under configuration `hash`.
    pub fn record(&self, decision: &Decision, asked: &Asked, hash: &str) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let line = Line {
            time: chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            asked,
            requester: decision.requester.as_deref(),
            action: ACTION,
            agent: &decision.agent,
            date: decision.date.format("%Y-%m-%d").to_string(),
            timezone: decision.timezone.name(),
            decision: if decision.allowed {
                "allowed"
            } else {
                "denied"
            },
            rule: &decision.rule,
            reason: &decision.reason,
            configuration: hash,
        };
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        let mut guard = self
            .file
            .lock()
            .map_err(|_| io::Error::other("the decision log lock is poisoned"))?;
        if guard.is_none() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(OpenOptions::new().create(true).append(true).open(path)?);
        }
        match guard.as_mut() {
            Some(file) => {
                file.write_all(&bytes)?;
                file.flush()
            }
            None => Err(io::Error::other("the decision log is not open")),
        }
    }
}
