//! agent-audit rebuilds Amazon Connect's agent activity audit report from raw agent event
//! stream files.
//!
//! Data flows one way:
//!
//! ```text
//! files ──input──▶ records ──ingest (+ catalog: classify)──▶ per-agent events
//!       ──reduce──▶ segments ──report──▶ rows ──▶ CSV / JSON
//! ```
//!
//! `input` frames bytes into JSON records; `event` declares the fields read from them;
//! `catalog` turns a snapshot into a status label from rules kept as data; `ingest` keeps a
//! compact record per event; `reduce` orders, de-duplicates and folds an agent's events
//! into segments; `report` cuts segments into a local day's rows and renders them.

pub mod access;
pub mod batch;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod error;
pub mod event;
pub mod generation;
pub mod ingest;
pub mod input;
pub mod reduce;
pub mod report;
pub mod script;
pub mod synth;
pub mod time;
pub mod watch;

pub use error::Error;
