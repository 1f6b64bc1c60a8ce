//! What the tests, the benchmarks and the fuzz target share, outside the library: the
//! synthetic agent event generator ([`synth`]) and the framing fuzz invariant ([`fuzz`]).

pub mod fuzz;
pub mod synth;

/// How many cases a property test runs: `PROPTEST_CASES` when set (the long run of
/// docs/development.md), else `default` (a few hundred: the suite stays quick).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
