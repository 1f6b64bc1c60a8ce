//! Issue #12: the framing fuzz target's invariant on its checked-in corpus
//! (`fuzz/corpus/framing`), through the same function the fuzz target calls, so a plain
//! `cargo test` replays every input the fuzzer kept; and on random garbage besides.

use agent_audit_testkit::fuzz::check_framing;
use proptest::prelude::*;

#[test]
fn the_fuzz_corpus_keeps_its_invariant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/framing");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{} inputs in {}",
        inputs.len(),
        dir.display()
    );
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| check_framing(&data));
        assert!(outcome.is_ok(), "{} breaks the invariant", path.display());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(agent_audit_testkit::proptest_cases(300)))]
    #[test]
    fn a_valid_line_survives_any_garbage_around_it(
        garbage in proptest::collection::vec(
            prop_oneof![
                Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b'"'), Just(b':'),
                Just(b','), Just(b'\\'), Just(b'\n'), Just(b'a'), Just(b'1'), any::<u8>(),
            ],
            0..200,
        )
    ) {
        check_framing(&garbage);
    }
}
