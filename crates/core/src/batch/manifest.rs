//! The manifest of an output directory (`OUT_DIR/manifest.json`, and the index page):
//! written after every run, read back by the next run into the same directory and by
//! `merge`; and what makes `out_dir` hold exactly what the current generation writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Batch, ManifestCoverage, Outcome, Shard, Status};
use crate::error::Error;
use crate::report;
use crate::report::Format;

/// A manifest's head: the configuration every report was made with, and the identity of
/// the run (the configuration and what the batch asks for), which the manifests of one
/// run's shards share and `merge` checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub configuration: String,
    #[serde(default)]
    pub run: String,
}

/// Writes `OUT_DIR/manifest.json`: every report of the batch, in file order, with its status
/// and the generation that produced it (CSV and JSON reports have no room for it
/// themselves); and, when any report is HTML, the page `OUT_DIR/index.html` that links them
/// all. File order is what shards' manifests merge into (`merge`) and what `watch` keeps.
pub fn write_manifest(
    out_dir: &Path,
    head: &RunInfo,
    outcomes: &[Outcome],
    shard: Option<Shard>,
    s3: &crate::s3::Settings,
) -> Result<(), Error> {
    #[derive(Serialize)]
    struct Manifest<'a> {
        configuration: &'a str,
        run: &'a str,
        reports: &'a [Outcome],
    }
    let path = crate::output::join(out_dir, &Shard::file_name(shard, "manifest", "json"));
    let write_error = |source| Error::Write {
        path: path.display().to_string(),
        source,
    };
    // The reports were written without waiting for the disk: one sync makes them all
    // durable before the manifest that lists them is written.
    crate::output::sync_dir(out_dir).map_err(write_error)?;
    let mut sorted = outcomes.to_vec();
    sorted.sort_by(|a, b| a.file.cmp(&b.file));
    let mut bytes = serde_json::to_vec_pretty(&Manifest {
        configuration: &head.configuration,
        run: &head.run,
        reports: &sorted,
    })
    .map_err(|e| write_error(e.into()))?;
    bytes.push(b'\n');
    crate::output::write_atomically(&path, &bytes, s3).map_err(write_error)?;
    if outcomes.iter().any(|o| o.format == Format::Html) {
        write_index(out_dir, &head.configuration, outcomes, shard, s3)?;
    }
    Ok(())
}

/// A manifest read back: by `merge`, and by the next run into the same `out_dir`.
#[derive(Debug)]
pub struct Manifest {
    pub head: RunInfo,
    pub reports: Vec<Outcome>,
}

#[derive(Deserialize)]
struct ManifestFile {
    #[serde(flatten)]
    head: RunInfo,
    reports: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    agent: String,
    date: String,
    timezone: String,
    kind: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    removed: Option<String>,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    coverage: Option<ManifestCoverage>,
    configuration: String,
}

/// A manifest that cannot be read, or is not one [`write_manifest`] writes.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}")]
    Unreadable(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown report kind `{0}`")]
    Kind(String),
    #[error("unknown report status `{0}`")]
    Status(String),
}

impl Manifest {
    /// Parses a manifest as [`write_manifest`] writes it.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let file: ManifestFile = serde_json::from_slice(bytes)?;
        let reports = file
            .reports
            .into_iter()
            .map(ManifestEntry::into_outcome)
            .collect::<Result<_, _>>()?;
        Ok(Manifest {
            head: file.head,
            reports,
        })
    }

    /// The manifest at `path`, `None` when there is none.
    pub fn read(path: &Path, s3: &crate::s3::Settings) -> Result<Option<Manifest>, ManifestError> {
        match crate::output::read(path, s3) {
            Ok(bytes) => Manifest::parse(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl ManifestEntry {
    fn into_outcome(self) -> Result<Outcome, ManifestError> {
        let kind = match self.kind.as_str() {
            "audit" => "audit",
            "summary" => "summary",
            other => return Err(ManifestError::Kind(other.to_string())),
        };
        let status = Status::parse(&self.status)
            .ok_or_else(|| ManifestError::Status(self.status.clone()))?;
        let format = match Path::new(&self.file).extension().and_then(|x| x.to_str()) {
            Some("html") => Format::Html,
            Some("json") => Format::Json,
            _ => Format::Csv,
        };
        Ok(Outcome {
            file: self.file,
            agent: self.agent,
            date: self.date,
            timezone: self.timezone,
            kind,
            format,
            status,
            reason: self.reason,
            removed: self.removed,
            bytes: self.bytes,
            sha256: self.sha256,
            write_failed: false,
            warnings: self.warnings,
            coverage: self.coverage,
            configuration: self.configuration,
        })
    }
}

/// Makes `out_dir` hold exactly what this generation wrote (`outcomes`): every report the
/// `previous` manifest of that `out_dir` names, that is still there and that this
/// generation does not write — denied now, failed now, no longer asked for, or of an agent
/// whose events are gone — is deleted. A report this generation denied or failed gets
/// `removed` saying so; a report no longer asked for is added as a `removed` line with the
/// reason. Nothing the previous manifest does not name is ever touched, nor anything it
/// names outside `out_dir` or not shaped like a report. Returns warnings to print.
pub fn reconcile(
    out_dir: &Path,
    batch: &Batch,
    previous: &[Outcome],
    outcomes: &mut Vec<Outcome>,
    configuration: &str,
    s3: &crate::s3::Settings,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let index: HashMap<String, usize> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.file.clone(), i))
        .collect();
    let mut added = Vec::new();
    for old in previous {
        let now = index.get(&old.file).map(|&i| &outcomes[i]);
        if now.is_some_and(|o| o.status == Status::Written) {
            continue;
        }
        if old.status == Status::Removed {
            continue;
        }
        let path = PathBuf::from(&old.file);
        if !is_report_of(out_dir, &path) {
            warnings.push(format!(
                "the previous manifest names `{}`, which is not a report in `{}`: left alone",
                old.file,
                out_dir.display()
            ));
            continue;
        }
        // A local report that is not there (never written, or deleted by hand) needs no
        // removal; on S3 a delete of a missing object is harmless.
        let local = !crate::s3::is_s3(&path);
        if local && std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        if old.status != Status::Written && !local {
            continue;
        }
        if let Err(e) = crate::output::remove(&path, s3) {
            warnings.push(format!(
                "cannot remove `{}`, which this generation does not write: {e}",
                old.file
            ));
            continue;
        }
        let by = &old.configuration;
        match now {
            Some(o) => {
                let i = index[&old.file];
                let why = format!(
                    "the report written before (configuration {by}) was deleted: this generation {} it",
                    if o.status == Status::Denied {
                        "denies"
                    } else {
                        "failed to write"
                    }
                );
                outcomes[i].removed = Some(why);
            }
            None => {
                let reason = if batch.asks_all_agents_for(old) {
                    "the agent has no events any more".to_string()
                } else {
                    "no longer asked for by the batch".to_string()
                };
                added.push(Outcome {
                    status: Status::Removed,
                    reason: Some(format!(
                        "{reason}: the report written before (configuration {by}) was deleted"
                    )),
                    removed: None,
                    bytes: None,
                    sha256: None,
                    write_failed: false,
                    warnings: Vec::new(),
                    coverage: None,
                    configuration: configuration.to_string(),
                    ..old.clone()
                });
            }
        }
    }
    outcomes.extend(added);
    warnings
}

/// Whether `path` has the shape of a report under `out_dir`: `OUT_DIR/<login>/<name>.<ext>`
/// with a report's extension, no `.` or `..` anywhere, and (locally) a regular file, not a
/// symlink or a directory.
fn is_report_of(out_dir: &Path, path: &Path) -> bool {
    let (dir, file) = (out_dir.to_string_lossy(), path.to_string_lossy());
    let Some(rest) = file.strip_prefix(dir.trim_end_matches('/')) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('/') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [login, name] = parts.as_slice() else {
        return false;
    };
    let plain = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\\');
    let shaped = plain(login)
        && plain(name)
        && !name.starts_with('.')
        && [".csv", ".json", ".html"].iter().any(|e| name.ends_with(e));
    if !shaped {
        return false;
    }
    crate::s3::is_s3(path)
        || std::fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_file())
}

/// Writes `OUT_DIR/index.html`: every report of the batch by agent, date, zone and kind,
/// with its status and, when it was written, a link to it relative to the page.
pub fn write_index(
    out_dir: &Path,
    hash: &str,
    outcomes: &[Outcome],
    shard: Option<Shard>,
    s3: &crate::s3::Settings,
) -> Result<(), Error> {
    let path = crate::output::join(out_dir, &Shard::file_name(shard, "index", "html"));
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.agent, &a.date, &a.timezone, a.kind, &a.file).cmp(&(
            &b.agent,
            &b.date,
            &b.timezone,
            b.kind,
            &b.file,
        ))
    });
    let items: Vec<report::html::IndexItem<'_>> = sorted
        .iter()
        .map(|o| {
            let href = (o.status == Status::Written).then(|| {
                let relative = Path::new(&o.file)
                    .strip_prefix(out_dir)
                    .unwrap_or(Path::new(&o.file));
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            });
            let status = o.status.as_str();
            let note = match (&o.reason, o.warnings.len()) {
                (Some(reason), _) => reason.clone(),
                (None, 0) => String::new(),
                (None, _) => o.warnings.join("; "),
            };
            report::html::IndexItem {
                agent: &o.agent,
                date: &o.date,
                timezone: &o.timezone,
                kind: o.kind,
                status,
                href,
                note,
            }
        })
        .collect();
    let page = report::html::index(hash, &items);
    crate::output::write_atomically(&path, page.as_bytes(), s3).map_err(|source| Error::Write {
        path: path.display().to_string(),
        source,
    })
}
