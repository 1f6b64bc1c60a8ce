//! Batch runs (SPEC §8): a TOML file names the events, the reports (agents × dates ×
//! zones) and where they go; the events are read once and every report is authorised,
//! built and written atomically to `OUT_DIR/<login>/<date>_<zone with / as ->.<ext>`
//! (summaries to `….summary.<ext>`), then listed in `OUT_DIR/manifest.json` and, when the
//! batch has HTML output, in the page `OUT_DIR/index.html`.
//!
//! [`parse`] turns the file into a validated [`Batch`]; [`jobs`] expands it against the
//! agents in the events into [`Job`]s; [`produce`] makes them; [`manifest`] lists them and
//! keeps `out_dir` to exactly what was written; [`out_dir`] holds that state across the
//! generations of `watch`.

mod jobs;
mod manifest;
mod out_dir;
mod parse;
mod produce;
mod verify;

pub use jobs::{Job, Shard, login_dir, output_name};
pub use manifest::{Manifest, RunInfo, reconcile, write_index, write_manifest};
pub use out_dir::OutDir;
pub use parse::{Agents, Batch, Entry};
pub use produce::{ManifestCoverage, Outcome, Status, Summary, produce};
pub use verify::{Finding, Verified, verify};
