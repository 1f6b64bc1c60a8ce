//! Merging shards: the `manifest-K-of-N.json` files that N `run --shard K/N` processes wrote
//! (to one output directory or S3 prefix, or to several) become the one `manifest.json`, and
//! `index.html` when there are HTML reports, that a single machine would have written.
//!
//! A merge refuses an incomplete or mixed set: every shard 0..N-1 exactly once, one N, one
//! configuration. The reports themselves are not touched; the shards wrote them already.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::batch::{Outcome, Status, Summary};
use crate::error::Error;
use crate::output;
use crate::report::Format;

/// One shard's manifest, as `write_manifest` writes it.
#[derive(Deserialize)]
struct ShardManifest {
    configuration: String,
    reports: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    file: String,
    agent: String,
    date: String,
    timezone: String,
    kind: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    coverage: Option<crate::batch::ManifestCoverage>,
    configuration: String,
}

/// The merged manifest's content.
#[derive(Debug)]
pub struct Merged {
    /// The configuration every shard ran with.
    pub configuration: String,
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

/// Reads and checks the shards' manifests in `dirs`.
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, Error> {
    let fail = |message: String| Error::Merge(message);
    let mut found: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    for dir in dirs {
        let names = output::names(dir)
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
    let mut configuration: Option<(String, PathBuf)> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for path in found.values() {
        let bytes = output::read(path)
            .map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
        let manifest: ShardManifest = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("`{}` is not a manifest: {e}", path.display())))?;
        match &configuration {
            Some((hash, first)) if *hash != manifest.configuration => {
                return Err(fail(format!(
                    "the shards ran with different configurations: `{}` has {hash}, `{}` has {}",
                    first.display(),
                    path.display(),
                    manifest.configuration
                )));
            }
            Some(_) => {}
            None => configuration = Some((manifest.configuration.clone(), path.clone())),
        }
        for entry in manifest.reports {
            outcomes
                .push(outcome(entry).map_err(|why| fail(format!("`{}`: {why}", path.display())))?);
        }
    }
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    if let Some(pair) = outcomes.windows(2).find(|w| w[0].file == w[1].file) {
        return Err(fail(format!(
            "`{}` is listed by two shards: these manifests are not from one split",
            pair[0].file
        )));
    }
    let mut summary = Summary::default();
    for o in &outcomes {
        summary.add(o);
    }
    Ok(Merged {
        configuration: configuration.map(|(h, _)| h).unwrap_or_default(),
        shards: count,
        outcomes,
        summary,
    })
}

fn outcome(e: Entry) -> Result<Outcome, String> {
    let kind = match e.kind.as_str() {
        "audit" => "audit",
        "summary" => "summary",
        other => return Err(format!("unknown report kind `{other}`")),
    };
    let status = match e.status.as_str() {
        "written" => Status::Written,
        "denied" => Status::Denied,
        "failed" => Status::Failed,
        other => return Err(format!("unknown report status `{other}`")),
    };
    let format = match Path::new(&e.file).extension().and_then(|x| x.to_str()) {
        Some("html") => Format::Html,
        Some("json") => Format::Json,
        _ => Format::Csv,
    };
    Ok(Outcome {
        file: e.file,
        agent: e.agent,
        date: e.date,
        timezone: e.timezone,
        kind,
        format,
        status,
        reason: e.reason,
        warnings: e.warnings,
        coverage: e.coverage,
        configuration: e.configuration,
    })
}
