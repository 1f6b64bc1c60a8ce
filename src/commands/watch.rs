//! `agent-audit watch BATCH.toml`: run a batch, then keep its reports current (SPEC §9).
//!
//! The watcher (`crate::watching`) only signals; this loop does the work. A configuration
//! change builds a whole new generation off to the side; only if every file is valid and
//! every embedded test passes does it replace the current one, and then every report is
//! re-emitted. When event files appear or change, only what changed is read and the
//! reports of the agents whose events changed are re-emitted. An invalid change keeps the
//! last good generation and prints the problem; fixing the file reloads. Content that did
//! not change (same generation hash, same events) reloads nothing. After every change
//! `out_dir` holds exactly what the current generation writes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::cli::BatchArgs;
use crate::commands::run::{
    load, produce_with_progress, read_batch, report_outcomes, run_info, say_warnings,
};
use crate::watching::{Burst, Next, Scope, Watcher, describe, signalled_by};
use agent_audit::batch::{Batch, Job, OutDir, Outcome, Status};
use agent_audit::diagnostic::Located;
use agent_audit::engine::{Live, Reloaded};
use agent_audit::error::Error;

pub fn run(args: &BatchArgs) -> Result<(), Error> {
    let (batch, engine) = load(args, None)?;
    crate::commands::print_input_problems(engine.store(), args.quiet);
    let (out, warning) = OutDir::open(&batch, None, &engine.generation().config.s3);
    say_warnings(warning);
    let mut state = State {
        jobs: batch.jobs(engine.store(), None),
        batch,
        out,
        live: Live::new(engine),
        said: Said::default(),
    };
    // Watch before the first run, so a change made while it runs is not missed.
    let poll = state.live.engine().generation().config.s3.poll;
    let mut watcher = Watcher::start(&state.scope(args), poll)?;

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
        let timeout = state.pending().then_some(RETRY);
        let burst = match watcher.next(&state.scope(args), timeout) {
            Next::Burst(burst) => burst,
            Next::Quiet => {
                if let Some(line) = state.retry() {
                    println!("{line}");
                }
                continue;
            }
            Next::Closed => break,
        };
        if burst.changed.is_empty() && !burst.rescan {
            continue;
        }
        let started = Instant::now();
        if let Some(line) = state.reload(args, &burst) {
            println!("{line} in {:.2} s", started.elapsed().as_secs_f64());
        }
        watcher.renew(&state.scope(args));
    }
    Ok(())
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
    /// The warnings the last re-emission printed: a later one prints only new ones.
    said: Said,
}

/// What `watch` printed last, so that each save prints what changed, not everything again.
#[derive(Default)]
struct Said {
    warnings: HashSet<String>,
    partial_csv: usize,
}

impl State {
    /// What this watch depends on.
    fn scope<'a>(&'a self, args: &'a BatchArgs) -> Scope<'a> {
        let engine = self.live.engine_ref();
        let generation = engine.generation();
        let mut own = vec![self.batch.out_dir.as_path()];
        own.extend(generation.decision_log.path());
        Scope {
            files: vec![args.batch.as_path()],
            config: &generation.config,
            events: &self.batch.events,
            own,
        }
    }

    /// Reacts to a burst of changes; returns the line to print, or `None` if nothing
    /// changed.
    fn reload(&mut self, args: &BatchArgs, burst: &Burst) -> Option<String> {
        let (config_changed, events_changed) = {
            let scope = self.scope(args);
            let config: Vec<std::path::PathBuf> =
                burst.configuration(&scope).into_iter().cloned().collect();
            let events: Vec<std::path::PathBuf> =
                burst.events(&scope).into_iter().cloned().collect();
            (config, events)
        };
        let config_refs: Vec<&std::path::PathBuf> = config_changed.iter().collect();
        let events_refs: Vec<&std::path::PathBuf> = events_changed.iter().collect();
        if config_changed.is_empty() && events_changed.is_empty() && !burst.rescan {
            return None;
        }
        if !config_changed.is_empty() || burst.rescan {
            match self.try_configuration(args) {
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{}", crate::render::located(p));
                    }
                    eprintln!(
                        "reload failed: keeping generation {} ({}); fix the file to reload",
                        self.live.generation_number,
                        self.live.engine().hash()
                    );
                    return None;
                }
                Ok(Some(bytes)) => {
                    let what = describe(&config_refs);
                    let read = format!("{what} changed, {bytes} byte(s) of events read");
                    return Some(self.emit(None, &read));
                }
                Ok(None) => {}
            }
        }
        if events_changed.is_empty() && !burst.rescan {
            return None;
        }
        // Only what changed is read: new files, the new lines of grown files, files
        // rewritten otherwise, and files the watcher says were written to (SPEC §9).
        let signalled = signalled_by(&events_refs);
        let (touched, bytes) = match self.live.refresh_events(&self.batch.events, &signalled) {
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
            describe(&events_refs),
        );
        self.jobs = self.batch.jobs(engine.store(), None);
        Some(self.emit(Some(&touched), &what))
    }

    /// Reads the batch file and the configuration again and makes them current if they
    /// changed and are valid; `Ok(Some(bytes of events read))`, or `Ok(None)` if nothing
    /// changed.
    fn try_configuration(&mut self, args: &BatchArgs) -> Result<Option<u64>, Vec<Located>> {
        let batch = read_batch(args).map_err(|e| vec![e])?;
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
        let s3 = self.live.engine().generation().config.s3.clone();
        if batch.out_dir != self.batch.out_dir {
            let (out, warning) = OutDir::open(&batch, None, &s3);
            say_warnings(warning);
            self.out = out;
        } else {
            self.out.s3 = s3;
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
        // What the re-emitted reports were before, to print only what changed.
        let before: HashMap<String, (Status, Option<String>)> = todo
            .iter()
            .filter_map(|j| {
                let o = self.out.outcome(&j.path.display().to_string())?;
                Some((o.file.clone(), (o.status, o.reason.clone())))
            })
            .collect();
        let produced = produce_with_progress(&engine, &self.batch, &todo, "watch", true);
        let settled = self
            .out
            .settle(&self.batch, &self.jobs, produced, engine.hash());
        say_warnings(settled.warnings);
        let (news, same): (Vec<Outcome>, Vec<Outcome>) =
            settled.outcomes.iter().cloned().partition(|o| {
                o.status == Status::Removed
                    || before.get(&o.file) != Some(&(o.status, o.reason.clone()))
            });
        let mut shown = settled.summary.clone();
        shown
            .warnings
            .retain(|w, _| !self.said.warnings.contains(w));
        if shown.partial_csv == self.said.partial_csv {
            shown.partial_csv = 0;
        }
        self.said = Said {
            warnings: settled.summary.warnings.keys().cloned().collect(),
            partial_csv: settled.summary.partial_csv,
        };
        report_outcomes(&news, &shown, quiet);
        let unchanged = same.iter().filter(|o| o.status != Status::Written).count();
        if unchanged > 0 {
            eprintln!(
                "{unchanged} report(s) denied or failed as before, for the same reason (not repeated; manifest.json lists them)"
            );
        }
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
