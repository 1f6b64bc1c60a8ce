//! The retry budget all of a process's S3 requests share.
//!
//! The client retries each request on its own ([`RETRIES`] times within [`RETRY_WINDOW`],
//! with backoff), which rides out throttling and a dropped connection. What it cannot tell
//! is that the endpoint itself has gone: then every one of thousands of objects would
//! spend its own retries, one after the other, for hours. So the first request that fails
//! after its retries *for a reason of the connection* (refused, reset, timed out, no
//! route, no such host) spends the budget: every request started in the next [`COOL_DOWN`]
//! fails at once with that reason, and the read fails naming it. After the cool-down (a
//! `watch` or `serve` polling later) requests are tried again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Retries of one request.
pub const RETRIES: usize = 5;
/// The most time one request (with its retries) may take to get a first byte.
pub const RETRY_WINDOW: Duration = Duration::from_secs(30);
/// How long a gone endpoint fails requests at once.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

static SPENT: Mutex<Option<(Instant, String)>> = Mutex::new(None);

/// Why requests fail at once now, if the budget is spent.
pub fn spent() -> Option<String> {
    let spent = SPENT.lock().unwrap_or_else(|e| e.into_inner());
    match &*spent {
        Some((at, why)) if at.elapsed() < COOL_DOWN => Some(format!(
            "not tried: an earlier request found the endpoint gone ({why}), so the run gives up on it"
        )),
        _ => None,
    }
}

/// Records a request that failed after its retries; spends the budget when the failure
/// was the connection's.
pub fn failed(e: &object_store::Error) {
    let chain = super::client::chain(e);
    let lower = chain.to_ascii_lowercase();
    const GONE: &[&str] = &[
        "connection refused",
        "connection reset",
        "error trying to connect",
        "tcp connect error",
        "timed out",
        "no route to host",
        "dns error",
        "failed to lookup address",
    ];
    if GONE.iter().any(|g| lower.contains(g)) {
        let reason = GONE
            .iter()
            .find(|g| lower.contains(**g))
            .copied()
            .unwrap_or("connection failed");
        let mut spent = SPENT.lock().unwrap_or_else(|e| e.into_inner());
        *spent = Some((Instant::now(), reason.to_string()));
    }
}
