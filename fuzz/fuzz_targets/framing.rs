//! Framing, the structural scan and event parsing on any bytes: never a panic, and a valid
//! record on a line of its own is always found (`agent_audit_testkit::fuzz::check_framing`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    agent_audit_testkit::fuzz::check_framing(data);
});
