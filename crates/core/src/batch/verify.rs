//! `agent-audit verify OUT_DIR`: an output directory checked against its manifest, as an
//! auditor receives it. Every report the manifest lists as written must be there with the
//! size and SHA-256 the manifest gives; a report it lists as denied, failed or removed must
//! not be there; and a file in a report folder that the manifest does not list is named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Status;
use super::manifest::Manifest;
use crate::digest::sha256_hex;
use crate::error::Error;

/// One file that does not match the manifest, and how.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub what: String,
}

/// What `verify` checked: each manifest read (its file name and configuration hash), how
/// many reports, and what does not match.
#[derive(Debug, Default)]
pub struct Verified {
    pub manifests: Vec<(String, String)>,
    pub reports: usize,
    pub written: usize,
    pub findings: Vec<Finding>,
}

/// Checks `out_dir` (a local directory or an `s3://` prefix) against every manifest in it:
/// `manifest.json`, or the shards' `manifest-K-of-N.json` that `merge` has not merged yet.
/// An `s3://` prefix is read with the `s3` settings given.
pub fn verify(out_dir: &Path, s3: &crate::s3::Settings) -> Result<Verified, Error> {
    let read_error = |e: std::io::Error| Error::Usage(format!("{}: {e}", out_dir.display()));
    let names = crate::output::names(out_dir, s3).map_err(read_error)?;
    let mut manifests: Vec<&String> = names
        .iter()
        .filter(|n| n.as_str() == "manifest.json")
        .collect();
    if manifests.is_empty() {
        manifests = names
            .iter()
            .filter(|n| n.starts_with("manifest-") && n.ends_with(".json"))
            .collect();
    }
    if manifests.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no manifest.json (nor a shard's manifest-K-of-N.json): `verify` checks an \
             output directory that `run`, `watch` or `merge` wrote",
            out_dir.display()
        )));
    }
    let mut verified = Verified::default();
    // Every report folder the manifests name, with the files they list in it.
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in manifests {
        let path = crate::output::join(out_dir, name);
        let bytes = crate::output::read(&path, s3).map_err(read_error)?;
        let manifest = Manifest::parse(&bytes)
            .map_err(|e| Error::Usage(format!("{}: not a manifest: {e}", path.display())))?;
        verified
            .manifests
            .push((name.clone(), manifest.head.configuration.clone()));
        for report in &manifest.reports {
            verified.reports += 1;
            // The manifest names each file as the run reached it (from its working
            // directory, or a URL); under OUT_DIR it is always `<login>/<file>`.
            let mut parts = report.file.rsplit('/');
            let file = parts.next().unwrap_or_default().to_string();
            let folder = parts.next().unwrap_or_default().to_string();
            let relative = if folder.is_empty() {
                file.clone()
            } else {
                format!("{folder}/{file}")
            };
            listed.entry(folder).or_default().insert(file);
            let found = |what: String| Finding {
                file: relative.clone(),
                what,
            };
            let there = match crate::output::read(&crate::output::join(out_dir, &relative), s3) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    verified
                        .findings
                        .push(found(format!("cannot be read: {e}")));
                    continue;
                }
            };
            match (report.status, there) {
                (Status::Written, None) => verified
                    .findings
                    .push(found("listed as written, but missing".into())),
                (Status::Written, Some(bytes)) => {
                    verified.written += 1;
                    let Some(expected) = &report.sha256 else {
                        verified
                            .findings
                            .push(found("listed as written without a SHA-256".into()));
                        continue;
                    };
                    let actual = sha256_hex(&bytes);
                    if &actual != expected {
                        verified.findings.push(found(format!(
                            "changed since it was written: {} byte(s) with SHA-256 {actual}; \
                             the manifest says {} byte(s) with SHA-256 {expected}",
                            bytes.len(),
                            report.bytes.map_or("?".to_string(), |b| b.to_string()),
                        )));
                    }
                }
                (status, Some(_)) => verified.findings.push(found(format!(
                    "listed as {}, yet a file is there",
                    status.as_str()
                ))),
                (_, None) => {}
            }
        }
    }
    // Files in a report folder that no manifest lists (the manifests and index pages
    // themselves live at the top).
    for (folder, files) in &listed {
        if folder.is_empty() {
            continue;
        }
        let dir = crate::output::join(out_dir, folder);
        let present = match crate::output::names(&dir, s3) {
            Ok(names) => names,
            // Only denied or failed reports in it, so never made.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::Usage(format!("{}: {e}", dir.display()))),
        };
        for name in present {
            if !files.contains(&name) {
                verified.findings.push(Finding {
                    file: format!("{folder}/{name}"),
                    what: "not in the manifest".into(),
                });
            }
        }
    }
    Ok(verified)
}
