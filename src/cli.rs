//! Command-line types (clap). No logic: `commands` turns these into validated settings.

use std::path::PathBuf;

use chrono::NaiveDate;
use chrono_tz::Tz;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand};

pub use agent_audit::explain::ExplainFormat;
pub use agent_audit::report::{Format, Kind};
pub use agent_audit::time::parse_date;

/// `--timezone`: an IANA name (abbreviations such as `EST` refused with the zone meant);
/// a legacy name (`US/Eastern`) is taken, with a warning naming the canonical zone.
pub fn parse_timezone(s: &str) -> Result<Tz, agent_audit::time::ZoneError> {
    let tz = agent_audit::time::parse_timezone(s)?;
    if let Some(canonical) = agent_audit::time::canonical_zone(tz) {
        eprintln!(
            "warning: time zone `{}` is a legacy name of {canonical}: the rules are the same; write {canonical}",
            tz.name()
        );
    }
    Ok(tz)
}

/// `--version`: the version, then the notices of the code ported into the binary.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\n\n",
    include_str!("../THIRD-PARTY-NOTICES.md")
);

/// Rebuilds Amazon Connect's agent activity audit report from agent event stream files.
#[derive(Debug, Parser)]
#[command(name = "agent-audit", version, propagate_version = true)]
#[command(long_version = LONG_VERSION)]
#[command(
    long_about = "Rebuilds Amazon Connect's agent activity audit report from agent event \
stream files: for one agent, one local date and one time zone, the timeline of status rows \
(Available, Busy, After contact work, custom statuses, ...) with start time, end time and \
duration, as Connect's console shows it, but from your own files and for any agent and day."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server's settings (SPEC §11).
    #[arg(value_name = "SERVE.toml", required_unless_present = "demo")]
    pub file: Option<PathBuf>,
    /// Serve the examples of this checkout with a built-in sign-in that lists the example
    /// users and verifies no one (a banner says so); loopback only, never with a SERVE.toml.
    #[arg(long, conflicts_with = "file")]
    pub demo: bool,
    /// The loopback address demo mode listens on [default: 127.0.0.1:8080]; with a
    /// SERVE.toml, its `listen` says where.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the activity audit report of one agent for one local day.
    #[command(
        after_help = "Examples:\n  agent-audit report --events examples/events --agent jdoe \
--date 2026-11-02 --timezone America/New_York\n  agent-audit report --events s3-export/2026/11 \
--agent jdoe --date 2026-11-02 --timezone Europe/London --format json --out jdoe.json\n  \
agent-audit report --events examples/events --agent jdoe --date 2026-11-02 --timezone \
America/New_York --format html --kind summary --out jdoe-summary.html\n\n\
Exit status: 0 the report was written; 1 the report failed or was denied (unreadable input, \
agent not found, a malformed record or a day outside the agent's events with --strict, a request the configuration's access \
control or policies denied); 2 a usage or configuration error."
    )]
    Report(ReportArgs),
    /// List the effective status catalogue: every status, its type, colour and order, and
    /// the file it came from.
    #[command(
        after_help = "--format json prints one JSON document (the catalogue, each status with its fields and origin) for programs."
    )]
    Statuses(StatusesArgs),
    /// Validate every configuration, status and script file and run the tests embedded in
    /// them.
    #[command(
        after_help = "Prints each problem as file:line:column: message; --verbose also lists every test that passed. --format junit writes JUnit XML (one testcase per embedded test, and one per invalid file) for CI systems, --format json one JSON document.

Exit status: 0 every file is valid and every test passes; 1 a test failed; 2 a file is invalid."
    )]
    Check(CheckArgs),
    /// Produce every report a batch file describes (many agents, days and time zones), the
    /// events read once.
    #[command(
        after_help = "Reports go to OUT_DIR/<login>/<date>_<zone with / as ->.<ext> (summaries to ….summary.<ext>), with OUT_DIR/manifest.json listing each report, its status and the configuration that produced it, and OUT_DIR/index.html linking them when the batch has HTML output.

Exit status: 0 every report was written; 1 some report was denied or failed (the others are written); 2 a usage or configuration error."
    )]
    Run(RunArgs),
    /// Run a batch, then keep its reports current: re-emit them when the events, the status
    /// scripts, the policies, the configuration or the batch file change.
    Watch(BatchArgs),
    /// Merge the manifests of a batch's shards (`run --shard K/N`) into the one manifest.json,
    /// and index.html, that a single machine would have written.
    #[command(
        after_help = "Reads every manifest-K-of-N.json in the given output directories or s3:// prefixes (the shards may share one). Every shard 0..N-1 must be there exactly once, from the same configuration.

Exit status: 0 merged, and every report was written; 1 merged with denied or failed reports, or the shards do not make one run."
    )]
    Merge(MergeArgs),
    /// Serve the report and its API behind the organisation's OpenID Connect provider:
    /// every request is decided for the login the provider vouches for.
    #[command(
        after_help = "SERVE.toml names the address, the events, the configuration and the [oidc] provider (docs/serving.md). API clients send `Authorization: Bearer <JWT>`. serve refuses to start without users in the configuration or without [oidc].\n\nExit status: 0 stopped by SIGTERM or Ctrl-C after the requests in flight; 2 a usage or configuration error."
    )]
    Serve(ServeArgs),
    /// Say whether a requester may audit an agent's day, and why.
    #[command(after_help = "Exit status: 0 allowed; 1 denied; 2 a usage or configuration error.")]
    Authorize(AuthorizeArgs),
    /// Trace the row that covers an instant back to what made it: its events (with the
    /// file and line of each record), the snapshot that gave its label, and every hook and
    /// rule consulted, in order, with what each returned.
    #[command(
        after_help = "The row is the one `agent-audit report` gives for the local day of --at in \
--timezone (default UTC), with the same rule in its `rule` field.\n\n\
Examples:\n  agent-audit explain --events examples/events --agent jdoe --at 2026-11-02T08:20:00 \
--timezone America/New_York\n  agent-audit explain --events examples/events --agent jdoe --at \
2026-11-02T13:20:00Z --format json\n\n\
Exit status: 0 the row was explained; 1 no row covers the instant, or the input, the agent or \
the request failed; 2 a usage or configuration error."
    )]
    Explain(ExplainArgs),
    /// Check an output directory against its manifest: every report listed as written is
    /// there with its size and SHA-256, none listed as denied, failed or removed is, and no
    /// report folder holds a file the manifest does not list.
    #[command(
        after_help = "Reads OUT_DIR/manifest.json (or, before `merge`, every shard's manifest-K-of-N.json); OUT_DIR may be an s3:// prefix.\n\nExit status: 0 every file matches its manifest; 1 a file is missing, changed, present although denied, or not listed; 2 a usage error or no manifest."
    )]
    Verify(VerifyArgs),
    /// Check the hash chain of decision log files: each line's `prev` must be the SHA-256
    /// of the line before it; reports the first line where the chain breaks.
    #[command(
        after_help = "Give rotated files oldest first (decisions.jsonl.1 decisions.jsonl) to check the links between them; a file whose chain starts in an earlier file that is gone can be checked from that file's last head with --after. A chain that holds ends with its head: record it to check later that nothing was removed from the end.\n\nExit status: 0 the chain holds; 1 it breaks (the line is named); 2 a usage error or a file that cannot be read."
    )]
    VerifyLog(VerifyLogArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The output directory, or s3:// prefix, of a batch.
    #[arg(value_name = "OUT_DIR")]
    pub dir: PathBuf,

    /// The configuration file, for its `[s3]` endpoint.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyLogArgs {
    /// Decision log files, oldest first.
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,

    /// The head (the hash of the last line) of the file before the first one given, as an
    /// earlier `verify-log` printed it.
    #[arg(long, value_name = "SHA256")]
    pub after: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Event files or folders to read, as for `report` (`-` reads standard input; the
    /// records' lines are then not shown, as it cannot be read twice).
    #[arg(long = "events", value_name = "PATH", num_args = 1.., required = true, action = ArgAction::Append)]
    pub events: Vec<PathBuf>,

    /// The agent's login, or their agent ARN.
    #[arg(long, value_name = "LOGIN")]
    pub agent: String,

    /// The instant: RFC 3339 (`2026-11-02T13:20:00Z`, `2026-11-02T08:20:00-05:00`) or a
    /// local time in --timezone (`2026-11-02T08:20:00`, `2026-11-02 08:20`).
    #[arg(long, value_name = "TIMESTAMP")]
    pub at: String,

    /// The time zone of the report day the row is cut from, and of a local --at (default
    /// UTC).
    #[arg(long, value_name = "ZONE", value_parser = parse_timezone)]
    pub timezone: Option<Tz>,

    /// Output format.
    #[arg(long, default_value_t = ExplainFormat::Text, value_parser = choices::<ExplainFormat>(&[
        ("text", "Sentences and aligned lists, for people"),
        ("json", "One JSON document, for programs"),
    ]))]
    pub format: ExplainFormat,

    /// The configuration file, as for `report`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Who asks (their login): an explanation shows the agent's day, so it is checked and
    /// recorded like a report. Required once the configuration defines users.
    #[arg(long = "as", value_name = "LOGIN")]
    pub requester: Option<String>,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The batch file (see the README).
    #[arg(value_name = "BATCH.toml")]
    pub batch: PathBuf,

    /// The configuration file; wins over the batch file's `config`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Event files, folders or s3:// prefixes to read, as for `report`; win over the batch
    /// file's `events`.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub events: Vec<PathBuf>,

    /// The output directory or s3:// prefix; wins over the batch file's `out_dir`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// No progress bar and no warnings (malformed records are counted, not listed); denied
    /// and failed reports are still listed.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `run`: a batch, optionally one shard of it (`watch` keeps a whole batch current, so it
/// has no `--shard`).
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub batch: BatchArgs,

    /// Produce only shard K of N (K from 0): the agents whose ARN hashes to K. N machines
    /// running shards 0..N-1 together produce exactly the single-machine output (their
    /// manifests are named manifest-K-of-N.json).
    #[arg(long, value_name = "K/N", value_parser = agent_audit::batch::Shard::parse)]
    pub shard: Option<agent_audit::batch::Shard>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output directories or s3:// prefixes holding the shards' manifests.
    #[arg(value_name = "OUT_DIR", required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,

    /// Where to write manifest.json and index.html (default: the first OUT_DIR).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The configuration file, for its `[s3]` endpoint.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuthorizeArgs {
    /// The requester's login.
    #[arg(long = "as", value_name = "LOGIN")]
    pub requester: String,

    /// The agent to be audited (login, or agent ARN with --events).
    #[arg(long, value_name = "LOGIN")]
    pub agent: String,

    /// The day to be audited (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,

    /// The report's time zone (default: UTC).
    #[arg(long, value_name = "ZONE", value_parser = parse_timezone)]
    pub timezone: Option<Tz>,

    /// Event files to read the agent's hierarchy from, when the users file does not give it.
    #[arg(long = "events", value_name = "PATH", num_args = 1.., action = ArgAction::Append)]
    pub events: Vec<PathBuf>,

    /// The configuration file (users, profiles, policies).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration file (see the README); without it, the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusesArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format: text for people, junit (JUnit XML) for CI systems, json for programs.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,

    /// List every test, passed or failed (text format).
    #[arg(long, short)]
    pub verbose: bool,

    /// Fail on warnings too (a label that differs from a defined status only by case),
    /// as on an invalid file.
    #[arg(long)]
    pub strict: bool,
}

/// How `statuses` prints the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// An aligned table, for people.
    Text,
    /// One JSON document, for programs.
    Json,
}

/// How `check` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// `file:line:col: message` lines and a summary, for people.
    Text,
    /// JUnit XML, as CI systems read test results.
    Junit,
    /// One JSON document, for programs.
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Event files or folders to read (JSON lines, concatenated JSON as Kinesis Firehose
    /// writes it, JSON arrays; gzip or not). Folders are read recursively; `-` reads
    /// standard input; s3://BUCKET/PREFIX reads every object under the prefix. Give several
    /// paths after one --events, or repeat --events.
    #[arg(long = "events", value_name = "PATH", num_args = 1.., required = true, action = ArgAction::Append)]
    pub events: Vec<PathBuf>,

    /// The agent's login (their Amazon Connect user name), or their agent ARN.
    #[arg(long, value_name = "LOGIN")]
    pub agent: String,

    /// The local date of the report.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: NaiveDate,

    /// The time zone the day is taken in, as an IANA name such as America/New_York or
    /// Europe/London. The report runs from local midnight to local midnight, so a day when
    /// clocks change lasts 23 or 25 hours.
    #[arg(long, value_name = "ZONE", value_parser = parse_timezone)]
    pub timezone: Tz,

    /// Output format.
    #[arg(long, default_value_t = Format::Csv, value_parser = choices::<Format>(&[
        ("csv", "Comma-separated values, one row per status"),
        ("json", "One JSON document with the rows (each with its lineage: events, first_event_id, rule) and any warnings"),
        ("html", "One self-contained HTML page: a timeline of the day and the table (no network)"),
    ]))]
    pub format: Format,

    /// Report kind: the audit's rows, or the time-in-status summary of the same rows.
    #[arg(long, default_value_t = Kind::Audit, value_parser = choices::<Kind>(&[
        ("audit", "The activity audit: one row per status period, with start, end, duration and flags"),
        ("summary", "Time in each status, with productive, non-productive, online and after contact work totals, computed from the audit's rows"),
    ]))]
    pub kind: Kind,

    /// Write the report to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Fail on the first malformed record instead of skipping it with a warning, and fail
    /// a day that lies wholly before the agent's first event or after their last (nothing
    /// observed covers it) instead of inferring it.
    #[arg(long)]
    pub strict: bool,

    /// The configuration file: status scripts, catalogue, users and policies, limits,
    /// report columns (see the README). Without it, the embedded defaults apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Who asks for the report (their login). Required once the configuration defines
    /// users; the request is checked against their profiles and the policies.
    #[arg(long = "as", value_name = "LOGIN")]
    pub requester: Option<String>,
}

/// A parser for one of the library's named choices (`Format`, `Kind`, …): the names, each
/// with its help, are listed in `--help` and completed by shells; the library's `FromStr`
/// gives the value.
fn choices<T>(names: &'static [(&'static str, &'static str)]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = agent_audit::diagnostic::Unknown> + Clone + Send + Sync + 'static,
{
    let values = names
        .iter()
        .map(|(name, help)| clap::builder::PossibleValue::new(*name).help(*help));
    PossibleValuesParser::new(values).try_map(|s| s.parse::<T>())
}
