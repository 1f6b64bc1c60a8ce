//! What the tests, the benchmarks and the fuzz target share, outside the library: the
//! synthetic agent event generator ([`synth`]) and the framing fuzz invariant ([`fuzz`]).

pub mod fuzz;
pub mod synth;
