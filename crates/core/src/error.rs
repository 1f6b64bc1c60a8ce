//! The library's top-level error and the exit code each kind maps to.
//!
//! Exit codes (SPEC §8): 0 success; 1 a report failed (unreadable input, an agent not in
//! the events, a malformed record under `--strict`, an output that cannot be written);
//! 2 a usage or configuration error.

use std::io;

use crate::access::Decision;
use crate::diagnostic::Located;
use crate::script::ScriptError;
use crate::store::{FindError, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// Configuration, catalogue, script or policy files are invalid (one line each; as a
    /// diagnostic, each is a related one with its file's text).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Config(Vec<Located>),
    /// A script failed while classifying the events of the report's agent.
    #[error("{0}")]
    Script(ScriptError),
    /// `check` found invalid files (it has listed them).
    #[error("{0} problem(s) in the configuration's files")]
    InvalidFiles(usize),
    /// `check` ran embedded tests and some failed.
    #[error("{0} test(s) failed")]
    TestsFailed(usize),
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The agent asked for is not in the events, or its login is not one agent's.
    #[error(transparent)]
    Agent(#[from] FindError),
    /// The requester may not audit this agent's day; nothing was written.
    #[error("denied: {} (decided by {})", .0.reason, .0.rule)]
    Denied(Box<Decision>),
    /// A decision could not be recorded, so the report was not produced.
    #[error("cannot record the decision in `{path}`: {source} (no report without a record)")]
    DecisionLog {
        path: String,
        #[source]
        source: io::Error,
    },
    /// Some reports of a batch were denied or failed (the others were written).
    #[error("{failed} report(s) failed and {denied} denied")]
    BatchIncomplete { denied: usize, failed: usize },
    /// `explain`: no row covers the instant asked about.
    #[error("{0}")]
    NoRow(String),
    /// The file watcher could not be started.
    #[error("cannot watch files: {0}")]
    Watch(String),
    /// The command has printed its outcome itself (`authorize` prints its denial on
    /// standard output): only the exit code is left to give.
    #[error("exit status {0}")]
    Shown(u8),
    /// Shards' manifests that do not make one run (missing, repeated or mixed shards).
    #[error("{0}")]
    Merge(String),
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The places in files an error is about, for the binary's renderer: each problem of a
/// configuration. A script's failure is placed by [`Error::located`], since its file's
/// text is not part of the error.
impl miette::Diagnostic for Error {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        match self {
            Error::Config(problems) => Some(Box::new(
                problems.iter().map(|p| p as &dyn miette::Diagnostic),
            )),
            _ => None,
        }
    }
}

impl Error {
    /// The places in files this error is about: each problem of a configuration, or the
    /// script line that failed (without the file's text, which the renderer reads).
    pub fn located(&self) -> Vec<Located> {
        match self {
            Error::Config(problems) => problems.clone(),
            Error::Script(e) => vec![Located::from(e)],
            _ => Vec::new(),
        }
    }

    /// Whether `main` still has to print this error (the command has not already).
    pub fn needs_printing(&self) -> bool {
        !matches!(self, Error::Shown(_))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Shown(code) => *code,
            Error::Usage(_) | Error::Config(_) | Error::InvalidFiles(_) => 2,
            Error::Read(_)
            | Error::Script(_)
            | Error::TestsFailed(_)
            | Error::Agent(_)
            | Error::Denied(_)
            | Error::BatchIncomplete { .. }
            | Error::Watch(_)
            | Error::Merge(_)
            | Error::NoRow(_)
            | Error::DecisionLog { .. }
            | Error::Write { .. } => 1,
        }
    }
}
