//! agent-audit rebuilds Amazon Connect's agent activity audit report from raw agent event
//! stream files.
//!
//! Data flows one way:
//!
//! ```text
//! files ──input──▶ records ──store──▶ compact events ──classify (catalog + hooks)──▶ labels
//!       ──reduce──▶ segments ──report──▶ rows ──▶ CSV / JSON / HTML
//!       access (profiles, hierarchy, policy scripts) gates every report
//! ```
//!
//! `input` frames bytes into JSON records; `event` declares the fields read from them;
//! `store` keeps what everything after it needs of each event, read once (and kept by
//! `watch`); `classify` turns the store's snapshots into labels with the generation's
//! `catalog` rules and script hooks; `reduce` orders, de-duplicates and folds an agent's
//! events into segments, each with its lineage; `report` cuts segments into a local day's
//! rows and renders them; `explain` traces one row back to its events and rules.

pub mod access;
pub mod batch;
pub mod catalog;
pub mod classify;
pub mod config;
pub mod diagnostic;
pub mod digest;
pub mod engine;
pub mod error;
pub mod event;
pub mod explain;
pub mod generation;
pub mod input;
pub mod login;
pub mod merge;
pub mod output;
pub mod reduce;
pub mod report;
pub mod s3;
pub mod script;
pub mod store;
pub mod tempfiles;
pub mod time;

/// How many cases a unit property test runs: `PROPTEST_CASES` when set, else `default`
/// (as `agent_audit_testkit::proptest_cases`, which the library cannot depend on).
#[cfg(test)]
pub(crate) fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

pub use error::Error;
