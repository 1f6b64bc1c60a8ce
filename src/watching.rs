//! Watching files for `watch` and `serve`: the watcher only signals, the caller's loop
//! does the work.
//!
//! File events are debounced (notify-debouncer-full, then a quiet period of our own), and
//! each burst is sorted into configuration changes (the batch or `SERVE.toml`, the config
//! file, status scripts, policies, TLS files) and event changes. Directories are watched,
//! never single files, so editors that save by writing a temporary file and renaming it
//! over the original, and symlinked directories swapped in place (as Kubernetes mounts
//! ConfigMaps), are followed; watches are renewed after every change so a replaced
//! directory is picked up. `s3://` prefixes send no events: they are polled
//! (`agent_audit::s3::poll`), and each new, changed or removed object arrives as a file
//! event for its URL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agent_audit::config::Config;
use agent_audit::error::Error;
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

/// Quiet period that ends a burst of file events: a reload starts once no change that
/// matters has been seen for this long (300 ms of quiet, as the docs say).
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How long the file watcher holds an event back to merge it with its repeats.
const WATCHER_DELAY: Duration = Duration::from_millis(100);

/// What a long-running command depends on.
pub struct Scope<'a> {
    /// Single files: the batch file or `SERVE.toml`, TLS certificate and key.
    pub files: Vec<&'a Path>,
    /// The configuration: its own file, scripts and policies.
    pub config: &'a Config,
    pub events: &'a [PathBuf],
    /// What the command writes itself, never events: `out_dir`, the decision log.
    pub own: Vec<&'a Path>,
}

/// One debounced burst of changes.
pub struct Burst {
    pub changed: BTreeSet<PathBuf>,
    /// The watcher lost events (or failed): look at everything again.
    pub rescan: bool,
}

impl Burst {
    /// The changed paths that are configuration.
    pub fn configuration<'p>(&'p self, scope: &Scope<'_>) -> Vec<&'p PathBuf> {
        self.changed
            .iter()
            .filter(|p| scope.is_configuration(p))
            .collect()
    }

    /// The changed paths that are events.
    pub fn events<'p>(&'p self, scope: &Scope<'_>) -> Vec<&'p PathBuf> {
        self.changed.iter().filter(|p| scope.is_events(p)).collect()
    }
}

impl Scope<'_> {
    /// What to watch: (path, recursive). Files are watched through their directories;
    /// event directories recursively.
    fn watch_list(&self) -> Vec<(PathBuf, bool)> {
        fn dir_of(list: &mut Vec<(PathBuf, bool)>, p: &Path) {
            if let Some(parent) = p.parent() {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                list.push((parent.to_path_buf(), false));
            }
        }
        let mut list = Vec::new();
        for f in self
            .files
            .iter()
            .copied()
            .chain(self.config.file.as_deref())
        {
            dir_of(&mut list, f);
        }
        for p in self.config.scripts.iter().chain(&self.config.policies) {
            // The directory itself, and its parent, which sees it replaced or re-linked.
            if p.is_dir() {
                list.push((p.clone(), false));
            }
            dir_of(&mut list, p);
        }
        for p in self.events.iter().filter(|p| !agent_audit::s3::is_s3(p)) {
            if p.is_dir() {
                list.push((p.clone(), true));
            } else {
                dir_of(&mut list, p);
            }
        }
        list
    }

    /// Whether a changed path can affect the configuration: one of the files, the config
    /// file, a file in (or the directory of) the scripts and policies, or the directory
    /// entry of a scripts or policies path itself (a renamed directory, a swapped symlink).
    pub fn is_configuration(&self, path: &Path) -> bool {
        let files = self
            .files
            .iter()
            .copied()
            .chain(self.config.file.as_deref());
        if files
            .into_iter()
            .any(|f| forms(f).iter().any(|f| f == path))
        {
            return true;
        }
        let config = self.config;
        config.scripts.iter().chain(&config.policies).any(|p| {
            forms(p)
                .iter()
                .any(|p| path.starts_with(p) || p.starts_with(path))
        })
    }

    /// Whether a changed path is one of the events (not something the command writes).
    pub fn is_events(&self, path: &Path) -> bool {
        if agent_audit::s3::is_s3(path) {
            return self
                .events
                .iter()
                .any(|e| agent_audit::s3::is_under(path, e));
        }
        let own = self
            .own
            .iter()
            .any(|o| forms(o).iter().any(|o| path.starts_with(o)));
        let temporary = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".agent-audit-"));
        if own || temporary {
            return false;
        }
        self.events
            .iter()
            .any(|e| forms(e).iter().any(|e| path.starts_with(e)))
    }
}

/// Watches a scope's files and polls its S3 prefixes.
pub struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    watched: BTreeMap<PathBuf, Option<PathBuf>>,
    poller: Option<agent_audit::s3::poll::Poller>,
    /// How often the poller lists S3.
    poll: Duration,
    rx: mpsc::Receiver<DebounceEventResult>,
}

/// What waiting for a burst found.
pub enum Next {
    Burst(Burst),
    /// Nothing changed for the time asked.
    Quiet,
    /// The watcher is gone.
    Closed,
}

impl Watcher {
    /// Starts watching `scope` (and polling its `s3://` events every `poll`, with the
    /// configuration's `s3` settings).
    pub fn start(scope: &Scope<'_>, poll: Duration) -> Result<Watcher, Error> {
        let (tx, rx) = mpsc::channel::<DebounceEventResult>();
        let poller = agent_audit::s3::poll::Poller::spawn(
            scope.events,
            &polled(scope, poll),
            s3_events(tx.clone()),
        );
        let debouncer =
            new_debouncer(WATCHER_DELAY, None, tx).map_err(|e| Error::Watch(e.to_string()))?;
        let mut w = Watcher {
            debouncer,
            watched: BTreeMap::new(),
            poller,
            poll,
            rx,
        };
        w.renew(scope);
        Ok(w)
    }

    /// Waits (up to `timeout`, or for ever) for the next burst of changes that matter to
    /// `scope`: the burst ends after a quiet period without one (our own reports,
    /// temporary files and decision log do not count), so 30 saves 100 ms apart are one
    /// reload, not one per save.
    pub fn next(&self, scope: &Scope<'_>, timeout: Option<Duration>) -> Next {
        let first = match timeout {
            Some(t) => match self.rx.recv_timeout(t) {
                Ok(first) => first,
                Err(mpsc::RecvTimeoutError::Timeout) => return Next::Quiet,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Next::Closed,
            },
            None => match self.rx.recv() {
                Ok(first) => first,
                Err(_) => return Next::Closed,
            },
        };
        let mut burst = Burst {
            changed: BTreeSet::new(),
            rescan: false,
        };
        let mut quiet_until = Instant::now() + DEBOUNCE;
        let mut next = Some(first);
        while let Some(result) = next.take() {
            if absorb(scope, result, &mut burst) {
                quiet_until = Instant::now() + DEBOUNCE;
            }
            let left = quiet_until.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(more) => next = Some(more),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Next::Closed,
            }
        }
        Next::Burst(burst)
    }

    /// Follows what `scope` now names: directories may have been replaced (renamed over,
    /// symlinks swapped), and the events may name other prefixes.
    pub fn renew(&mut self, scope: &Scope<'_>) {
        register(&mut self.debouncer, &mut self.watched, &scope.watch_list());
        if let Some(p) = &self.poller {
            p.follow(scope.events, &polled(scope, self.poll));
        }
    }
}

/// The configuration's `s3` settings, polled every `poll`.
fn polled(scope: &Scope<'_>, poll: Duration) -> agent_audit::s3::Settings {
    agent_audit::s3::Settings {
        poll,
        ..scope.config.s3.clone()
    }
}

/// Adds what one watcher report says to `burst`; whether any of it can matter (a change
/// of the configuration or of the events).
fn absorb(scope: &Scope<'_>, result: DebounceEventResult, burst: &mut Burst) -> bool {
    let mut matters = false;
    match result {
        Ok(events) => {
            for e in events {
                if e.need_rescan() {
                    burst.rescan = true;
                    matters = true;
                }
                // Reading files (ours included) only produces access events.
                if matches!(e.kind, EventKind::Access(_)) {
                    continue;
                }
                for path in &e.paths {
                    matters |= scope.is_configuration(path) || scope.is_events(path);
                    burst.changed.insert(path.clone());
                }
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("warning: file watcher: {e}");
            }
            burst.rescan = true;
            matters = true;
        }
    }
    matters
}

/// The ways a configured path can appear in a file event: absolute, and with symlinks
/// resolved (the watcher may report either).
pub fn forms(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::with_capacity(2);
    if let Ok(abs) = std::path::absolute(path) {
        out.push(agent_audit::config::normalize(&abs));
    }
    if let Ok(canonical) = std::fs::canonicalize(path)
        && !out.contains(&canonical)
    {
        out.push(canonical);
    }
    out
}

/// Whether the file source `source` is one of `signalled` (paths the watcher reported
/// written to): such a file is read again even if its size and time look the same.
pub fn signalled_by(
    signalled: &[&PathBuf],
) -> impl Fn(&agent_audit::input::Source) -> bool + use<> {
    let set: std::collections::HashSet<PathBuf> = signalled.iter().map(|p| (*p).clone()).collect();
    move |source| match source {
        agent_audit::input::Source::File(p) if !set.is_empty() => {
            forms(p).iter().any(|f| set.contains(f))
        }
        _ => false,
    }
}

/// Sends the URLs of changed S3 objects as file events, so one loop handles both.
fn s3_events(tx: mpsc::Sender<DebounceEventResult>) -> impl Fn(Vec<String>) + Send + 'static {
    move |urls| {
        use notify_debouncer_full::notify::{Event, event::ModifyKind};
        let events = urls
            .into_iter()
            .map(|url| {
                let event = Event::new(EventKind::Modify(ModifyKind::Any)).add_path(url.into());
                notify_debouncer_full::DebouncedEvent::new(event, Instant::now())
            })
            .collect();
        let _ = tx.send(Ok(events));
    }
}

/// The paths, relative to the working directory, for a line of the log.
pub fn describe(paths: &[&PathBuf]) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let names: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.strip_prefix(&cwd).unwrap_or(p).display().to_string())
        .collect();
    match paths.len() {
        0 => "configuration".to_string(),
        n if n > 3 => format!("{} and {} more", names.join(", "), n - 3),
        _ => names.join(", "),
    }
}

/// Watches what `list` names. A path already watched is left alone unless what it
/// resolves to changed (a directory replaced, a symlink swapped), so no event is lost to a
/// needless unwatch.
fn register(
    debouncer: &mut Debouncer<RecommendedWatcher, RecommendedCache>,
    watched: &mut BTreeMap<PathBuf, Option<PathBuf>>,
    list: &[(PathBuf, bool)],
) {
    let wanted: BTreeMap<&PathBuf, bool> = list.iter().map(|(p, r)| (p, *r)).collect();
    let stale: Vec<PathBuf> = watched
        .iter()
        .filter(|(path, target)| {
            !wanted.contains_key(path) || std::fs::canonicalize(path).ok() != **target
        })
        .map(|(path, _)| path.clone())
        .collect();
    for path in stale {
        let _ = debouncer.unwatch(&path);
        watched.remove(&path);
    }
    for (path, recursive) in wanted {
        if watched.contains_key(path) {
            continue;
        }
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        match debouncer.watch(path, mode) {
            Ok(()) => {
                watched.insert(path.clone(), std::fs::canonicalize(path).ok());
            }
            Err(e) => eprintln!("warning: cannot watch `{}`: {e}", path.display()),
        }
    }
}
