//! All integration tests, compiled into one binary (two cores do not want twenty links).

// Tests may unwrap: a failure there is a failed test, not a user-facing panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod access;
mod batch;
mod cli;
mod coverage;
mod diagnostics;
mod docs;
mod evidence;
mod examples;
mod fail_closed;
mod framings;
mod fuzz_corpus;
mod hostile_access;
mod hostile_input;
mod hostile_output;
mod hostile_scripts;
mod html;
mod lineage;
mod malformed;
mod page;
mod properties;
mod reducer;
mod reload;
#[cfg(feature = "s3")]
mod s3;
mod scripts;
mod serve;
mod snapshots;
mod store;
mod tiers;
mod truth;
mod watch;
