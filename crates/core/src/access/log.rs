//! The decision log: one JSON line per decision, appended to the configured file.
//!
//! Each line is written with a single `write` on a file opened for appending, under a lock
//! (a mutex between this process's threads, an exclusive `flock` between processes), so
//! lines from parallel reports never interleave. A decision that cannot be recorded is
//! treated as a denial by the callers: nothing is audited off the record.
//!
//! The log is a hash chain, as Certificate-Transparency-style logs are: every line's
//! `prev` is the SHA-256 (hex) of the line before it, its exact bytes without the newline,
//! and the first line's is [`GENESIS`]. A line changed, removed or inserted breaks the chain
//! at the next line, which [`verify_chain`] (`agent-audit verify-log`) reports. After a
//! rotation by renaming (logrotate's default), the first line of the new file continues
//! from the last line this process wrote to the old one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use super::{ACTION, Decision};
use crate::digest::sha256_hex;

/// The `prev` of the first line of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest last line whose hash a new line can be chained to.
const LAST_LINE_MAX: u64 = 1 << 20;

/// The hash of the last line this process wrote to each log, for a file that a rotation
/// left empty (every generation has its own [`DecisionLog`], so this outlives them).
fn heads() -> &'static Mutex<HashMap<PathBuf, String>> {
    static HEADS: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    HEADS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Where decisions are recorded; without a path, nowhere.
#[derive(Debug, Default)]
pub struct DecisionLog {
    path: Option<PathBuf>,
    lock: Mutex<()>,
}

/// Through what a decision was asked for: the command, and for `serve` the request and the
/// identity behind it. Logged with the decision; never a token or a cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// `report`, `run`, `watch`, `authorize`, `explain`; for `serve`, the route's action.
    pub command: String,
    /// `serve` for a request to the report page or API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The identity provider (`iss`) and subject (`sub`) that vouched for the requester.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl Asked {
    /// A decision asked for by a command of the binary.
    pub fn by(command: &str) -> Asked {
        Asked {
            command: command.to_string(),
            ..Asked::default()
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    #[serde(flatten)]
    asked: &'a Asked,
    requester: Option<&'a str>,
    action: &'a str,
    agent: &'a str,
    date: String,
    timezone: &'a str,
    decision: &'a str,
    rule: &'a str,
    reason: &'a str,
    configuration: &'a str,
    /// The SHA-256 of the line before, or [`GENESIS`].
    prev: &'a str,
}

impl DecisionLog {
    pub fn new(path: Option<&Path>) -> DecisionLog {
        DecisionLog {
            path: path.map(Path::to_path_buf),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one decision, asked for as `asked` says, under configuration `hash`.
    pub fn record(&self, decision: &Decision, asked: &Asked, hash: &str) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let line = Line {
            time: chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            asked,
            requester: decision.requester.as_deref(),
            action: ACTION,
            agent: &decision.agent,
            date: decision.date.format("%Y-%m-%d").to_string(),
            timezone: decision.timezone.name(),
            decision: if decision.allowed {
                "allowed"
            } else {
                "denied"
            },
            rule: &decision.rule,
            reason: &decision.reason,
            configuration: hash,
            prev: GENESIS,
        };
        let _guard = self
            .lock
            .lock()
            .map_err(|_| io::Error::other("the decision log lock is poisoned"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // Opened for every line, so a rotation by renaming is followed at once.
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        file.lock()?;
        let written = (|| {
            let (prev, torn) = match last_line(&mut file)? {
                Some((hash, torn)) => (hash, torn),
                None => (
                    heads()
                        .lock()
                        .ok()
                        .and_then(|h| h.get(path).cloned())
                        .unwrap_or_else(|| GENESIS.to_string()),
                    false,
                ),
            };
            let json = serde_json::to_vec(&Line {
                prev: &prev,
                ..line
            })?;
            // A line torn by a crash stays a line of its own (verify-log reports it); the
            // chain goes on after it.
            let mut bytes = Vec::with_capacity(json.len() + 2);
            if torn {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(&json);
            bytes.push(b'\n');
            file.write_all(&bytes)?;
            file.flush()?;
            Ok::<_, io::Error>(sha256_hex(&json))
        })();
        let _ = file.unlock();
        let head = written?;
        if let Ok(mut heads) = heads().lock() {
            heads.insert(path.clone(), head);
        }
        Ok(())
    }
}

/// The hash of the file's last line, and whether it lacks its newline (torn); `None` for
/// an empty file.
fn last_line(file: &mut File) -> io::Result<Option<(String, bool)>> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let take = len.min(LAST_LINE_MAX + 1);
    file.seek(SeekFrom::Start(len - take))?;
    let mut tail = Vec::with_capacity(take as usize);
    Read::by_ref(file).take(take).read_to_end(&mut tail)?;
    let torn = tail.last() != Some(&b'\n');
    let body = if torn {
        &tail[..]
    } else {
        &tail[..tail.len() - 1]
    };
    let start = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if take == len => 0,
        None => {
            return Err(io::Error::other(format!(
                "the last line of the decision log is longer than {LAST_LINE_MAX} bytes; \
                 it cannot be chained to"
            )));
        }
    };
    Ok(Some((sha256_hex(&body[start..]), torn)))
}

/// Where a chain of decision log lines breaks: the file, the line (from 1) and what is
/// wrong there.
#[derive(Debug, PartialEq, Eq)]
pub struct Break {
    pub file: String,
    pub line: u64,
    pub what: String,
}

/// A chain checked to its end: how many lines, and the hash of the last one (the head an
/// auditor records, and the `--after` of the file that will follow it).
#[derive(Debug, PartialEq, Eq)]
pub struct Chain {
    pub lines: u64,
    pub head: String,
}

/// Checks the hash chain through `files`, oldest first (`(name, reader)`): every line a
/// JSON object whose `prev` is the hash of the line before it, the first line's
/// `after` (a head recorded earlier), or [`GENESIS`] without it. The first break, if any.
pub fn verify_chain<R: BufRead>(
    files: Vec<(String, R)>,
    after: Option<&str>,
) -> io::Result<Result<Chain, Break>> {
    let mut expected = after.unwrap_or(GENESIS).to_string();
    let mut lines = 0u64;
    let mut first_file = true;
    for (name, mut reader) in files {
        let mut n = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            n += 1;
            let at = |what: String| Break {
                file: name.clone(),
                line: n,
                what,
            };
            let Some(line) = buf.strip_suffix(b"\n") else {
                return Ok(Err(at(
                    "the last line has no newline: a write was torn, or the file was cut".into(),
                )));
            };
            let prev = match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(o)) => match o.get("prev") {
                    Some(serde_json::Value::String(p)) => p.clone(),
                    _ => {
                        return Ok(Err(at(
                            "the line has no `prev`: it was not written by a chained log \
                             (or it was edited)"
                                .into(),
                        )));
                    }
                },
                _ => {
                    return Ok(Err(at(
                        "the line is not a JSON object: it was torn or edited".into(),
                    )));
                }
            };
            if prev != expected {
                let what = if n == 1 && first_file && after.is_none() {
                    format!(
                        "the first line continues a chain (its `prev` is {prev}) instead of \
                         starting one: lines are missing before it, or this file follows a \
                         rotated one; give the earlier file first, or its head with --after"
                    )
                } else if n == 1 && prev == GENESIS {
                    "the file starts a new chain instead of continuing the one before it: \
                     lines may be missing between the two files"
                        .to_string()
                } else if n == 1 {
                    format!(
                        "the first line's `prev` is not the hash of the last line before it \
                         ({expected}): lines are missing, or one was changed"
                    )
                } else {
                    format!(
                        "`prev` is not the hash of line {}: that line was changed, or lines \
                         are missing between them",
                        n - 1
                    )
                };
                return Ok(Err(at(what)));
            }
            expected = sha256_hex(line);
            lines += 1;
        }
        first_file = false;
    }
    Ok(Ok(Chain {
        lines,
        head: expected,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn decision(agent: &str) -> Decision {
        Decision {
            allowed: true,
            rule: "users.toml:1".into(),
            reason: "test".into(),
            requester: Some("alice".into()),
            agent: agent.into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            timezone: chrono_tz::UTC,
            by: super::super::DecidedBy::Users,
            unrestricted: false,
        }
    }

    fn chain(files: &[&Path]) -> Result<Chain, Break> {
        let readers = files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).unwrap_or_default();
                (p.display().to_string(), Cursor::new(bytes))
            })
            .collect();
        verify_chain(readers, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn threads_and_generations_appending_at_once_keep_one_chain() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("decisions.jsonl");
        std::thread::scope(|s| {
            for t in 0..4 {
                let path = &path;
                s.spawn(move || {
                    // Each thread its own log value, as generations of a reload are.
                    let log = DecisionLog::new(Some(path));
                    for i in 0..25 {
                        let agent = format!("a{t}-{i}");
                        log.record(&decision(&agent), &Asked::by("test"), "h")
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                });
            }
        });
        assert_eq!(chain(&[&path]).map(|c| c.lines), Ok(100));
    }

    #[test]
    fn a_rotation_by_renaming_keeps_the_chain_across_the_files() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("decisions.jsonl");
        let rotated = dir.path().join("decisions.jsonl.1");
        let log = DecisionLog::new(Some(&path));
        for agent in ["a", "b"] {
            log.record(&decision(agent), &Asked::by("test"), "h")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
        // The next generation's log, after the rename.
        let next = DecisionLog::new(Some(&path));
        next.record(&decision("c"), &Asked::by("test"), "h")
            .unwrap_or_else(|e| panic!("{e}"));
        let old = chain(&[&rotated]).unwrap_or_else(|b| panic!("{b:?}"));
        assert_eq!(chain(&[&rotated, &path]).map(|c| c.lines), Ok(3));
        let alone = chain(&[&path]);
        assert!(matches!(&alone, Err(b) if b.line == 1), "{alone:?}");
        let bytes = std::fs::read(&path).unwrap_or_default();
        let from_head = verify_chain(
            vec![("new".to_string(), Cursor::new(bytes))],
            Some(&old.head),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_head.map(|c| c.lines), Ok(1));
    }
}
