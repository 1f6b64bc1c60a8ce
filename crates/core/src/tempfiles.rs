//! The temporary files reports are written through (`report::save_atomically`): their
//! names, their removal when the process is told to stop, and the removal of those an
//! earlier process left behind.
//!
//! A temporary file is `.agent-audit-<pid>-<random>` in the directory of the file it
//! becomes. While it exists it is listed here, so that on SIGINT, SIGTERM or SIGHUP the
//! listed files are removed before the process ends as the signal asks
//! ([`remove_on_signals`], installed by `main`). SIGKILL cannot be caught: the first time a
//! process writes into a directory it removes the temporary files there whose process is
//! gone ([`sweep`]). Only names of this form are ever removed, never another tool's files.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Every temporary file's name starts so.
pub const PREFIX: &str = ".agent-audit-";
/// A temporary file of the old form (no process id) this old is left by a dead process.
const LEGACY_AGE: Duration = Duration::from_secs(3600);

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A new temporary file in `dir`, listed for removal on a signal until the returned guard
/// is dropped (after the file was renamed into place, or removed).
///
/// The file is created with the list locked, so a signal never finds a file that exists but
/// is not listed yet; and the signal's handler keeps the list locked until the process
/// ends, so no file is created after the handler removed the listed ones.
pub fn create_in(dir: &Path) -> io::Result<(tempfile::NamedTempFile, Listed)> {
    sweep_once(dir);
    let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    let file = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)?;
    let path = file.path().to_path_buf();
    live.push(path.clone());
    Ok((file, Listed(path)))
}

/// Keeps a temporary file listed; dropping it takes the file off the list.
pub struct Listed(PathBuf);

impl Drop for Listed {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = live.iter().position(|p| *p == self.0) {
            live.swap_remove(i);
        }
    }
}

/// Removes every listed temporary file (what a signal does before the process ends), and
/// returns the list still locked: while the guard lives, no temporary file is created.
pub fn remove_live() -> MutexGuard<'static, Vec<PathBuf>> {
    let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    for path in live.iter() {
        let _ = std::fs::remove_file(path);
    }
    live
}

/// On SIGINT, SIGTERM or SIGHUP: removes the listed temporary files, then ends the
/// process as the signal would have.
pub fn remove_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Held until the process ends: no other thread creates a file after this.
            let _locked = remove_live();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}

fn sweep_once(dir: &Path) {
    let first = SWEPT.lock().is_ok_and(|mut swept| {
        swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
    });
    if first {
        sweep(dir);
    }
}

/// Removes the temporary files in `dir` that a process no longer running left behind.
pub fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        if is_stale(rest, &entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether the temporary file named `PREFIX` + `rest` belongs to no running process.
fn is_stale(rest: &str, path: &Path) -> bool {
    let pid = rest
        .split_once('-')
        .and_then(|(pid, _)| pid.parse::<u32>().ok());
    let proc = Path::new("/proc");
    match pid {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) if proc.join("self").exists() => !proc.join(pid.to_string()).exists(),
        // No way to ask about the process (or the old form of name): by age.
        _ => std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LEGACY_AGE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_removes_the_files_being_written() {
        let dir = tempfile::TempDir::new().unwrap();
        let (file, listed) = create_in(dir.path()).unwrap();
        let path = file.path().to_path_buf();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("{PREFIX}{}-", std::process::id())),
            "{name}"
        );
        drop(remove_live());
        assert!(!path.exists());
        drop(listed);
        drop(file);
    }

    #[test]
    fn only_our_own_dead_files_are_swept() {
        let dir = tempfile::TempDir::new().unwrap();
        let dead = dir.path().join(format!("{PREFIX}4000000000-abcdef"));
        let mine = dir
            .path()
            .join(format!("{PREFIX}{}-abcdef", std::process::id()));
        let other = dir.path().join("report.csv");
        let young_legacy = dir.path().join(format!("{PREFIX}x1y2z3"));
        for p in [&dead, &mine, &other, &young_legacy] {
            std::fs::write(p, "x").unwrap();
        }
        sweep(dir.path());
        assert!(!dead.exists());
        assert!(mine.exists() && other.exists() && young_legacy.exists());
    }
}
