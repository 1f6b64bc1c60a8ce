//! `agent-audit run BATCH.toml`: every report a batch file asks for, the events read once.

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::batch::{
    Batch, Job, Manifest, Outcome, RunInfo, Shard, Status, Summary, produce, reconcile,
    write_manifest,
};
use crate::classify::{Labels, classify};
use crate::cli::RunArgs;
use crate::error::Error;
use crate::generation::Generation;
use crate::input;
use crate::store::{ReadError, ReadOptions, Store};

/// A batch with everything it was run against.
pub struct Loaded {
    pub batch: Batch,
    /// Shared with the next state when only the events change.
    pub generation: Arc<Generation>,
    pub store: Store,
    /// The store's labels under `generation`.
    pub labels: Labels,
    pub jobs: Vec<Job>,
}

/// Loads a batch, its configuration (`--config` wins over the batch's `config`) and its
/// events (with a shard, only that shard's agents' records when the batch allows it).
pub fn load(
    batch_file: &Path,
    config: Option<&Path>,
    shard: Option<Shard>,
) -> Result<Loaded, Error> {
    let batch = Batch::load(batch_file).map_err(|e| Error::Config(vec![e]))?;
    let config = config
        .map(Path::to_path_buf)
        .or_else(|| batch.config.clone());
    let generation = Generation::load(config.as_deref()).map_err(Error::Config)?;
    let shard_records = shard.filter(|_| batch.all_agents_only());
    crate::s3::configure(&generation.config.s3);
    let store = read_events(&batch, shard_records)?;
    let labels = classify(&store, &generation.classifier);
    let jobs = batch.jobs(&store, shard);
    Ok(Loaded {
        batch,
        generation: Arc::new(generation),
        store,
        labels,
        jobs,
    })
}

/// Reads the batch's events into a store; with a shard, only the records of that shard's
/// agents are parsed.
pub fn read_events(batch: &Batch, shard: Option<Shard>) -> Result<Store, Error> {
    let sources = input::expand(&batch.events).map_err(ReadError::from)?;
    let options = ReadOptions {
        shard,
        ..ReadOptions::default()
    };
    Ok(Store::read(&sources, &options)?)
}

pub fn run(args: &RunArgs) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let (batch_args, quiet) = (&args.batch, args.batch.quiet);
    let loaded = load(&batch_args.batch, batch_args.config.as_deref(), args.shard)?;
    super::print_input_problems(&loaded.store, quiet);
    let out_dir = &loaded.batch.out_dir;
    let previous = previous_manifest(out_dir, args.shard);
    let (mut outcomes, _) = produce_with_progress(&loaded, &loaded.jobs, "run", quiet);
    for w in reconcile(
        out_dir,
        &loaded.batch,
        &previous,
        &mut outcomes,
        &loaded.generation.hash,
    ) {
        eprintln!("warning: {}", crate::diagnostic::terminal_safe(&w));
    }
    let summary = Summary::of(&outcomes);
    report_outcomes(&outcomes, &summary, quiet);
    let head = RunInfo {
        configuration: loaded.generation.hash.clone(),
        run: loaded.batch.identity(&loaded.generation.hash),
    };
    write_manifest(out_dir, &head, &outcomes, args.shard)?;
    println!(
        "{} report(s): {} written, {} denied, {} failed, {} removed, {} warning(s); configuration {}, {:.2} s",
        loaded.jobs.len(),
        summary.written,
        summary.denied,
        summary.failed,
        summary.removed,
        summary.warnings.values().sum::<usize>(),
        loaded.generation.hash,
        started.elapsed().as_secs_f64()
    );
    summary.result()
}

/// The reports the last run into `out_dir` listed (its manifest, or this shard's), which
/// this run may remove; none when there is no manifest. A manifest that cannot be read is
/// said, and nothing is removed on its account.
pub fn previous_manifest(out_dir: &Path, shard: Option<Shard>) -> Vec<Outcome> {
    let path = crate::output::join(out_dir, &Shard::file_name(shard, "manifest", "json"));
    match Manifest::read(&path) {
        Ok(found) => found.map(|m| m.reports).unwrap_or_default(),
        Err(e) => {
            eprintln!(
                "warning: cannot read the previous manifest `{}` ({}): reports it listed that this run does not write are left in place",
                path.display(),
                crate::diagnostic::terminal_safe(&e)
            );
            Vec::new()
        }
    }
}

/// Produces `jobs` with a progress bar on a terminal (none when stderr is not one, or with
/// `--quiet`).
pub fn produce_with_progress(
    loaded: &Loaded,
    jobs: &[Job],
    command: &str,
    quiet: bool,
) -> (Vec<Outcome>, Summary) {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} reports {elapsed_precise} (eta {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    };
    let result = produce(
        &loaded.generation,
        &loaded.store,
        &loaded.labels,
        loaded.batch.requester.as_deref(),
        jobs,
        command,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    result
}

/// Prints every denied and failed report, and each distinct warning once with a count.
pub fn report_outcomes(outcomes: &[Outcome], summary: &Summary, quiet: bool) {
    let safe = crate::diagnostic::terminal_safe;
    for o in outcomes.iter().filter(|o| o.status != Status::Written) {
        let removed = match &o.removed {
            Some(_) => "; the report written before was deleted",
            None => "",
        };
        eprintln!(
            "{}: {} {} ({}): {}{removed}",
            o.status.as_str(),
            safe(&o.agent),
            o.date,
            o.timezone,
            safe(o.reason.as_deref().unwrap_or(""))
        );
    }
    if !quiet {
        for (warning, count) in &summary.warnings {
            eprintln!("warning: {} (in {count} report(s))", safe(warning));
        }
        if summary.partial_csv > 0 {
            eprintln!(
                "warning: the events of {} CSV report(s) do not span their whole day: rows \
                 outside that span are inferred (each report's coverage is in manifest.json)",
                summary.partial_csv
            );
        }
    }
}
