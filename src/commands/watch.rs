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
//! polled (`agent_audit::s3::poll`), and each new, changed or removed object arrives here as a
//! file event for its URL.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

use crate::cli::BatchArgs;
use crate::commands::run::{load, produce_with_progress, report_outcomes, run_info, say_warnings};
use agent_audit::batch::{Batch, Job, OutDir};
use agent_audit::diagnostic::Located;
use agent_audit::engine::{Live, Reloaded};
use agent_audit::error::Error;
use agent_audit::input;

/// Quiet period that ends a burst of file events: a reload starts once no change that
/// matters has been seen for this long (README: 300 ms of quiet).
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How long the file watcher holds an event back to merge it with its repeats.
const WATCHER_DELAY: Duration = Duration::from_millis(100);

pub fn run(args: &BatchArgs) -> Result<(), Error> {
    let (batch, engine) = load(&args.batch, args.config.as_deref(), None)?;
    crate::commands::print_input_problems(engine.store(), args.quiet);
    let (out, warning) = OutDir::open(&batch, None);
    say_warnings(warning);
    let mut state = State {
        jobs: batch.jobs(engine.store(), None),
        batch,
        out,
        live: Live::new(engine),
    };
    // Watch before the first run, so a change made while it runs is not missed.
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let poller = agent_audit::s3::poll::Poller::spawn(
        &state.batch.events,
        state.live.engine().generation().config.s3.poll,
        s3_events(tx.clone()),
    );
    let mut debouncer =
        new_debouncer(WATCHER_DELAY, None, tx).map_err(|e| Error::Watch(e.to_string()))?;
    let mut watched: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    register(&mut debouncer, &mut watched, &state.watch_list(args));

    // The first generation replaces what the last run into `out_dir` left (SPEC §8).
    let summary = state.settle(None, args.quiet);
    state.write_manifest()?;
    println!(
        "generation 1 ({}): {} report(s) written, {} denied, {} failed, {} removed; watching for changes",
        state.live.engine().hash(),
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
            p.follow(&state.batch.events);
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
    /// The batch file as last read well.
    batch: Batch,
    /// The current generation and events.
    live: Live,
    /// The batch's jobs against the current events.
    jobs: Vec<Job>,
    /// What `out_dir` holds.
    out: OutDir,
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
        if let Some(c) = &self.live.engine().generation().config.file {
            dir_of(&mut list, c);
        }
        let engine = self.live.engine();
        let config = &engine.generation().config;
        for p in config.scripts.iter().chain(&config.policies) {
            // The directory itself, and its parent, which sees it replaced or re-linked.
            if p.is_dir() {
                list.push((p.clone(), false));
            }
            dir_of(&mut list, p);
        }
        for p in self
            .batch
            .events
            .iter()
            .filter(|p| !agent_audit::s3::is_s3(p))
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
        let engine = self.live.engine();
        let config = &engine.generation().config;
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
        if agent_audit::s3::is_s3(path) {
            let events = &self.batch.events;
            return events.iter().any(|e| agent_audit::s3::is_under(path, e));
        }
        let own_output = forms(&self.batch.out_dir)
            .iter()
            .any(|o| path.starts_with(o));
        let temporary = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".agent-audit-"));
        let engine = self.live.engine();
        let log = engine
            .generation()
            .decision_log
            .path()
            .is_some_and(|l| forms(l).iter().any(|l| l == path));
        if own_output || temporary || log {
            return false;
        }
        self.batch
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
                        eprintln!("{}", p.render());
                    }
                    eprintln!(
                        "reload failed: keeping generation {} ({}); fix the file to reload",
                        self.live.generation_number,
                        self.live.engine().hash()
                    );
                    return None;
                }
                Ok(Some(bytes)) => {
                    let what = describe(&config_changed);
                    let read = format!("{what} changed, {bytes} byte(s) of events read");
                    return Some(self.emit(None, &read));
                }
                Ok(None) => {}
            }
        }
        if events_changed.is_empty() && !rescan {
            return None;
        }
        // Only what changed is read: new files, the new lines of grown files, files
        // rewritten otherwise, and files the watcher says were written to (SPEC §9).
        let signalled: HashSet<PathBuf> = events_changed.iter().map(|p| (*p).clone()).collect();
        let was_signalled = |source: &input::Source| match source {
            input::Source::File(p) if !signalled.is_empty() => {
                forms(p).iter().any(|f| signalled.contains(f))
            }
            _ => false,
        };
        let (touched, bytes) = match self.live.refresh_events(&self.batch.events, &was_signalled) {
            Ok(Reloaded::Events { touched, bytes }) => (touched, bytes),
            Ok(_) => return None,
            Err(e) => {
                eprintln!("reload failed: {e}; keeping the events read before");
                return None;
            }
        };
        let engine = self.live.engine();
        crate::commands::print_input_problems(engine.store(), args.quiet);
        let agents = touched.len() / 2;
        let what = format!(
            "{} changed ({agents} agent(s) with new events, {bytes} byte(s) of events read)",
            describe(&events_changed),
        );
        self.jobs = self.batch.jobs(engine.store(), None);
        Some(self.emit(Some(&touched), &what))
    }

    /// Reads the batch file and the configuration again and makes them current if they
    /// changed and are valid; `Ok(Some(bytes of events read))`, or `Ok(None)` if nothing
    /// changed.
    fn try_configuration(&mut self, args: &BatchArgs) -> Result<Option<u64>, Vec<Located>> {
        let batch = Batch::load(&args.batch).map_err(|e| vec![e])?;
        let config = args.config.clone().or_else(|| batch.config.clone());
        let reloaded = self.live.reload_configuration(
            config.as_deref(),
            &batch.events,
            &self.batch.events,
            batch != self.batch,
        )?;
        let Some(Reloaded::Generation { bytes }) = reloaded else {
            return Ok(None);
        };
        if batch.out_dir != self.batch.out_dir {
            let (out, warning) = OutDir::open(&batch, None);
            say_warnings(warning);
            self.out = out;
        }
        self.jobs = batch.jobs(self.live.engine().store(), None);
        self.batch = batch;
        Ok(Some(bytes))
    }

    /// Produces the jobs of `only` agents (all without it), every failed write and every
    /// job not produced yet, and makes `out_dir` what the current generation writes.
    fn settle(
        &mut self,
        only: Option<&HashSet<String>>,
        quiet: bool,
    ) -> agent_audit::batch::Summary {
        let engine = self.live.engine();
        let todo = self.out.to_produce(&self.jobs, only);
        let produced = produce_with_progress(&engine, &self.batch, &todo, "watch", true);
        let settled = self
            .out
            .settle(&self.batch, &self.jobs, produced, engine.hash());
        say_warnings(settled.warnings);
        report_outcomes(&settled.outcomes, &settled.summary, quiet);
        settled.summary
    }

    fn write_manifest(&mut self) -> Result<(), Error> {
        let head = run_info(&self.batch, &self.live.engine());
        self.out.write_manifest(&head)
    }

    /// Re-emits the reports a change affects and the manifest; the line to print.
    fn emit(&mut self, only: Option<&HashSet<String>>, what: &str) -> String {
        let summary = self.settle(only, false);
        if let Err(e) = self.write_manifest() {
            eprintln!("error: {e}");
        }
        self.say_failing();
        format!(
            "generation {} ({}): {what}; {} report(s) re-emitted ({} denied, {} failed, {} removed)",
            self.live.generation_number,
            self.live.engine().hash(),
            summary.written,
            summary.denied,
            summary.failed,
            summary.removed
        )
    }

    /// Whether something failed to be written and is waiting to be tried again.
    fn pending(&self) -> bool {
        self.out.failing().any()
    }

    /// Says which reports cannot be written, if any.
    fn say_failing(&self) {
        let failing = self.out.failing();
        if !failing.any() {
            return;
        }
        let shown: Vec<String> = failing
            .reports
            .iter()
            .take(3)
            .map(|f| format!("`{f}`"))
            .collect();
        let more = failing.reports.len().saturating_sub(3);
        let list = if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        };
        let mut parts = Vec::new();
        if !failing.reports.is_empty() {
            parts.push(format!(
                "{} report(s) could not be written: {list}",
                failing.reports.len()
            ));
        }
        if failing.manifest {
            parts.push("the manifest could not be written".to_string());
        }
        eprintln!(
            "failing: {}; trying again on the next change and every {} s",
            parts.join("; "),
            RETRY.as_secs()
        );
    }

    /// Tries the failed writes again; the line to print, if it changed anything.
    fn retry(&mut self) -> Option<String> {
        let before = self.out.failing();
        let line = self.emit(Some(&HashSet::new()), "retrying what could not be written");
        let after = self.out.failing();
        let better =
            after.reports.len() < before.reports.len() || (before.manifest && !after.manifest);
        better.then_some(line)
    }
}

/// The ways a configured path can appear in a file event: absolute, and with symlinks
/// resolved (the watcher may report either).
fn forms(path: &Path) -> Vec<PathBuf> {
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
