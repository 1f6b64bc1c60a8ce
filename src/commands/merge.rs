//! `agent-audit merge OUT_DIR...`: the shards' manifests become one.

use crate::cli::MergeArgs;
use agent_audit::batch::write_manifest;
use agent_audit::error::Error;

pub fn run(args: &MergeArgs) -> Result<(), Error> {
    let s3 = super::s3_settings(args.config.as_deref())?;
    let merged = agent_audit::merge::merge(&args.dirs, &s3)?;
    let out = args.out.as_ref().unwrap_or(&args.dirs[0]);
    write_manifest(out, &merged.head, &merged.outcomes, None, &s3)?;
    let s = &merged.summary;
    println!(
        "{} shard(s) merged into {}: {} report(s): {} written, {} denied, {} failed, {} removed; configuration {}",
        merged.shards,
        out.display(),
        merged.outcomes.len(),
        s.written,
        s.denied,
        s.failed,
        s.removed,
        merged.head.configuration
    );
    s.result()
}
