//! `agent-audit watch BATCH.toml`: run a batch, then keep its reports current (SPEC §9).
//!
//! The watcher only signals; the loop does the work. File events are debounced
//! (notify-debouncer-full), then the loop decides what changed: the configuration (batch
//! file, config file, status scripts, policies) or the events. A configuration change
//! builds a whole new generation off to the side; only if every file is valid and every
//! embedded test passes does it replace the current one, and then every report is
//! re-emitted. When event files appear or change, the events are read again and the
//! reports of the agents whose events changed are re-emitted. An invalid change keeps the last good generation and
//! prints the problem; fixing the file reloads. Content that did not change (same
//! generation hash, same events) reloads nothing.
//!
//! Directories are watched, never single files, so editors that save by writing a temporary
//! file and renaming it over the original, and symlinked directories swapped in place (as
//! Kubernetes mounts ConfigMaps), are followed; watches are re-registered after every
//! change so a replaced directory is picked up. `s3://` prefixes send no events: they are
//! polled (`crate::s3::poll`), and each new, changed or removed object arrives here as a
//! file event for its URL.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

use crate::batch::{Batch, Job, Outcome, RunInfo, Status, Summary, reconcile, write_manifest};
use crate::classify::classify;
use crate::cli::BatchArgs;
use crate::commands::run::{
    Loaded, load, previous_manifest, produce_with_progress, read_events, report_outcomes,
};
use crate::diagnostic::Located;
use crate::error::Error;
use crate::generation::Generation;
use crate::input;
use crate::store::{ReadError, ReadOptions};

/// Quiet period that ends a burst of file events: a reload starts once no change that
/// matters has been seen for this long (README: 300 ms of quiet).
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How long the file watcher holds an event back to merge it with its repeats.
const WATCHER_DELAY: Duration = Duration::from_millis(100);

pub fn run(args: &BatchArgs) -> Result<(), Error> {
    let loaded = load(&args.batch, args.config.as_deref(), None)?;
    crate::commands::print_input_problems(&loaded.store, args.quiet);
    let mut state = State {
        manifest: HashMap::new(),
        manifest_failed: false,
        loaded,
        generation_number: 1,
    };
    // Watch before the first run, so a change made while it runs is not missed.
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let poller = crate::s3::poll::Poller::spawn(
        &state.loaded.batch.events,
        state.loaded.generation.config.s3.poll,
        s3_events(tx.clone()),
    );
    let mut debouncer =
        new_debouncer(WATCHER_DELAY, None, tx).map_err(|e| Error::Watch(e.to_string()))?;
    let mut watched: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    register(&mut debouncer, &mut watched, &state.watch_list(args));

    // The first generation replaces what the last run into `out_dir` left (SPEC §8).
    let previous = previous_manifest(&state.loaded.batch.out_dir, None);
    let summary = state.settle(previous, state.loaded.jobs.clone(), args.quiet);
    state.write_manifest()?;
    println!(
        "generation 1 ({}): {} report(s) written, {} denied, {} failed, {} removed; watching for changes",
        state.loaded.generation.hash,
        summary.written,
        summary.denied,
        summary.failed,
        summary.removed
    );
    state.say_failing();

    loop {
        // Reports whose write failed (and a manifest that could not be written) are tried
        // again on the next change, and every RETRY while nothing changes.
        let first = if state.pending() {
            match rx.recv_timeout(RETRY) {
                Ok(first) => first,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(line) = state.retry() {
                        println!("{line}");
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(first) => first,
                Err(_) => break,
            }
        };
        let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
        let mut rescan = false;
        // Debounce as documented: the burst ends after DEBOUNCE without a change that
        // matters (our own reports, temporary files and decision log do not count), so
        // 30 saves 100 ms apart are one reload, not one per save.
        let mut quiet_until = Instant::now() + DEBOUNCE;
        let mut next = Some(first);
        while let Some(result) = next.take() {
            if absorb(&state, args, result, &mut changed, &mut rescan) {
                quiet_until = Instant::now() + DEBOUNCE;
            }
            let left = quiet_until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(more) => next = Some(more),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
        // Reading files (ours included) only produces access events: nothing to do.
        if changed.is_empty() && !rescan {
            continue;
        }
        let started = Instant::now();
        if let Some(line) = state.reload(args, &changed, rescan) {
            println!("{line} in {:.2} s", started.elapsed().as_secs_f64());
        }
        // Directories may have been replaced (renamed over, symlinks swapped).
        register(&mut debouncer, &mut watched, &state.watch_list(args));
        if let Some(p) = &poller {
            p.follow(&state.loaded.batch.events);
        }
    }
    Ok(())
}

/// Adds what one watcher report says to `changed` (or `rescan`); whether any of it can
/// affect the reports (a change of the configuration or of the events).
fn absorb(
    state: &State,
    args: &BatchArgs,
    result: DebounceEventResult,
    changed: &mut BTreeSet<PathBuf>,
    rescan: &mut bool,
) -> bool {
    let mut matters = false;
    match result {
        Ok(events) => {
            for e in events {
                if e.need_rescan() {
                    *rescan = true;
                    matters = true;
                }
                if matches!(e.kind, EventKind::Access(_)) {
                    continue;
                }
                for path in &e.paths {
                    matters |= state.is_configuration(args, path) || state.is_events(path);
                    changed.insert(path.clone());
                }
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("warning: file watcher: {e}");
            }
            *rescan = true;
            matters = true;
        }
    }
    matters
}

/// How often reports whose write failed are tried again while nothing changes.
const RETRY: Duration = Duration::from_secs(5);

struct State {
    /// The batch, the current generation, and the event store it is classified against.
    loaded: Loaded,
    /// What `out_dir` holds: the outcome of every current job (and the reports this
    /// generation removed), by file.
    manifest: HashMap<String, Outcome>,
    /// The manifest could not be written: try again.
    manifest_failed: bool,
    generation_number: u64,
}

impl State {
    /// What to watch: (path, recursive). Configuration files are watched through their
    /// directories; event directories recursively.
    fn watch_list(&self, args: &BatchArgs) -> Vec<(PathBuf, bool)> {
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
        dir_of(&mut list, &args.batch);
        if let Some(c) = &self.loaded.generation.config.file {
            dir_of(&mut list, c);
        }
        let config = &self.loaded.generation.config;
        for p in config.scripts.iter().chain(&config.policies) {
            // The directory itself, and its parent, which sees it replaced or re-linked.
            if p.is_dir() {
                list.push((p.clone(), false));
            }
            dir_of(&mut list, p);
        }
        for p in self
            .loaded
            .batch
            .events
            .iter()
            .filter(|p| !crate::s3::is_s3(p))
        {
            if p.is_dir() {
                list.push((p.clone(), true));
            } else {
                dir_of(&mut list, p);
            }
        }
        list
    }

    /// Whether a changed path can affect the configuration: the batch or config file, a
    /// file in (or the directory of) the scripts and policies, or the directory entry of a
    /// scripts or policies path itself (a renamed directory, a swapped symlink).
    fn is_configuration(&self, args: &BatchArgs, path: &Path) -> bool {
        let config = &self.loaded.generation.config;
        let files = std::iter::once(args.batch.as_path()).chain(config.file.as_deref());
        if files
            .into_iter()
            .any(|f| forms(f).iter().any(|f| f == path))
        {
            return true;
        }
        config.scripts.iter().chain(&config.policies).any(|p| {
            forms(p)
                .iter()
                .any(|p| path.starts_with(p) || p.starts_with(path))
        })
    }

    fn is_events(&self, path: &Path) -> bool {
        if crate::s3::is_s3(path) {
            let events = &self.loaded.batch.events;
            return events.iter().any(|e| crate::s3::is_under(path, e));
        }
        let own_output = forms(&self.loaded.batch.out_dir)
            .iter()
            .any(|o| path.starts_with(o));
        let temporary = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".agent-audit-"));
        let log = self
            .loaded
            .generation
            .decision_log
            .path()
            .is_some_and(|l| forms(l).iter().any(|l| l == path));
        if own_output || temporary || log {
            return false;
        }
        self.loaded
            .batch
            .events
            .iter()
            .any(|e| forms(e).iter().any(|e| path.starts_with(e)))
    }

    /// Reacts to changed paths; returns the line to print, or `None` if nothing changed.
    fn reload(
        &mut self,
        args: &BatchArgs,
        changed: &BTreeSet<PathBuf>,
        rescan: bool,
    ) -> Option<String> {
        let config_changed: Vec<&PathBuf> = changed
            .iter()
            .filter(|p| self.is_configuration(args, p))
            .collect();
        let events_changed: Vec<&PathBuf> = changed.iter().filter(|p| self.is_events(p)).collect();
        if config_changed.is_empty() && events_changed.is_empty() && !rescan {
            return None;
        }
        if !config_changed.is_empty() || rescan {
            match self.try_configuration(args) {
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    eprintln!(
                        "reload failed: keeping generation {} ({}); fix the file to reload",
                        self.generation_number, self.loaded.generation.hash
                    );
                    return None;
                }
                Ok(Some((new, bytes))) => {
                    let what = describe(&config_changed);
                    let read = format!("{what} changed, {bytes} byte(s) of events read");
                    return Some(self.swap(new, &read));
                }
                Ok(None) => {}
            }
        }
        if events_changed.is_empty() && !rescan {
            return None;
        }
        // Only what changed is read: new files, the new lines of grown files, files
        // rewritten otherwise (SPEC §9).
        let bytes_before = self.loaded.store.stats.bytes;
        let before = self.agent_keys();
        let signalled: Vec<PathBuf> = events_changed.iter().map(|p| (*p).clone()).collect();
        let touched = match self.refresh_events(&signalled) {
            Ok(Some(t)) => t,
            Ok(None) => return None,
            Err(e) => {
                eprintln!("reload failed: {e}; keeping the events read before");
                return None;
            }
        };
        crate::commands::print_input_problems(&self.loaded.store, args.quiet);
        // The agents with new events, and those whose last events were deleted (their
        // reports now fail or are removed, as a fresh run's would), by login key and ARN.
        let store = &self.loaded.store;
        let mut logins: HashSet<String> = touched
            .iter()
            .filter_map(|&i| store.agents.get(i))
            .flat_map(|a| {
                [
                    crate::login::key(&a.profile.login),
                    crate::login::key(&a.arn),
                ]
            })
            .collect();
        let after = self.agent_keys();
        logins.extend(before.difference(&after).cloned());
        let what = format!(
            "{} changed ({} agent(s) with new events, {} byte(s) of events read)",
            describe(&events_changed),
            touched.len(),
            self.loaded.store.stats.bytes.saturating_sub(bytes_before)
        );
        self.loaded.labels = classify(&self.loaded.store, &self.loaded.generation.classifier);
        self.loaded.jobs = self.loaded.batch.jobs(&self.loaded.store, None);
        Some(self.emit(Some(&logins), &what))
    }

    /// Every agent's login key and ARN key, as `emit` matches jobs by them.
    fn agent_keys(&self) -> HashSet<String> {
        self.loaded
            .store
            .agents
            .iter()
            .flat_map(|a| {
                [
                    crate::login::key(&a.profile.login),
                    crate::login::key(&a.arn),
                ]
            })
            .collect()
    }

    /// Reads what changed in the event files into the store; the agents touched, or
    /// `None` if nothing changed. Should a dropped file have held an agent's first event,
    /// whose previous snapshot only that file had, everything is read again.
    fn refresh_events(&mut self, signalled: &[PathBuf]) -> Result<Option<Vec<usize>>, Error> {
        let sources = input::expand(&self.loaded.batch.events).map_err(ReadError::from)?;
        let store = &mut self.loaded.store;
        // A file the watcher says was written to is read again even if its size and time
        // look the same (the watcher may name it absolute or with symlinks resolved).
        let signalled: HashSet<PathBuf> = signalled.iter().cloned().collect();
        let was_signalled = |source: &input::Source| match source {
            input::Source::File(p) if !signalled.is_empty() => {
                forms(p).iter().any(|f| signalled.contains(f))
            }
            _ => false,
        };
        let touched = store.refresh(&sources, &ReadOptions::default(), &was_signalled)?;
        if touched.is_some() && store.lost_first_previous() {
            self.loaded.store = read_events(&self.loaded.batch, None)?;
            return Ok(Some((0..self.loaded.store.agents.len()).collect()));
        }
        Ok(touched)
    }

    /// A new generation if the configuration's content changed and is valid; `Ok(None)` if
    /// nothing changed. The events are not read again unless the batch names other ones.
    fn try_configuration(
        &mut self,
        args: &BatchArgs,
    ) -> Result<Option<(Loaded, u64)>, Vec<String>> {
        let batch = Batch::load(&args.batch).map_err(|e| vec![e.render()])?;
        let config = args.config.clone().or_else(|| batch.config.clone());
        let generation = Generation::load(config.as_deref())
            .map_err(|errors| errors.iter().map(Located::render).collect::<Vec<_>>())?;
        if generation.hash == self.loaded.generation.hash && batch == self.loaded.batch {
            return Ok(None);
        }
        generation
            .may_replace(&self.loaded.generation)
            .map_err(|e| vec![e.render()])?;
        // A generation whose own tests fail is not a good generation.
        let failures: Vec<String> = generation
            .run_tests()
            .into_iter()
            .filter(|r| r.outcome.is_err())
            .map(|r| r.render())
            .collect();
        if !failures.is_empty() {
            return Err(failures);
        }
        crate::s3::configure(&generation.config.s3);
        let (store, bytes) = if batch.events == self.loaded.batch.events {
            (std::mem::take(&mut self.loaded.store), 0)
        } else {
            let store = read_events(&batch, None).map_err(|e| vec![e.to_string()])?;
            let bytes = store.stats.bytes;
            (store, bytes)
        };
        let labels = classify(&store, &generation.classifier);
        let loaded = Loaded {
            jobs: batch.jobs(&store, None),
            batch,
            generation: Arc::new(generation),
            store,
            labels,
        };
        Ok(Some((loaded, bytes)))
    }

    /// Makes `new` current and re-emits every report.
    fn swap(&mut self, new: Loaded, what: &str) -> String {
        self.loaded = new;
        self.generation_number += 1;
        self.emit(None, what)
    }

    /// Re-emits the current reports (all, or those of `only` agents, with every report
    /// whose write failed and every job not yet produced) and the manifest.
    fn emit(&mut self, only: Option<&HashSet<String>>, what: &str) -> String {
        let jobs: Vec<Job> = self
            .loaded
            .jobs
            .iter()
            .filter(|j| {
                only.is_none_or(|set| set.contains(&crate::login::key(&j.agent)))
                    || self
                        .manifest
                        .get(&j.path.display().to_string())
                        .is_none_or(|o| o.write_failed)
            })
            .cloned()
            .collect();
        let previous: Vec<Outcome> = self.manifest.values().cloned().collect();
        let summary = self.settle(previous, jobs, false);
        if let Err(e) = self.write_manifest() {
            eprintln!("error: {e}");
        }
        self.say_failing();
        format!(
            "generation {} ({}): {what}; {} report(s) re-emitted ({} denied, {} failed, {} removed)",
            self.generation_number,
            self.loaded.generation.hash,
            summary.written,
            summary.denied,
            summary.failed,
            summary.removed
        )
    }

    /// Produces `jobs`, and makes the manifest (and `out_dir`) what the current generation
    /// writes: the outcome just produced for each job produced, the last one for every other
    /// current job, and whatever `previous` listed that no current job writes removed.
    /// The counts are of what was produced and removed now.
    fn settle(&mut self, previous: Vec<Outcome>, jobs: Vec<Job>, quiet: bool) -> Summary {
        let (produced, _) = produce_with_progress(&self.loaded, &jobs, "watch", true);
        let mut produced: HashMap<String, Outcome> =
            produced.into_iter().map(|o| (o.file.clone(), o)).collect();
        let mut all: Vec<Outcome> = Vec::with_capacity(self.loaded.jobs.len());
        let mut now: Vec<Outcome> = Vec::new();
        for job in &self.loaded.jobs {
            let file = job.path.display().to_string();
            if let Some(o) = produced.remove(&file) {
                all.push(o.clone());
                now.push(o);
            } else if let Some(o) = self.manifest.get(&file) {
                all.push(Outcome {
                    removed: None,
                    ..o.clone()
                });
            }
        }
        let loaded = &self.loaded;
        for w in reconcile(
            &loaded.batch.out_dir,
            &loaded.batch,
            &previous,
            &mut all,
            &loaded.generation.hash,
        ) {
            eprintln!("warning: {}", crate::diagnostic::terminal_safe(&w));
        }
        // What reconcile removed belongs to this generation's counts too.
        let produced_files: HashSet<&str> = now.iter().map(|o| o.file.as_str()).collect();
        let mut counted: Vec<Outcome> = all
            .iter()
            .filter(|o| produced_files.contains(o.file.as_str()) || o.status == Status::Removed)
            .cloned()
            .collect();
        counted.sort_by(|a, b| a.file.cmp(&b.file));
        let summary = Summary::of(&counted);
        report_outcomes(&counted, &summary, quiet);
        self.manifest = all.into_iter().map(|o| (o.file.clone(), o)).collect();
        summary
    }

    /// Writes the manifest of what `out_dir` holds now.
    fn write_manifest(&mut self) -> Result<(), Error> {
        let mut all: Vec<Outcome> = self.manifest.values().cloned().collect();
        all.sort_by(|a, b| a.file.cmp(&b.file));
        let loaded = &self.loaded;
        let head = RunInfo {
            configuration: loaded.generation.hash.clone(),
            run: loaded.batch.identity(&loaded.generation.hash),
        };
        let result = write_manifest(&loaded.batch.out_dir, &head, &all, None);
        self.manifest_failed = result.is_err();
        // A removal is said once, in the manifest of the generation that made it.
        self.manifest.retain(|_, o| o.status != Status::Removed);
        result
    }

    /// Whether something failed to be written and is waiting to be tried again.
    fn pending(&self) -> bool {
        self.manifest_failed || self.manifest.values().any(|o| o.write_failed)
    }

    /// Says which reports cannot be written, if any.
    fn say_failing(&self) {
        let mut failing: Vec<&str> = self
            .manifest
            .values()
            .filter(|o| o.write_failed)
            .map(|o| o.file.as_str())
            .collect();
        if failing.is_empty() && !self.manifest_failed {
            return;
        }
        failing.sort_unstable();
        let shown: Vec<String> = failing.iter().take(3).map(|f| format!("`{f}`")).collect();
        let more = failing.len().saturating_sub(3);
        let list = if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        };
        let manifest = if self.manifest_failed {
            "the manifest could not be written"
        } else {
            ""
        };
        let sep = if !failing.is_empty() && self.manifest_failed {
            "; "
        } else {
            ""
        };
        let reports = if failing.is_empty() {
            String::new()
        } else {
            format!("{} report(s) could not be written: {list}", failing.len())
        };
        eprintln!(
            "failing: {reports}{sep}{manifest}; trying again on the next change and every {} s",
            RETRY.as_secs()
        );
    }

    /// Tries the failed writes again; the line to print, if it changed anything.
    fn retry(&mut self) -> Option<String> {
        let before = self.manifest.values().filter(|o| o.write_failed).count();
        let was_failing_manifest = self.manifest_failed;
        let line = self.emit(Some(&HashSet::new()), "retrying what could not be written");
        let after = self.manifest.values().filter(|o| o.write_failed).count();
        (after < before || (was_failing_manifest && !self.manifest_failed)).then_some(line)
    }
}

/// The ways a configured path can appear in a file event: absolute, and with symlinks
/// resolved (the watcher may report either).
fn forms(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::with_capacity(2);
    if let Ok(abs) = std::path::absolute(path) {
        out.push(crate::config::normalize(&abs));
    }
    if let Ok(canonical) = std::fs::canonicalize(path)
        && !out.contains(&canonical)
    {
        out.push(canonical);
    }
    out
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

fn describe(paths: &[&PathBuf]) -> String {
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
fn register<W: notify_debouncer_full::notify::Watcher, C: notify_debouncer_full::FileIdCache>(
    debouncer: &mut notify_debouncer_full::Debouncer<W, C>,
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
