//! The library's top-level error and the exit code each kind maps to.
//!
//! Exit codes (SPEC §8): 0 success; 1 a report failed (unreadable input, an agent not in
//! the events, a malformed record under `--strict`, an output that cannot be written);
//! 2 a usage or configuration error.

use std::io;

use crate::diagnostic::Located;
use crate::ingest::IngestError;
use crate::script::ScriptError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// Configuration, catalogue, script or policy files are invalid (one line each).
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
    Ingest(#[from] IngestError),
    #[error("agent `{login}` not found in the events{hint}")]
    AgentNotFound { login: String, hint: String },
    #[error("login `{login}` belongs to {} agents ({}); pass the agent's ARN to --agent instead", arns.len(), arns.join(", "))]
    AmbiguousAgent { login: String, arns: Vec<String> },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::InvalidFiles(_) => 2,
            Error::Ingest(_)
            | Error::Script(_)
            | Error::TestsFailed(_)
            | Error::AgentNotFound { .. }
            | Error::AmbiguousAgent { .. }
            | Error::Write { .. } => 1,
        }
    }
}
