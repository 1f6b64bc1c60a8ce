//! Keeping `serve` current (SPEC §9, §11): the configuration (statuses, scripts, policies,
//! users) and the events are watched as `watch` watches them, S3 prefixes polled every
//! `refresh_secs`. Each change builds a new engine off to the side — requests in flight
//! keep the one they took — and publishes it whole; a broken change keeps the last good
//! generation and says why.

use std::sync::Arc;
use std::time::Duration;

use agent_audit::engine::{Live, Reloaded};

use super::App;
use crate::watching::{Next, Scope, Watcher, describe, signalled_by};

/// Starts the reload thread. Without a watcher (inotify refused) the events are still
/// polled every `refresh_secs`.
pub fn spawn(app: Arc<App>, live: Live) {
    std::thread::spawn(move || run(&app, live));
}

fn run(app: &App, mut live: Live) {
    let every = Duration::from_secs(app.config.refresh_secs);
    let config = app.config.config.as_deref();
    let events = &app.config.events;
    let mut watcher = {
        let engine = live.engine();
        let scope = scope_of(app, &engine);
        match Watcher::start(&scope, every) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!(
                    "serve: cannot watch for changes ({e}); polling every {}s",
                    every.as_secs()
                );
                None
            }
        }
    };
    loop {
        let engine = live.engine();
        let scope = scope_of(app, &engine);
        let burst = match &watcher {
            Some(w) => match w.next(&scope, Some(every)) {
                Next::Closed => {
                    watcher = None;
                    continue;
                }
                Next::Quiet => None,
                Next::Burst(b) => Some(b),
            },
            None => {
                std::thread::sleep(every);
                None
            }
        };
        let (configuration, changed_events) = match &burst {
            Some(b) => (
                b.rescan || !b.configuration(&scope).is_empty(),
                b.events(&scope),
            ),
            None => (false, Vec::new()),
        };
        if configuration {
            match live.reload_configuration(config, events, events, false) {
                Ok(Some(_)) => {
                    eprintln!(
                        "serve: configuration reloaded: generation {}",
                        live.engine().hash()
                    );
                    *app.reload_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Ok(None) => {}
                Err(problems) => {
                    let said: Vec<String> = problems.iter().map(|p| p.render()).collect();
                    for p in &said {
                        eprintln!(
                            "serve: reload refused, keeping generation {}: {p}",
                            engine.hash()
                        );
                    }
                    *app.reload_error.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(said.join("\n"));
                }
            }
        }
        let signalled = signalled_by(&changed_events);
        match live.refresh_events(events, &signalled) {
            Ok(Reloaded::Events { touched, bytes }) => eprintln!(
                "serve: {} changed: {} agent(s), {bytes} byte(s) read",
                describe(&changed_events),
                touched.len() / 2
            ),
            Ok(_) => {}
            Err(e) => eprintln!("serve: events not refreshed, keeping the store read before: {e}"),
        }
        drop(scope);
        let fresh = live.engine();
        if !Arc::ptr_eq(&fresh, &engine) {
            *app.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&fresh);
            if let Some(w) = &mut watcher {
                w.renew(&scope_of(app, &fresh));
            }
        }
    }
}

fn scope_of<'a>(app: &'a App, engine: &'a agent_audit::engine::Engine) -> Scope<'a> {
    let generation = engine.generation();
    Scope {
        files: vec![app.config.file.as_path()],
        config: &generation.config,
        events: &app.config.events,
        own: generation.decision_log.path().into_iter().collect(),
    }
}
