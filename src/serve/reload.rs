//! Keeping `serve` current (SPEC §9, §11): the configuration (statuses, scripts, policies,
//! users) and the events are watched as `watch` watches them, S3 prefixes polled every
//! `refresh_secs`. Each change builds a new engine off to the side — requests in flight
//! keep the one they took — and publishes it whole; a broken change keeps the last good
//! generation and says why.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agent_audit::engine::{Live, Reloaded};

use super::{App, ServeConfig, Settings};
use crate::watching::{Next, Scope, Watcher, describe, signalled_by};

/// Starts the reload thread; `runtime` runs what a new `SERVE.toml` needs fetched (a
/// new provider's discovery). Without a watcher (inotify refused) the events are still
/// polled every `refresh_secs`.
pub fn spawn(app: Arc<App>, live: Live, runtime: tokio::runtime::Handle) {
    std::thread::spawn(move || run(&app, live, &runtime));
}

fn run(app: &App, mut live: Live, runtime: &tokio::runtime::Handle) {
    let mut watcher = {
        let (settings, engine) = (app.settings(), live.engine());
        let every = Duration::from_secs(settings.config.refresh_secs);
        match Watcher::start(&scope_of(&settings, &engine), every) {
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
        let settings = app.settings();
        let every = Duration::from_secs(settings.config.refresh_secs);
        let engine = live.engine();
        let scope = scope_of(&settings, &engine);
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
        let mut events = settings.config.events.clone();
        if configuration {
            let mut refused = Vec::new();
            // SERVE.toml first: it may name another configuration or other events.
            let next = match reread(&settings, runtime) {
                Ok(next) => next,
                Err(why) => {
                    refused.push(why);
                    None
                }
            };
            let (config, paths_changed) = match &next {
                Some(n) => (
                    n.config.config.clone(),
                    n.config.config != settings.config.config || n.config.events != events,
                ),
                None => (settings.config.config.clone(), false),
            };
            let wanted = next.as_ref().map_or(&events, |n| &n.config.events).clone();
            match live.reload_configuration(config.as_deref(), &wanted, &events, paths_changed) {
                Ok(reloaded) => {
                    if let Some(n) = next {
                        *app.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(n);
                        eprintln!("serve: `{}` reloaded", settings.config.file.display());
                        events = wanted;
                    }
                    if reloaded.is_some() {
                        eprintln!(
                            "serve: configuration reloaded: generation {}",
                            live.engine().hash()
                        );
                    }
                }
                Err(problems) => {
                    refused.extend(problems.iter().map(crate::render::located));
                    if next.is_some() {
                        refused.push(format!(
                            "the change of `{}` waits for a configuration that loads",
                            settings.config.file.display()
                        ));
                    }
                }
            }
            for p in &refused {
                eprintln!(
                    "serve: reload refused, keeping generation {}: {p}",
                    engine.hash()
                );
            }
            *app.reload_error.lock().unwrap_or_else(|e| e.into_inner()) =
                (!refused.is_empty()).then(|| refused.join("\n"));
        }
        let signalled = signalled_by(&changed_events);
        match live.refresh_events(&events, &signalled) {
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
        let now = app.settings();
        if !Arc::ptr_eq(&fresh, &engine) {
            *app.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&fresh);
        }
        if (!Arc::ptr_eq(&fresh, &engine) || !Arc::ptr_eq(&now, &settings))
            && let Some(w) = &mut watcher
        {
            w.renew(&scope_of(&now, &fresh));
        }
    }
}

/// `SERVE.toml` read again: `None` when it says what it said, the new settings when it
/// changed and can replace the running ones; why not otherwise (the running settings
/// stay).
fn reread(
    settings: &Settings,
    runtime: &tokio::runtime::Handle,
) -> Result<Option<Settings>, String> {
    if settings.config.demo {
        // Demo mode has no SERVE.toml: its settings are fixed.
        return Ok(None);
    }
    let file = &settings.config.file;
    let next = ServeConfig::load(file).map_err(|e| crate::render::located(&e))?;
    if next == settings.config {
        return Ok(None);
    }
    if let Some(why) = settings.config.needs_restart(&next) {
        return Err(format!("`{}`: {why}", file.display()));
    }
    runtime
        .block_on(Settings::new(next, Some(settings)))
        .map(Some)
        .map_err(|e| e.to_string())
}

fn scope_of<'a>(settings: &'a Settings, engine: &'a agent_audit::engine::Engine) -> Scope<'a> {
    let generation = engine.generation();
    let config = &settings.config;
    Scope {
        files: std::iter::once(config.file.as_path())
            .chain(config.read.iter().map(PathBuf::as_path))
            .collect(),
        config: &generation.config,
        events: &config.events,
        own: generation.decision_log.path().into_iter().collect(),
    }
}
