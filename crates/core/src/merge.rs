//! Merging shards: the `manifest-K-of-N.json` files that N `run --shard K/N` processes wrote
//! (to one output directory or S3 prefix, or to several) become the one `manifest.json`, and
//! `index.html` when there are HTML reports, that a single machine would have written.
//!
//! A merge refuses an incomplete or mixed set: every shard 0..N-1 exactly once, one N, one
//! configuration and one run (the same batch: agents, dates, zones, events). Every report
//! a shard lists as written must be there with the size and SHA-256 its manifest gives.
//! The reports themselves are not touched; the shards wrote them already.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::batch::{Manifest, Outcome, RunInfo, Status, Summary};
use crate::error::Error;
use crate::output;

/// The merged manifest's content.
#[derive(Debug)]
pub struct Merged {
    /// The configuration and run every shard belongs to.
    pub head: RunInfo,
    pub shards: u64,
    /// In file order, as `write_manifest` writes them.
    pub outcomes: Vec<Outcome>,
    pub summary: Summary,
}

/// `manifest-K-of-N.json` → (K, N).
fn shard_of(name: &str) -> Option<(u64, u64)> {
    let middle = name.strip_prefix("manifest-")?.strip_suffix(".json")?;
    let (k, n) = middle.split_once("-of-")?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// Reads and checks the shards' manifests in `dirs` (`s3://` prefixes with the `s3`
/// settings given).
pub fn merge(dirs: &[PathBuf], s3: &crate::s3::Settings) -> Result<Merged, Error> {
    let fail = |message: String| Error::Merge(message);
    let mut found: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    for dir in dirs {
        let names = output::names(dir, s3)
            .map_err(|e| fail(format!("cannot list `{}`: {e}", dir.display())))?;
        for name in names {
            let Some(shard) = shard_of(&name) else {
                continue;
            };
            let path = output::join(dir, &name);
            if let Some(before) = found.insert(shard, path.clone()) {
                return Err(fail(format!(
                    "shard {} of {} appears twice: `{}` and `{}`",
                    shard.0,
                    shard.1,
                    before.display(),
                    path.display()
                )));
            }
        }
    }
    let where_ = dirs
        .iter()
        .map(|d| format!("`{}`", d.display()))
        .collect::<Vec<_>>()
        .join(", ");
    let counts: Vec<u64> = found
        .keys()
        .map(|(_, n)| *n)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let count = match counts.as_slice() {
        [] => {
            return Err(fail(format!(
                "no shard manifests (manifest-K-of-N.json) in {where_}"
            )));
        }
        [n] => *n,
        _ => {
            return Err(fail(format!(
                "manifests of different splits ({}) in {where_}: merge the shards of one run",
                counts
                    .iter()
                    .map(|n| format!("of {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    if let Some(k) = (0..count).find(|k| !found.contains_key(&(*k, count))) {
        return Err(fail(format!(
            "shard {k} of {count} is missing: no manifest-{k}-of-{count}.json in {where_}"
        )));
    }
    let mut head: Option<(RunInfo, PathBuf)> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for path in found.values() {
        let manifest = Manifest::read(path, s3)
            .map_err(|e| fail(format!("`{}` is not a manifest: {e}", path.display())))?
            .ok_or_else(|| fail(format!("`{}` is gone", path.display())))?;
        match &head {
            Some((first, at)) if first.configuration != manifest.head.configuration => {
                return Err(fail(format!(
                    "the shards ran with different configurations: `{}` has {}, `{}` has {}",
                    at.display(),
                    first.configuration,
                    path.display(),
                    manifest.head.configuration
                )));
            }
            Some((first, at)) if first.run != manifest.head.run => {
                return Err(fail(format!(
                    "`{}` is a shard of another run than `{}` (run {} against {}): the batch asked for other agents, dates, zones or events; merge the shards of one run",
                    path.display(),
                    at.display(),
                    show_run(&manifest.head.run),
                    show_run(&first.run),
                )));
            }
            Some(_) => {}
            None => head = Some((manifest.head.clone(), path.clone())),
        }
        for report in manifest.reports {
            verify(&report, s3).map_err(|why| fail(format!("`{}`: {why}", path.display())))?;
            outcomes.push(report);
        }
    }
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    if let Some(pair) = outcomes.windows(2).find(|w| w[0].file == w[1].file) {
        return Err(fail(format!(
            "`{}` is listed by two shards: these manifests are not from one split",
            pair[0].file
        )));
    }
    let summary = Summary::of(&outcomes);
    Ok(Merged {
        head: head.map(|(h, _)| h).unwrap_or_default(),
        shards: count,
        outcomes,
        summary,
    })
}

fn show_run(run: &str) -> &str {
    if run.is_empty() {
        "(none: written before runs had an identity)"
    } else {
        run
    }
}

/// A report a shard's manifest lists as written that is not there as it says.
#[derive(Debug, thiserror::Error)]
enum NotAsListed {
    #[error(
        "`{0}` is listed as written without its size and SHA-256 (a manifest of an older agent-audit): run the shard again"
    )]
    NoDigest(String),
    #[error("`{0}`, listed as written, cannot be read: {1}")]
    Unreadable(String, std::io::Error),
    #[error(
        "`{file}` has {has} bytes, the manifest says {says}: it changed after the shard wrote it"
    )]
    Size { file: String, has: u64, says: u64 },
    #[error(
        "`{0}` does not have the SHA-256 the manifest gives: it changed after the shard wrote it"
    )]
    Digest(String),
}

/// A report a shard's manifest says it wrote must be there, whole: its size and SHA-256
/// as the manifest states them.
fn verify(report: &Outcome, s3: &crate::s3::Settings) -> Result<(), NotAsListed> {
    if report.status != Status::Written {
        return Ok(());
    }
    let file = || report.file.clone();
    let (Some(size), Some(digest)) = (report.bytes, report.sha256.as_deref()) else {
        return Err(NotAsListed::NoDigest(file()));
    };
    let path = std::path::Path::new(&report.file);
    let bytes = output::read(path, s3).map_err(|e| NotAsListed::Unreadable(file(), e))?;
    if bytes.len() as u64 != size {
        return Err(NotAsListed::Size {
            file: file(),
            has: bytes.len() as u64,
            says: size,
        });
    }
    if crate::digest::sha256_hex(&bytes) != digest {
        return Err(NotAsListed::Digest(file()));
    }
    Ok(())
}
