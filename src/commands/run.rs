//! `agent-audit run BATCH.toml`: every report a batch file asks for, the events read once.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{BatchArgs, RunArgs};
use agent_audit::access::log::Asked;
use agent_audit::batch::{Batch, Job, OutDir, Outcome, RunInfo, Shard, Status, Summary};
use agent_audit::diagnostic::Located;
use agent_audit::engine::{Engine, read_events};
use agent_audit::error::Error;
use agent_audit::generation::Generation;
use agent_audit::store::ReadOptions;

/// The batch file, with what the command line says instead: `--events` and `--out-dir`
/// win over its `events` and `out_dir` (as `--config` wins over its `config`).
pub fn read_batch(args: &BatchArgs) -> Result<Batch, Located> {
    let mut batch = Batch::load(&args.batch)?;
    if !args.events.is_empty() {
        batch.events = args.events.clone();
    }
    if let Some(out_dir) = &args.out_dir {
        batch.out_dir = out_dir.clone();
    }
    Ok(batch)
}

/// Loads a batch (with the command line's overrides), its configuration (`--config` wins
/// over the batch's `config`) and its events (with a shard, only that shard's agents'
/// records when the batch allows it).
pub fn load(args: &BatchArgs, shard: Option<Shard>) -> Result<(Batch, Engine), Error> {
    let batch = read_batch(args).map_err(|e| Error::Config(vec![e]))?;
    let config = args.config.clone().or_else(|| batch.config.clone());
    let generation = Generation::load(config.as_deref()).map_err(Error::Config)?;
    let options = ReadOptions {
        shard: shard.filter(|_| batch.all_agents_only()),
        ..ReadOptions::default()
    };
    let store = read_events(&generation, &batch.events, &options)?;
    Ok((batch, Engine::new(Arc::new(generation), Arc::new(store))))
}

/// The manifest's head for `batch` under `engine`'s generation.
pub fn run_info(batch: &Batch, engine: &Engine) -> RunInfo {
    RunInfo {
        configuration: engine.hash().to_string(),
        run: batch.identity(engine.hash()),
    }
}

pub fn run(args: &RunArgs) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let (batch_args, quiet) = (&args.batch, args.batch.quiet);
    let (batch, engine) = load(batch_args, args.shard)?;
    super::print_input_problems(engine.store(), quiet);
    let jobs = batch.jobs(engine.store(), args.shard);
    let (mut out, warning) = OutDir::open(&batch, args.shard, &engine.generation().config.s3);
    say_warnings(warning);
    let produced = produce_with_progress(&engine, &batch, &jobs, "run", quiet);
    let settled = out.settle(&batch, &jobs, produced, engine.hash());
    say_warnings(settled.warnings);
    let summary = settled.summary;
    report_outcomes(&settled.outcomes, &summary, quiet);
    out.write_manifest(&run_info(&batch, &engine))?;
    println!(
        "{} report(s): {} written, {} denied, {} failed, {} removed, {} warning(s); configuration {}, {:.2} s",
        jobs.len(),
        summary.written,
        summary.denied,
        summary.failed,
        summary.removed,
        summary.warnings.values().sum::<usize>(),
        engine.hash(),
        started.elapsed().as_secs_f64()
    );
    summary.result()
}

/// Prints warnings about the output directory.
pub fn say_warnings(warnings: impl IntoIterator<Item = String>) {
    for w in warnings {
        eprintln!("warning: {}", agent_audit::diagnostic::terminal_safe(&w));
    }
}

/// Produces `jobs` with a progress bar on a terminal (none when stderr is not one, or with
/// `--quiet`).
pub fn produce_with_progress(
    engine: &Engine,
    batch: &Batch,
    jobs: &[Job],
    command: &str,
    quiet: bool,
) -> Vec<Outcome> {
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
    let (outcomes, _) = engine.batch(
        batch.requester.as_deref(),
        jobs,
        &Asked::by(command),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    outcomes
}

/// Prints every denied, failed and removed report, and each distinct warning once with a
/// count.
pub fn report_outcomes(outcomes: &[Outcome], summary: &Summary, quiet: bool) {
    let safe = agent_audit::diagnostic::terminal_safe;
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
