//! The shipped examples: every report under `examples/expected/` is what `agent-audit
//! report` prints today on `examples/events/`.

use std::fs;
use std::path::Path;

use crate::support::{expected_reports, report_cmd, stdout_of};

#[test]
fn the_examples_produce_their_expected_reports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for e in expected_reports() {
        let out = stdout_of(
            report_cmd("examples/events", &e.login, &e.date, &e.zone)
                .current_dir(root)
                .args(["--format", &e.format]),
        );
        let expected = fs::read_to_string(&e.path).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            expected,
            "{}",
            e.path.display()
        );
    }
}
