//! Producing jobs: each report authorised, built and written, one agent's reports at a time
//! on the worker threads; a denied or failed report never stops the others. What became of
//! each is an [`Outcome`], a line of the manifest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use super::Job;
use crate::access::Request;
use crate::classify::Labels;
use crate::digest::sha256_hex;
use crate::error::Error;
use crate::generation::Generation;
use crate::reduce::reduce;
use crate::report;
use crate::report::Format;
use crate::store::{Agent, Store};
use crate::time::Window;

/// What became of one job, or (`Removed`) of a report an earlier run wrote that this one
/// no longer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Written,
    Denied,
    Failed,
    Removed,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Written => "written",
            Status::Denied => "denied",
            Status::Failed => "failed",
            Status::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "written" => Status::Written,
            "denied" => Status::Denied,
            "failed" => Status::Failed,
            "removed" => Status::Removed,
            _ => return None,
        })
    }
}

/// One line of the manifest and of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub file: String,
    pub agent: String,
    pub date: String,
    pub timezone: String,
    /// `audit` or `summary`.
    pub kind: &'static str,
    /// Not in the manifest (the file's extension says it); decides the index page.
    #[serde(skip)]
    pub format: Format,
    pub status: Status,
    /// Why it was denied, failed or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a report denied or failed this time: that the file an earlier generation wrote
    /// under its name was deleted (`out_dir` holds only what this generation writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
    /// A report written: its size and SHA-256 (hex), which `merge` and `verify` check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The write failed (not the report): `watch` tries it again.
    #[serde(skip)]
    pub write_failed: bool,
    pub warnings: Vec<String>,
    /// What part of its day the agent's events cover (SPEC §5), for a report written: CSV
    /// reports have no room for it, so the manifest carries it for every report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<ManifestCoverage>,
    /// The generation that produced it.
    pub configuration: String,
}

/// A report's coverage in the manifest: as in a JSON report, in the report's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ManifestCoverage {
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub events_in_window: usize,
    /// Whether the agent's events span the whole day (no row is inferred beyond them).
    pub spans_day: bool,
}

impl ManifestCoverage {
    fn of(coverage: &report::Coverage, tz: chrono_tz::Tz) -> ManifestCoverage {
        ManifestCoverage {
            first_event: coverage.first_event.map(|t| t.format_local(tz)),
            last_event: coverage.last_event.map(|t| t.format_local(tz)),
            events_in_window: coverage.events_in_window,
            spans_day: coverage.spans(),
        }
    }
}

/// Counts for a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub denied: usize,
    pub failed: usize,
    /// Reports an earlier run wrote that this one deleted (denied now, failed now, or no
    /// longer asked for).
    pub removed: usize,
    /// Distinct warning messages, with how many reports carried each.
    pub warnings: BTreeMap<String, usize>,
    /// CSV reports written whose events do not span their whole day (the rows outside the
    /// span are inferred); a JSON or HTML report says so itself.
    pub partial_csv: usize,
}

impl Summary {
    /// The counts of `outcomes`.
    pub fn of(outcomes: &[Outcome]) -> Summary {
        let mut summary = Summary::default();
        for o in outcomes {
            summary.add(o);
        }
        summary
    }

    pub fn ok(&self) -> bool {
        self.denied == 0 && self.failed == 0
    }

    /// The run's result: an error (exit 1) when any report was denied or failed.
    pub fn result(&self) -> Result<(), Error> {
        if self.ok() {
            Ok(())
        } else {
            Err(Error::BatchIncomplete {
                denied: self.denied,
                failed: self.failed,
            })
        }
    }

    pub(crate) fn add(&mut self, outcome: &Outcome) {
        match outcome.status {
            Status::Written => self.written += 1,
            Status::Denied => self.denied += 1,
            Status::Failed => self.failed += 1,
            Status::Removed => self.removed += 1,
        }
        if outcome.removed.is_some() {
            self.removed += 1;
        }
        for w in &outcome.warnings {
            *self.warnings.entry(w.clone()).or_insert(0) += 1;
        }
        if outcome.format == Format::Csv
            && outcome.kind == "audit"
            && outcome
                .coverage
                .as_ref()
                .is_some_and(|c| c.events_in_window > 0 && !c.spans_day)
        {
            self.partial_csv += 1;
        }
    }
}

/// Produces `jobs`, calling `progress` after each. Returns the outcomes in job order.
pub fn produce(
    generation: &Generation,
    store: &Store,
    labels: &Labels,
    requester: Option<&str>,
    jobs: &[Job],
    asked: &crate::access::log::Asked,
    progress: &(dyn Fn() + Sync),
) -> (Vec<Outcome>, Summary) {
    // Group by agent so each timeline is built once.
    let mut by_agent: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        by_agent.entry(job.agent.as_str()).or_default().push(i);
    }
    let groups: Vec<(&str, Vec<usize>)> = by_agent.into_iter().collect();
    let slots: Vec<Mutex<Option<Outcome>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    groups.par_iter().for_each(|(agent, indices)| {
        let found = store.find_agent(agent);
        let timeline = found
            .as_ref()
            .ok()
            .map(|a| reduce(store, a, labels, generation.config.stale_after_ms));
        for &i in indices {
            let job = &jobs[i];
            let outcome = match &found {
                Err(e) => failed(job, generation, e.to_string()),
                Ok(a) => one(
                    (generation, store, labels),
                    requester,
                    job,
                    a,
                    timeline.as_ref(),
                    asked,
                ),
            };
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(outcome);
            }
            progress();
        }
    });
    let outcomes: Vec<Outcome> = slots
        .into_iter()
        .zip(jobs)
        .map(|(slot, job)| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| failed(job, generation, "not produced".to_string()))
        })
        .collect();
    let summary = Summary::of(&outcomes);
    (outcomes, summary)
}

fn failed(job: &Job, generation: &Generation, reason: String) -> Outcome {
    outcome(job, generation, Status::Failed, Some(reason), Vec::new())
}

fn outcome(
    job: &Job,
    generation: &Generation,
    status: Status,
    reason: Option<String>,
    warnings: Vec<String>,
) -> Outcome {
    Outcome {
        file: job.path.display().to_string(),
        agent: job.agent.clone(),
        date: job.date.format("%Y-%m-%d").to_string(),
        timezone: job.timezone.name().to_string(),
        kind: job.kind.as_str(),
        format: job.format,
        status,
        reason,
        removed: None,
        bytes: None,
        sha256: None,
        write_failed: false,
        warnings,
        coverage: None,
        configuration: generation.hash.clone(),
    }
}

/// Authorises, builds and writes one report.
fn one(
    (generation, store, labels): (&Generation, &Store, &Labels),
    requester: Option<&str>,
    job: &Job,
    agent: &Agent,
    timeline: Option<&crate::reduce::Timeline>,
    asked: &crate::access::log::Asked,
) -> Outcome {
    let request = Request::for_agent(requester, agent, job.date, job.timezone);
    let decision = match generation.decide(&request, asked) {
        Ok(d) => d,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    if !decision.allowed {
        let reason = format!("{} (decided by {})", decision.reason, decision.rule);
        return outcome(job, generation, Status::Denied, Some(reason), Vec::new());
    }
    let (Some(timeline), Some(window)) = (timeline, Window::local_day(job.date, job.timezone))
    else {
        return failed(job, generation, "date out of range".to_string());
    };
    let catalog = &generation.classifier.catalog;
    let classes = &labels.classes;
    let mut report = match report::for_agent(agent, timeline, store, classes, catalog, window) {
        Ok(r) => r,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    report.configuration = generation.hash.clone();
    let configured = &generation.config.columns;
    let own;
    let columns = match &job.columns {
        Some(columns) => {
            own = crate::config::headed(columns, configured);
            &own
        }
        None => configured,
    };
    let bytes = match report::render(&report, job.kind, job.format, columns) {
        Ok(b) => b,
        Err(e) => return failed(job, generation, e.to_string()),
    };
    match crate::output::write_unsynced(&job.path, &bytes, &generation.config.s3) {
        Ok(()) => Outcome {
            coverage: Some(ManifestCoverage::of(&report.coverage, job.timezone)),
            bytes: Some(bytes.len() as u64),
            sha256: Some(sha256_hex(&bytes)),
            ..outcome(job, generation, Status::Written, None, report.warnings)
        },
        Err(e) => Outcome {
            write_failed: true,
            ..failed(
                job,
                generation,
                format!("cannot write `{}`: {e}", job.path.display()),
            )
        },
    }
}
