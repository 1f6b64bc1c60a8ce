//! What one output directory holds, kept across a run, or across the generations of
//! `watch`: the outcome of every current job, what the last change removed, and what could
//! not be written (to try again).
//!
//! The shells produce jobs through the engine and hand the outcomes here; this module
//! makes `out_dir` and its manifest agree with them (SPEC §8: `out_dir` holds exactly what
//! the current generation writes).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::{Batch, Job, Manifest, Outcome, RunInfo, Shard, Status, Summary, reconcile};
use crate::error::Error;

/// An output directory and what its manifest lists.
pub struct OutDir {
    pub path: PathBuf,
    /// The `s3` settings of the configuration writing it (an `s3://` prefix is reached
    /// with them); `watch` sets those of each new generation.
    pub s3: crate::s3::Settings,
    shard: Option<Shard>,
    /// By file: the outcome of every current job, and the reports the last change removed.
    manifest: HashMap<String, Outcome>,
    /// The manifest could not be written: try again.
    manifest_failed: bool,
}

/// What one change did to the output directory.
pub struct Settled {
    /// The outcomes produced now and the reports removed now, in file order.
    pub outcomes: Vec<Outcome>,
    pub summary: Summary,
    /// Things to say (a previous manifest naming files outside its reports, a report that
    /// could not be removed).
    pub warnings: Vec<String>,
}

/// What cannot be written, to say and to try again.
pub struct Failing {
    pub reports: Vec<String>,
    pub manifest: bool,
}

impl OutDir {
    /// The output directory of `batch` (a shard's part of it, with `shard`), with what its
    /// last manifest lists (which this run may remove). A manifest that cannot be read
    /// removes nothing: the warning says so.
    pub fn open(
        batch: &Batch,
        shard: Option<Shard>,
        s3: &crate::s3::Settings,
    ) -> (OutDir, Option<String>) {
        let path =
            crate::output::join(&batch.out_dir, &Shard::file_name(shard, "manifest", "json"));
        let (previous, warning) = match Manifest::read(&path, s3) {
            Ok(found) => (found.map(|m| m.reports).unwrap_or_default(), None),
            Err(e) => (
                Vec::new(),
                Some(format!(
                    "cannot read the previous manifest `{}` ({e}): reports it listed that this run does not write are left in place",
                    path.display()
                )),
            ),
        };
        let out = OutDir {
            path: batch.out_dir.clone(),
            s3: s3.clone(),
            shard,
            manifest: previous.into_iter().map(|o| (o.file.clone(), o)).collect(),
            manifest_failed: false,
        };
        (out, warning)
    }

    /// What the manifest lists for the report `file` (its path as the manifest writes it).
    pub fn outcome(&self, file: &str) -> Option<&Outcome> {
        self.manifest.get(file)
    }

    /// The jobs to produce now, of the current `jobs`: those of the `only` agents (login
    /// or ARN keys; every job without it), every job whose write failed before, and every
    /// job not produced yet.
    pub fn to_produce(&self, jobs: &[Job], only: Option<&HashSet<String>>) -> Vec<Job> {
        jobs.iter()
            .filter(|j| {
                only.is_none_or(|set| set.contains(&crate::login::key(&j.agent)))
                    || self
                        .manifest
                        .get(&j.path.display().to_string())
                        .is_none_or(|o| o.write_failed || o.status == Status::Removed)
            })
            .cloned()
            .collect()
    }

    /// Takes the outcomes `produced` of (some of) the current `jobs` of `batch` under the
    /// generation `configuration`, and makes the manifest (and `out_dir`) what the
    /// current generation writes: the outcome just produced for each job produced, the
    /// last one for every other current job, and whatever was listed before that no
    /// current job writes removed.
    pub fn settle(
        &mut self,
        batch: &Batch,
        jobs: &[Job],
        produced: Vec<Outcome>,
        configuration: &str,
    ) -> Settled {
        let previous: Vec<Outcome> = self.manifest.values().cloned().collect();
        let mut produced: HashMap<String, Outcome> =
            produced.into_iter().map(|o| (o.file.clone(), o)).collect();
        let mut now: HashSet<String> = HashSet::new();
        let mut all: Vec<Outcome> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let file = job.path.display().to_string();
            if let Some(o) = produced.remove(&file) {
                now.insert(file);
                all.push(o);
            } else if let Some(o) = self.manifest.get(&file) {
                // Carried over: its removal, if any, was said by the change that made it.
                all.push(Outcome {
                    removed: None,
                    ..o.clone()
                });
            }
        }
        let warnings = reconcile(
            &batch.out_dir,
            batch,
            &previous,
            &mut all,
            configuration,
            &self.s3,
        );
        let mut outcomes: Vec<Outcome> = all
            .iter()
            .filter(|o| now.contains(&o.file) || o.status == Status::Removed)
            .cloned()
            .collect();
        outcomes.sort_by(|a, b| a.file.cmp(&b.file));
        let summary = Summary::of(&outcomes);
        self.manifest = all.into_iter().map(|o| (o.file.clone(), o)).collect();
        Settled {
            outcomes,
            summary,
            warnings,
        }
    }

    /// Writes the manifest of what the directory holds now, for the run `head`.
    pub fn write_manifest(&mut self, head: &RunInfo) -> Result<(), Error> {
        let mut all: Vec<Outcome> = self.manifest.values().cloned().collect();
        all.sort_by(|a, b| a.file.cmp(&b.file));
        let result = super::write_manifest(&self.path, head, &all, self.shard, &self.s3);
        self.manifest_failed = result.is_err();
        // A removal is said once, in the manifest of the change that made it.
        self.manifest.retain(|_, o| o.status != Status::Removed);
        result
    }

    /// What could not be written and waits to be tried again.
    pub fn failing(&self) -> Failing {
        let mut reports: Vec<String> = self
            .manifest
            .values()
            .filter(|o| o.write_failed)
            .map(|o| o.file.clone())
            .collect();
        reports.sort_unstable();
        Failing {
            reports,
            manifest: self.manifest_failed,
        }
    }
}

impl Failing {
    pub fn any(&self) -> bool {
        self.manifest || !self.reports.is_empty()
    }
}
