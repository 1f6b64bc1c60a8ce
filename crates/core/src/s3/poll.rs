//! `watch` on `s3://` prefixes: S3 sends no file events, so the prefixes are listed every
//! poll interval and compared by key and ETag with the listing before. A new, changed or
//! removed object is reported once, by its URL; the watcher decides what to re-read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{Location, Settings, list};

/// Every object under the prefixes, by URL, with its ETag (or size when there is none).
type Snapshot = BTreeMap<String, String>;

/// A background thread that polls; it stops when dropped.
pub struct Poller {
    /// What to list, and the settings of the configuration that asked for it.
    prefixes: Arc<Mutex<(Vec<Location>, Settings)>>,
    stop: Arc<AtomicBool>,
}

impl Poller {
    /// Lists the `s3://` paths among `paths` now (the state later polls compare with), then
    /// every `settings.poll`, calling `on_change` with the URLs of the objects that
    /// appeared, changed or disappeared. `None` when no path is an S3 location.
    pub fn spawn(
        paths: &[PathBuf],
        settings: &Settings,
        on_change: impl Fn(Vec<String>) + Send + 'static,
    ) -> Option<Poller> {
        let prefixes = locations(paths);
        if prefixes.is_empty() {
            return None;
        }
        let mut before = snapshot(&prefixes, settings, &Snapshot::new());
        let prefixes = Arc::new(Mutex::new((prefixes, settings.clone())));
        let stop = Arc::new(AtomicBool::new(false));
        let poller = Poller {
            prefixes: prefixes.clone(),
            stop: stop.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("agent-audit-s3-poll".to_string())
            .spawn(move || {
                loop {
                    let every = prefixes.lock().unwrap_or_else(|e| e.into_inner()).1.poll;
                    std::thread::sleep(every);
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let (current, settings) =
                        prefixes.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let now = snapshot(&current, &settings, &before);
                    let changed = diff(&before, &now);
                    before = now;
                    if !changed.is_empty() {
                        on_change(changed);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("warning: cannot poll S3 for changes: {e}");
            return None;
        }
        Some(poller)
    }

    /// Polls these paths' S3 locations under these settings from now on (the batch file
    /// or the configuration may have changed).
    pub fn follow(&self, paths: &[PathBuf], settings: &Settings) {
        *self.prefixes.lock().unwrap_or_else(|e| e.into_inner()) =
            (locations(paths), settings.clone());
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn locations(paths: &[PathBuf]) -> Vec<Location> {
    paths
        .iter()
        .filter_map(|p| Location::of(p).and_then(Result::ok))
        .collect()
}

/// The objects under `prefixes` now. A prefix that cannot be listed keeps what `before`
/// had for it, so a passing outage does not look like every object removed and re-added.
fn snapshot(prefixes: &[Location], settings: &Settings, before: &Snapshot) -> Snapshot {
    let mut now = Snapshot::new();
    for location in prefixes {
        match list(location, settings) {
            Ok(objects) => {
                for o in objects {
                    let tag = o.etag.clone().unwrap_or_else(|| format!("size {}", o.size));
                    now.insert(o.url(), tag);
                }
            }
            Err(e) if e.not_found => {}
            Err(e) => {
                eprintln!("warning: cannot list {e}; trying again at the next poll");
                let url = location.url();
                let under = |k: &String| k == &url || k.starts_with(&format!("{url}/"));
                now.extend(
                    before
                        .iter()
                        .filter(|(k, _)| under(k))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
        }
    }
    now
}

/// The URLs whose presence or ETag differ.
fn diff(before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let changed = now
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone());
    let removed = before.keys().filter(|k| !now.contains_key(*k)).cloned();
    changed.chain(removed).collect()
}
