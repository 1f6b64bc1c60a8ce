//! `agent-audit merge OUT_DIR...`: the shards' manifests become one.

use crate::cli::MergeArgs;
use agent_audit::batch::write_manifest;
use agent_audit::error::Error;
use agent_audit::generation::Generation;

pub fn run(args: &MergeArgs) -> Result<(), Error> {
    if let Some(config) = &args.config {
        let generation = Generation::load(Some(config)).map_err(Error::Config)?;
        agent_audit::s3::configure(&generation.config.s3);
    }
    let merged = agent_audit::merge::merge(&args.dirs)?;
    let out = args.out.as_ref().unwrap_or(&args.dirs[0]);
    write_manifest(out, &merged.head, &merged.outcomes, None)?;
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
