//! SPEC §2: every framing of the same events gives the identical report.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use tempfile::TempDir;

use crate::support::*;

/// A day with sparse events (no heartbeats), so rows with silences are flagged `gap`.
fn day() -> Vec<Event> {
    vec![
        event("jdoe", "LOGIN", "2026-11-03T13:00:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-03T13:10:00.000Z")
            .status("Available")
            .contact(contact("c1", "VOICE", "INBOUND", "CONNECTING")),
        event("jdoe", "STATE_CHANGE", "2026-11-03T13:10:09.500Z")
            .status("Available")
            .contact(connected(contact("c1", "VOICE", "INBOUND", "CONNECTED"))),
        event("jdoe", "STATE_CHANGE", "2026-11-03T13:20:00.000Z")
            .status("Available")
            .contact(connected(contact("c1", "VOICE", "INBOUND", "ENDED"))),
        event("jdoe", "STATE_CHANGE", "2026-11-03T13:21:30.000Z").status("Available"),
        event("other", "LOGIN", "2026-11-03T13:05:00.000Z").status("Available"),
        event("jdoe", "STATE_CHANGE", "2026-11-03T17:00:00.000Z").status("Lunch"),
        event("jdoe", "LOGOUT", "2026-11-03T22:00:00.000Z").status("Offline"),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn run(events: &Path) -> String {
    let out = report_cmd(events, "jdoe", "2026-11-03", "America/New_York")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing to say but that Lunch is a custom status the catalogue does not define, and
    // that the events start after midnight and end before the next.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "warning: undefined custom status: Lunch (no definition in the `connect` catalogue)\n\
         warning: the events of `jdoe` span 2026-11-03T13:00:00.000Z to 2026-11-03T22:00:00.000Z \
         (7 on 2026-11-03): rows outside that span are inferred\n"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_framing_gives_the_identical_report() {
    let events = day();
    let dir = TempDir::new().unwrap();
    let p = |name: &str| dir.path().join(name);

    let lines = lines(&events);
    let concatenated: String = events.iter().map(Event::line).collect();
    let array =
        serde_json::to_string_pretty(&events.iter().map(|e| e.0.clone()).collect::<Vec<_>>())
            .unwrap();

    fs::write(p("lines.jsonl"), &lines).unwrap();
    fs::write(p("concatenated.json"), &concatenated).unwrap();
    fs::write(p("array.json"), &array).unwrap();
    fs::write(p("lines.gz"), gzip(lines.as_bytes())).unwrap();
    // Firehose-style: concatenated JSON, gzip, and no telling extension.
    fs::write(p("firehose-object"), gzip(concatenated.as_bytes())).unwrap();
    // Two gzip members back to back (objects joined by a copy tool): both are read.
    let (a, b) = concatenated.split_at(concatenated.len() / 2);
    let mut members = gzip(a.as_bytes());
    members.extend(gzip(b.as_bytes()));
    fs::write(p("two-members.bin"), members).unwrap();
    // A directory in Firehose's YYYY/MM/DD/HH layout, records spread over hours, out of order.
    let tree = p("tree");
    for (i, e) in events.iter().enumerate().rev() {
        let hour = tree.join(format!("2026/11/03/{:02}", 13 + i % 3));
        fs::create_dir_all(&hour).unwrap();
        fs::write(hour.join(format!("part-{i}.gz")), gzip(e.line().as_bytes())).unwrap();
    }

    let expected = run(&p("lines.jsonl"));
    assert_eq!(
        expected,
        "Agent login,Status,Start time,End time,Duration,Duration (s),Flags\n\
         jdoe,Offline,2026-11-03T00:00:00.000-05:00,2026-11-03T08:00:00.000-05:00,08:00:00,28800.000,continued\n\
         jdoe,Available,2026-11-03T08:00:00.000-05:00,2026-11-03T08:10:00.000-05:00,00:10:00,600.000,gap\n\
         jdoe,Connecting Agent,2026-11-03T08:10:00.000-05:00,2026-11-03T08:10:09.500-05:00,00:00:09,9.500,\n\
         jdoe,Connected,2026-11-03T08:10:09.500-05:00,2026-11-03T08:20:00.000-05:00,00:09:50,590.500,gap\n\
         jdoe,After contact work,2026-11-03T08:20:00.000-05:00,2026-11-03T08:21:30.000-05:00,00:01:30,90.000,\n\
         jdoe,Available,2026-11-03T08:21:30.000-05:00,2026-11-03T12:00:00.000-05:00,03:38:30,13110.000,gap\n\
         jdoe,Lunch,2026-11-03T12:00:00.000-05:00,2026-11-03T17:00:00.000-05:00,05:00:00,18000.000,gap\n\
         jdoe,Offline,2026-11-03T17:00:00.000-05:00,2026-11-04T00:00:00.000-05:00,07:00:00,25200.000,truncated\n"
    );
    for name in [
        "concatenated.json",
        "array.json",
        "lines.gz",
        "firehose-object",
        "two-members.bin",
        "tree",
    ] {
        assert_eq!(run(&p(name)), expected, "{name}");
    }

    // Standard input.
    let out = report_cmd("-", "jdoe", "2026-11-03", "America/New_York")
        .write_stdin(gzip(concatenated.as_bytes()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn events_split_over_several_paths_are_read_as_one_input() {
    let events = day();
    let dir = TempDir::new().unwrap();
    let (first, second) = events.split_at(3);
    fs::write(dir.path().join("b.jsonl"), lines(first)).unwrap();
    fs::write(dir.path().join("a.jsonl"), lines(second)).unwrap();
    fs::write(dir.path().join("all.jsonl"), lines(&events)).unwrap();
    let whole = run(&dir.path().join("all.jsonl"));
    let out = report_cmd(
        dir.path().join("b.jsonl"),
        "jdoe",
        "2026-11-03",
        "America/New_York",
    )
    .arg("--events")
    .arg(dir.path().join("a.jsonl"))
    .output()
    .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), whole);
}

#[test]
fn a_large_file_of_json_lines_read_in_pieces_gives_the_same_result() {
    use agent_audit::classify::classify;
    use agent_audit::input::{Source, pieces};
    use agent_audit::store::{ReadOptions, Store};
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("big.jsonl");
    let mut events = Vec::new();
    for minute in 0..600 {
        let status = if minute % 7 == 0 {
            "Lunch"
        } else {
            "Available"
        };
        let ts = format!(
            "2026-11-03T{:02}:{:02}:00.000Z",
            8 + minute / 60,
            minute % 60
        );
        events.push(event(&format!("agent{}", minute % 5), "HEART_BEAT", &ts).status(status));
    }
    let mut text = lines(&events);
    // A broken record far into the file: its line number must count from the file's start.
    text.push_str("{\"AgentARN\": 7}\n");
    text.push_str(&lines(&events[..3]));
    fs::write(&path, &text).unwrap();
    let sources = vec![Source::File(path.clone())];
    let classifier = rules(agent_audit::catalog::CatalogName::Connect);
    let small = ReadOptions {
        piece_size: 4096,
        ..ReadOptions::default()
    };
    assert!(
        pieces(
            &sources,
            &agent_audit::input::Facts::of_all(&sources).unwrap(),
            4096
        )
        .unwrap()
        .len()
            > 20,
        "the file is cut into pieces"
    );
    let whole = Store::read(&sources, &ReadOptions::default()).unwrap();
    let cut = Store::read(&sources, &small).unwrap();
    assert_eq!(cut.problems, whole.problems);
    assert_eq!(cut.problems.total(), 1);
    assert_eq!(cut.problems.kept()[0].at.line, 601);
    let (whole_labels, cut_labels) = (classify(&whole, &classifier), classify(&cut, &classifier));
    for agent in &whole.agents {
        let other = cut.agent_by_arn(&agent.arn).unwrap();
        let labels = |a: &agent_audit::store::Agent,
                      l: &agent_audit::classify::Labels|
         -> Vec<(i64, Option<String>)> {
            a.events
                .iter()
                .map(|e| {
                    let label = match l.of_event(e) {
                        Some(agent_audit::classify::Label::Known { class, .. }) => {
                            class.map(|c| l.classes.label(c).to_string())
                        }
                        _ => None,
                    };
                    (e.at.0, label)
                })
                .collect()
        };
        assert_eq!(labels(agent, &whole_labels), labels(other, &cut_labels));
        let seqs: Vec<u64> = other.events.iter().map(|e| e.seq).collect();
        assert!(seqs.is_sorted(), "input order is kept across pieces");
    }
}
