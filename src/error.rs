//! The library's top-level error and the exit code each kind maps to.
//!
//! Exit codes (SPEC §8): 0 success; 1 a report failed (unreadable input, an agent not in
//! the events, a malformed record under `--strict`, an output that cannot be written);
//! 2 a usage or configuration error.

use std::io;

use crate::diagnostic::Located;
use crate::ingest::IngestError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A configuration, catalogue, script or policy file is invalid.
    #[error("{0}")]
    Config(Located),
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
            Error::Usage(_) | Error::Config(_) => 2,
            Error::Ingest(_)
            | Error::AgentNotFound { .. }
            | Error::AmbiguousAgent { .. }
            | Error::Write { .. } => 1,
        }
    }
}
