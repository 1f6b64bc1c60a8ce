//! The shipped examples: every report under `examples/expected/` is what `agent-audit
//! report` prints today on `examples/events/`.

use std::fs;
use std::path::Path;

use crate::support::report_cmd;

#[test]
fn the_examples_produce_their_expected_reports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for agent_dir in fs::read_dir(root.join("examples/expected")).unwrap() {
        let agent_dir = agent_dir.unwrap().path();
        let login = agent_dir.file_name().unwrap().to_string_lossy().to_string();
        for file in fs::read_dir(&agent_dir).unwrap() {
            let file = file.unwrap().path();
            let stem = file.file_stem().unwrap().to_string_lossy().to_string();
            let format = file.extension().unwrap().to_string_lossy().to_string();
            // `<date>_<zone with / as ->`: the example zones have one `/`.
            let (date, zone) = stem.split_once('_').unwrap();
            let zone = zone.replacen('-', "/", 1);
            let out = report_cmd("examples/events", &login, date, &zone)
                .current_dir(root)
                .args(["--format", &format])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let expected = fs::read_to_string(&file).unwrap();
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                expected,
                "{}",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} expected reports found");
}
