//! SPEC §9's reload decisions, in this process: the library's `Live` (what `watch` and
//! `serve` hold) given each kind of change, with no watcher, no spawned process and no
//! waiting. `watch.rs` drives the real binary for what only a running process shows (the
//! debounced bursts, the files it writes).

use std::fs;
use std::path::PathBuf;

use agent_audit::engine::{Engine, Live, Reloaded};
use tempfile::TempDir;

use crate::support::*;

fn hook(label: &str) -> String {
    format!(
        "function classify(snap) if snap.status.name == 'Lunch' then return '{label}' end end\n"
    )
}

/// A configuration with one Lua hook labelling Lunch `label`, and jdoe's day of events.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(label: &str) -> Setup {
        let dir = TempDir::new().unwrap();
        fs::create_dir_all(dir.path().join("scripts")).unwrap();
        fs::create_dir_all(dir.path().join("events")).unwrap();
        let s = Setup { dir };
        s.write("scripts/lunch.lua", &hook(label));
        s.write("agent-audit.toml", "scripts = \"scripts\"\n");
        s.write(
            "events/a.jsonl",
            &lines(&[
                event("jdoe", "LOGIN", "2026-11-02T13:00:00.000Z").status("Available"),
                event("jdoe", "STATE_CHANGE", "2026-11-02T17:00:00.000Z").status("Lunch"),
            ]),
        );
        s
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write(&self, p: &str, text: &str) {
        fs::write(self.path(p), text).unwrap();
    }

    fn config(&self) -> PathBuf {
        self.path("agent-audit.toml")
    }

    fn events(&self) -> Vec<PathBuf> {
        vec![self.path("events")]
    }

    fn live(&self) -> Live {
        Live::new(Engine::open(Some(&self.config()), &self.events()).unwrap())
    }

    /// Reloads the configuration, the events named as before.
    fn reload(&self, live: &mut Live) -> Result<Option<Reloaded>, Vec<String>> {
        let events = self.events();
        live.reload_configuration(Some(&self.config()), &events, &events, false)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }
}

/// The statuses of `login`'s rows on 2026-11-02 (UTC) under the live engine.
fn labels(live: &Live, login: &str) -> Vec<String> {
    let engine = live.engine();
    let agent = engine.store().find_agent(login).unwrap();
    let window = agent_audit::time::Window::local_day(date("2026-11-02"), tz("UTC")).unwrap();
    let report = engine.audit(agent, window).unwrap();
    report.rows.iter().map(|r| r.status.clone()).collect()
}

#[test]
fn nothing_changed_or_the_same_content_saved_again_reloads_nothing() {
    let s = Setup::new("Meal");
    let mut live = s.live();
    assert_eq!(s.reload(&mut live), Ok(None));
    s.write("scripts/lunch.lua", &hook("Meal"));
    assert_eq!(s.reload(&mut live), Ok(None));
    assert_eq!(live.generation_number, 1);
}

#[test]
fn a_changed_hook_is_a_new_generation_that_reads_no_events() {
    let s = Setup::new("Meal");
    let mut live = s.live();
    assert!(labels(&live, "jdoe").contains(&"Meal".to_string()));
    let before = live.engine();
    s.write("scripts/lunch.lua", &hook("Food"));
    assert_eq!(
        s.reload(&mut live),
        Ok(Some(Reloaded::Generation { bytes: 0 }))
    );
    assert_eq!(live.generation_number, 2);
    assert!(labels(&live, "jdoe").contains(&"Food".to_string()));
    // The store is the same one: only the classification is new.
    assert!(std::sync::Arc::ptr_eq(
        before.store(),
        live.engine().store()
    ));
    assert_ne!(before.hash(), live.engine().hash());
}

#[test]
fn a_broken_script_or_a_failing_test_keeps_the_current_generation_and_says_where() {
    let s = Setup::new("Meal");
    let mut live = s.live();
    let hash = live.engine().hash().to_string();
    s.write(
        "scripts/lunch.lua",
        "function classify(snap)\n  return = 'x'\nend\n",
    );
    let problems = s.reload(&mut live).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("lunch.lua:2:") && p.contains("syntax error")),
        "{problems:?}"
    );
    let failing = format!(
        "{}function tests() return {{ {{ name = 'lunch', snapshot = {{ status = {{ name = 'Lunch' }} }}, expect = 'Other' }} }} end\n",
        hook("Food")
    );
    s.write("scripts/lunch.lua", &failing);
    let problems = s.reload(&mut live).unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("test `lunch` failed")),
        "{problems:?}"
    );
    assert_eq!(live.generation_number, 1);
    assert_eq!(live.engine().hash(), hash);
    assert!(labels(&live, "jdoe").contains(&"Meal".to_string()));
    // The fix is the next generation.
    s.write("scripts/lunch.lua", &hook("Fixed"));
    assert!(matches!(
        s.reload(&mut live),
        Ok(Some(Reloaded::Generation { .. }))
    ));
    assert!(labels(&live, "jdoe").contains(&"Fixed".to_string()));
}

#[test]
fn new_events_touch_their_agents_and_an_unchanged_tree_touches_none() {
    let s = Setup::new("Meal");
    let mut live = s.live();
    let never = |_: &agent_audit::input::Source| false;
    assert_eq!(
        live.refresh_events(&s.events(), &never).unwrap(),
        Reloaded::Nothing
    );
    s.write(
        "events/b.jsonl",
        &lines(&[event("asmith", "LOGIN", "2026-11-02T14:00:00.000Z").status("Available")]),
    );
    let Reloaded::Events { touched, bytes } = live.refresh_events(&s.events(), &never).unwrap()
    else {
        panic!("new events are an events change");
    };
    assert!(touched.contains("asmith"), "{touched:?}");
    assert!(!touched.contains("jdoe"), "{touched:?}");
    let new_file = fs::metadata(s.path("events/b.jsonl")).unwrap().len();
    assert_eq!(bytes, new_file, "only the new file was read");
    // A refresh keeps the generation: the configuration did not change.
    assert_eq!(live.generation_number, 1);
    assert!(live.engine().store().find_agent("asmith").is_ok());
}

#[test]
fn pointing_at_other_events_reads_them_in_the_new_generation() {
    let s = Setup::new("Meal");
    let mut live = s.live();
    fs::create_dir_all(s.path("other")).unwrap();
    s.write(
        "other/c.jsonl",
        &lines(&[event("mrivera", "LOGIN", "2026-11-02T14:00:00.000Z").status("Available")]),
    );
    let other = vec![s.path("other")];
    let reloaded = live
        .reload_configuration(Some(&s.config()), &other, &s.events(), false)
        .unwrap();
    assert!(
        matches!(reloaded, Some(Reloaded::Generation { bytes }) if bytes > 0),
        "{reloaded:?}"
    );
    assert!(live.engine().store().find_agent("mrivera").is_ok());
    assert!(live.engine().store().find_agent("jdoe").is_err());
}
