//! A batch against the agents in the events: the [`Job`]s it asks for, split over
//! machines by [`Shard`], and where each report goes.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::{Agents, Batch};
use crate::report::columns::Column;
use crate::report::{Format, Kind};
use crate::store::Store;

/// One of N machines' share of a batch: the agents whose ARN hashes to `index` (0-based,
/// as Kubernetes Indexed Jobs and AWS Batch array jobs number their tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// A `--shard` that is not `K/N` with `0 <= K < N`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a shard: expected K/N with 0 <= K < N, such as 0/4{}", if *out_of_range { " (shards count from 0)" } else { "" })]
pub struct NotAShard {
    pub given: String,
    /// Numbers that parse but are out of range (`4/4`, `1/0`).
    pub out_of_range: bool,
}

impl Shard {
    /// `K/N` with `0 <= K < N`.
    pub fn parse(s: &str) -> Result<Shard, NotAShard> {
        let bad = || NotAShard {
            given: s.to_string(),
            out_of_range: false,
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(NotAShard {
                out_of_range: true,
                ..bad()
            });
        }
        Ok(Shard { index, count })
    }

    /// Whether the agent (by ARN, or by login when it is not in the events) is this
    /// shard's. The hash is stable across machines and versions (xxh3).
    pub fn owns(&self, key: &str) -> bool {
        xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % self.count == self.index
    }

    /// `name` with `-K-of-N` before its extension, so shards sharing an output directory
    /// do not overwrite each other's manifest.
    pub fn file_name(shard: Option<Shard>, stem: &str, ext: &str) -> String {
        match shard {
            None => format!("{stem}.{ext}"),
            Some(s) => format!("{stem}-{}-of-{}.{ext}", s.index, s.count),
        }
    }
}

impl Batch {
    /// Every report the batch asks for, given the agents in the events, without repeats;
    /// with a shard, only that shard's agents.
    pub fn jobs(&self, ingested: &Store, shard: Option<Shard>) -> Vec<Job> {
        // `*`: every agent, by login where the login is theirs alone, else by ARN (an
        // agent whose events carry no login, or a login two ARNs share).
        // Logins that differ only in case name one person (`crate::login`).
        let mut login_count: HashMap<String, usize> = HashMap::new();
        for a in &ingested.agents {
            *login_count
                .entry(crate::login::key(&a.profile.login))
                .or_insert(0) += 1;
        }
        let mut all_agents: Vec<&str> = ingested
            .agents
            .iter()
            .map(|a| {
                let login = a.profile.login.as_str();
                if !login.is_empty() && login_count.get(&crate::login::key(login)) == Some(&1) {
                    login
                } else {
                    a.arn.as_str()
                }
            })
            .collect();
        all_agents.sort_unstable();
        let mut seen = BTreeSet::new();
        let mut jobs = Vec::new();
        for entry in &self.entries {
            let agents: Vec<String> = match &entry.agents {
                Agents::All => all_agents.iter().map(|s| s.to_string()).collect(),
                Agents::List(list) => list.clone(),
            };
            for agent in &agents {
                if let Some(shard) = shard {
                    let key = ingested
                        .find_agent(agent)
                        .map(|a| a.arn.as_str())
                        .unwrap_or(agent);
                    if !shard.owns(key) {
                        continue;
                    }
                }
                for date in &entry.dates {
                    let path = self.out_dir.join(output_name(
                        agent,
                        *date,
                        entry.timezone,
                        entry.kind,
                        entry.format,
                    ));
                    if seen.insert(path.clone()) {
                        jobs.push(Job {
                            agent: agent.clone(),
                            date: *date,
                            timezone: entry.timezone,
                            format: entry.format,
                            kind: entry.kind,
                            path,
                            columns: self.columns.clone(),
                        });
                    }
                }
            }
        }
        jobs
    }
}

/// `<login>/<date>_<zone with / as ->.<ext>` (`….summary.<ext>` for a summary), with the
/// login escaped by [`login_dir`].
pub fn output_name(agent: &str, date: NaiveDate, tz: Tz, kind: Kind, format: Format) -> PathBuf {
    let ext = format.extension();
    let kind = match kind {
        Kind::Audit => "",
        Kind::Summary => ".summary",
    };
    PathBuf::from(login_dir(agent)).join(format!(
        "{}_{}{kind}.{ext}",
        date.format("%Y-%m-%d"),
        tz.name().replace('/', "-")
    ))
}

/// The directory name of a login under `OUT_DIR`, one to one: `%` and every character a
/// path or a shell would read specially (`/`, `\`, `:`, `*`, `?`, `"`, `<`, `>`, `|`,
/// controls) is written as `%XX` (its UTF-8 bytes in hex), as is a leading `.` (no `..`,
/// no hidden names, no clash with the `.agent-audit-*` temporary files) and the first
/// letter of a name the batch itself writes there (`manifest.json`, `index.html`). Because
/// `%` is always escaped, two logins never share a directory: `a/b` is `a%2Fb`, `a_b`
/// stays `a_b`, `..` is `%2E.`, `_..` stays `_..`.
pub fn login_dir(login: &str) -> String {
    let mut out = String::with_capacity(login.len());
    for (i, c) in login.chars().enumerate() {
        let special = matches!(
            c,
            '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
        ) || c.is_control()
            || (i == 0 && c == '.');
        if special {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        // An empty login never names an agent (they go by ARN), but must name a directory;
        // a lone `%` is no escape, so no other login gets it.
        return "%".to_string();
    }
    if is_batch_file_name(&out) {
        let first = out.remove(0);
        out.insert_str(0, &format!("%{:02X}", u32::from(first)));
    }
    out
}

/// Whether a name is one the batch writes in `OUT_DIR` itself: the manifest and index
/// page, with or without a shard suffix, in any letter case (some file systems ignore it).
fn is_batch_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["manifest", "index"].iter().any(|stem| {
        lower
            .strip_prefix(stem)
            .is_some_and(|rest| rest.ends_with(".json") || rest.ends_with(".html"))
    })
}

/// One report to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub agent: String,
    pub date: NaiveDate,
    pub timezone: Tz,
    pub format: Format,
    pub kind: Kind,
    pub path: PathBuf,
    /// The batch's own columns, if it sets them.
    pub columns: Option<Arc<[Column]>>,
}
