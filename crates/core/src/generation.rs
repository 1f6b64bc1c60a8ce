//! A generation: the configuration, the catalogue, the organisation's status files and
//! scripts, loaded and checked together, with one content hash.
//!
//! Everything is built off to the side and either all of it is valid or none of it is
//! used: a generation is never half-loaded. Loading does not stop at the first invalid
//! file, so `check` can list every problem at once. Nothing here reads events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::access::log::DecisionLog;
use crate::access::{Access, GroupPath, PolicyFile, PolicyTest, Request};
use crate::catalog::definition::StatusFields;
use crate::catalog::status_file::StatusFile;
use crate::catalog::{Catalog, Classifier, StatusDefinition};
use crate::config::{CatalogChoice, Config};
use crate::diagnostic::{Located, closest, did_you_mean, line_col};
use crate::script::{Hooks, Language, Policies, Script, ScriptError, TestCase};

/// A loaded, validated configuration.
pub struct Generation {
    pub config: Config,
    pub classifier: Classifier,
    pub access: Access,
    pub decision_log: DecisionLog,
    /// Every embedded classification test, in load order.
    pub tests: Vec<TestCase>,
    /// Every file that was read, in load order.
    pub files: Vec<PathBuf>,
    /// The first 16 hex digits of a SHA-256 over everything that was read.
    pub hash: String,
}

/// What a test run found; shown as `file:line:col: test `name` failed: why`.
pub struct TestResult {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub name: String,
    pub outcome: Result<(), TestFailure>,
}

/// Why an embedded test failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TestFailure {
    /// The hooks and rules gave another label, or the policies another decision.
    #[error("expected {expected}, got {got}")]
    Mismatch { expected: String, got: String },
    /// A script failed while the test ran.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// A decision test's own date or time zone is not one.
    #[error(transparent)]
    Date(#[from] crate::time::DateError),
    #[error(transparent)]
    Zone(#[from] crate::time::ZoneError),
}

impl std::fmt::Display for TestResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file,
            self.line,
            self.column,
            self.what()
        )
    }
}

impl TestResult {
    /// The outcome without the place: `test `name` passed` or `… failed: why`.
    pub fn what(&self) -> String {
        // Names and expectations come from scripts: quoted in part only.
        let cap = crate::script::cap_text;
        let name = cap(&self.name, crate::script::MAX_QUOTED);
        match &self.outcome {
            Ok(()) => format!("test `{name}` passed"),
            Err(why) => format!(
                "test `{name}` failed: {}",
                cap(&why.to_string(), crate::script::MAX_MESSAGE)
            ),
        }
    }

    /// A failure as a place in the test's file (without the file's text, which the
    /// renderer reads); `None` for a pass.
    pub fn located(&self) -> Option<Located> {
        self.outcome
            .is_err()
            .then(|| Located::new(&self.file, self.line, self.column, self.what()))
    }
}

impl From<&ScriptError> for Located {
    fn from(e: &ScriptError) -> Located {
        Located::new(&e.file, e.line, e.column, e.what())
    }
}

impl From<ScriptError> for Located {
    fn from(e: ScriptError) -> Located {
        Located::from(&e)
    }
}

impl Generation {
    /// Decides a request and records the decision; a decision that cannot be recorded
    /// fails.
    pub fn decide(
        &self,
        request: &Request,
        asked: &crate::access::log::Asked,
    ) -> Result<crate::access::Decision, crate::Error> {
        let decision = self.access.decide(request);
        self.decision_log
            .record(&decision, asked, &self.hash)
            .map_err(|source| crate::Error::DecisionLog {
                path: self
                    .decision_log
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                source,
            })?;
        Ok(decision)
    }

    /// Whether this generation may replace `current` in a running process (`watch`,
    /// `serve`). A change that would turn access control off — every user gone, as when
    /// the users file is moved away, truncated by an in-place save or emptied — is a broken
    /// change, never a new generation: the process keeps `current` and says why (SPEC §9).
    /// A process started without users may gain them.
    pub fn may_replace(&self, current: &Generation) -> Result<(), Located> {
        if current.access.enforced() && !self.access.enforced() {
            let place = current
                .access
                .users
                .first()
                .map(|u| (u.origin.clone(), u.line))
                .unwrap_or_else(|| ("<configuration>".to_string(), 1));
            return Err(Located::new(
                place.0,
                place.1,
                1,
                "the changed configuration defines no users, which would turn access control off: \
                 keeping the current generation (restore the users; to run without access control, restart without them)",
            ));
        }
        Ok(())
    }

    /// The embedded defaults: the built-in `connect` catalogue, no scripts.
    pub fn embedded() -> Result<Generation, Vec<Located>> {
        Generation::from_config(Config::default(), None)
    }

    /// The generation described by a configuration file, or the embedded defaults, built
    /// from one consistent snapshot of its files (see [`Generation::load_with`]).
    pub fn load(config: Option<&Path>) -> Result<Generation, Vec<Located>> {
        Generation::load_with(config, &|p| std::fs::read_to_string(p))
    }

    /// [`Generation::load`], reading files with `read`. A generation must never mix files
    /// from before and after a save (an editor truncating one file while another is
    /// written): after loading, every file is read again and every directory listed
    /// again, and if anything differs from what was loaded the whole load starts over (up
    /// to [`SNAPSHOT_ATTEMPTS`] times, then it fails saying so).
    pub fn load_with(
        config: Option<&Path>,
        read: &dyn Fn(&Path) -> std::io::Result<String>,
    ) -> Result<Generation, Vec<Located>> {
        let Some(path) = config else {
            return Generation::embedded();
        };
        for attempt in 1..=SNAPSHOT_ATTEMPTS {
            let mut files = Files::new(read);
            let result = Generation::load_once(path, &mut files);
            if files.unchanged(result.as_ref().ok().map(|g| &g.config)) {
                return result;
            }
            if attempt < SNAPSHOT_ATTEMPTS {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        Err(vec![Located::new(
            path.display().to_string(),
            1,
            1,
            format!(
                "the configuration's files kept changing while they were read ({SNAPSHOT_ATTEMPTS} attempts): save them and try again"
            ),
        )])
    }

    fn load_once(path: &Path, files: &mut Files<'_>) -> Result<Generation, Vec<Located>> {
        let name = path.display().to_string();
        let text = files.read(path).map_err(|e| {
            vec![Located::new(
                &name,
                1,
                1,
                format!("cannot read the configuration: {e}"),
            )]
        })?;
        let config = Config::parse(path, &text).map_err(|e| vec![e])?;
        Generation::build(config, Some(&text), files)
    }

    /// Loads everything a configuration names.
    pub fn from_config(
        config: Config,
        config_text: Option<&str>,
    ) -> Result<Generation, Vec<Located>> {
        let read = |p: &Path| std::fs::read_to_string(p);
        Generation::build(config, config_text, &mut Files::new(&read))
    }

    fn build(
        config: Config,
        config_text: Option<&str>,
        reader: &mut Files<'_>,
    ) -> Result<Generation, Vec<Located>> {
        let mut hasher = Sha256::new();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        if let (Some(path), Some(text)) = (&config.file, config_text) {
            feed(&mut hasher, path, text);
            files.push(path.clone());
        }

        let catalog = match &config.catalog {
            CatalogChoice::Builtin(name) => {
                let (file, text) = name.source();
                feed(&mut hasher, Path::new(file), text);
                Catalog::builtin(*name)
            }
            CatalogChoice::File(path) => {
                let name = path.display().to_string();
                match reader.read(path) {
                    Ok(text) => {
                        feed(&mut hasher, path, &text);
                        files.push(path.clone());
                        Catalog::from_toml(&name, &text)
                    }
                    Err(e) => Err(Located::new(
                        &name,
                        1,
                        1,
                        format!("cannot read the catalogue: {e}"),
                    )),
                }
            }
        };
        let catalog = catalog.map_err(|e| errors.push(e)).ok();

        let mut definitions: Vec<(StatusDefinition, Located)> = Vec::new();
        let mut scripts = Vec::new();
        let mut tests = Vec::new();
        for path in config_files(config.file.as_deref(), &config.scripts, &mut errors) {
            let name = path.display().to_string();
            let text = match reader.read(&path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(Located::new(&name, 1, 1, format!("cannot read: {e}")));
                    continue;
                }
            };
            feed(&mut hasher, &path, &text);
            files.push(path.clone());
            match Language::of(&path) {
                None => match StatusFile::parse(&name, &text) {
                    Ok(file) => {
                        for (mut def, offset) in file.statuses {
                            let (line, column) = line_col(&text, offset);
                            def.at = format!("{name}:{line}");
                            definitions.push((def, Located::new(&name, line, column, "")));
                        }
                        tests.extend(file.tests);
                    }
                    Err(e) => errors.push(e),
                },
                Some(language) => match Script::load(&name, &text, config.limits, language) {
                    Ok(script) => {
                        if let Some((line, items)) = &script.statuses {
                            for item in items {
                                match hook_definition(&name, *line, item.clone()) {
                                    Ok(def) => {
                                        definitions.push((def, Located::new(&name, *line, 1, "")))
                                    }
                                    Err(e) => errors.push(e),
                                }
                            }
                        }
                        if let Some((line, value)) = script.tests.clone() {
                            match crate::script::parse_tests(&name, &text, line, value) {
                                Ok(cases) => tests.extend(cases),
                                Err(e) => errors.push(Located::from(e).with_source(&text)),
                            }
                        }
                        scripts.push(Arc::new(script));
                    }
                    Err(e) => errors.push(Located::from(e).with_source(&text)),
                },
            }
        }

        let access = load_policies(&config, reader, &mut hasher, &mut files, &mut errors);

        let user = first_of_each(definitions, "status", |d| (&d.name, &d.origin), &mut errors);

        let Some(catalog) = catalog else {
            return Err(errors);
        };
        let catalog = catalog.with_definitions(user);
        if catalog.agent_status_count() > config.max_statuses {
            let file = config
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "<configuration>".to_string());
            errors.push(Located::new(
                file,
                1,
                1,
                format!(
                    "{} agent statuses are defined; at most {} are allowed (Connect's limit; raise limits.max_statuses to allow more)",
                    catalog.agent_status_count(),
                    config.max_statuses
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let digest = hasher.finalize();
        let hash = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Generation {
            classifier: Classifier {
                catalog,
                hooks: Hooks::new(scripts),
            },
            access,
            decision_log: DecisionLog::new(config.decision_log.as_deref()),
            config,
            tests,
            files,
            hash,
        })
    }

    /// What is valid but most likely wrong: a text in a status script that differs from a
    /// defined status only by letter case (`"Long Hold"` for `Long hold`). Labels are
    /// compared exactly, so such a label is a status of its own, with none of the defined
    /// one's colour, type or productivity. A text in capitals only (`"CONNECTED"`,
    /// `"OFFLINE"`) is one of the event's own values, compared with a field, and is not
    /// taken for a label. `check` prints these, and fails on them under `--strict`.
    pub fn warnings(&self) -> Vec<Located> {
        let defined = self.classifier.catalog.names();
        let mut warnings = Vec::new();
        for script in self.classifier.hooks.scripts() {
            let source = script.source();
            for (offset, text) in crate::script::string_literals(source, script.language) {
                let capitals_only = !text.chars().any(char::is_lowercase);
                if capitals_only || defined.contains(&text.as_str()) {
                    continue;
                }
                let lower = text.to_lowercase();
                if let Some(name) = defined.iter().find(|d| d.to_lowercase() == lower) {
                    let mut w = Located::at_offset(
                        &script.file,
                        source,
                        offset,
                        format!(
                            "\"{text}\" differs from the defined status \"{name}\" only in letter case: labels are compared exactly, so a hook returning it makes a status of its own; write \"{name}\""
                        ),
                    );
                    w.width = text.chars().count() + 2;
                    warnings.push(w);
                }
            }
        }
        warnings
    }

    /// Runs every embedded test: classification tests against the whole classifier,
    /// decision tests against the whole access configuration.
    pub fn run_tests(&self) -> Vec<TestResult> {
        let mut results: Vec<TestResult> = self
            .tests
            .iter()
            .map(|case| {
                let raw = case.snapshot.to_raw();
                let got = self
                    .classifier
                    .classify(case.snapshot.event_type(), case.snapshot.timestamp(), &raw)
                    .map(|c| c.map(|c| c.label.into_owned()));
                let outcome = match got {
                    Err(e) => Err(TestFailure::Script(e)),
                    Ok(label) if label == case.expect => Ok(()),
                    Ok(label) => Err(TestFailure::Mismatch {
                        expected: describe(case.expect.as_deref()),
                        got: describe(label.as_deref()),
                    }),
                };
                TestResult {
                    file: case.file.clone(),
                    line: case.line,
                    column: case.column,
                    name: case.name.clone(),
                    outcome,
                }
            })
            .collect();
        results.extend(self.access.tests.iter().map(|t| TestResult {
            file: t.file.clone(),
            line: t.line,
            column: t.column,
            name: t.name.clone().unwrap_or_default(),
            outcome: self.run_policy_test(t),
        }));
        results
    }

    fn run_policy_test(&self, t: &PolicyTest) -> Result<(), TestFailure> {
        let date = crate::time::parse_date(t.date.as_deref().unwrap_or("2026-01-01"))?;
        let today = match &t.today {
            Some(d) => crate::time::parse_date(d)?,
            None => date,
        };
        let timezone = crate::time::parse_timezone(t.timezone.as_deref().unwrap_or("UTC"))?;
        let request = Request {
            requester: t.requester.clone(),
            agent: t.agent.clone(),
            agent_hierarchy_from_events: t
                .agent_hierarchy
                .as_ref()
                .map(|h| GroupPath::from_names(h)),
            date,
            timezone,
            today,
        };
        let decision = self.access.decide(&request);
        let expected = t.expect == "allow";
        if decision.allowed == expected {
            Ok(())
        } else {
            Err(TestFailure::Mismatch {
                expected: t.expect.clone(),
                got: decision.to_string(),
            })
        }
    }
}

fn describe(label: Option<&str>) -> String {
    match label {
        Some(l) => format!("`{l}`"),
        None => "no label".to_string(),
    }
}

/// Loads of one configuration before [`Generation::load_with`] gives up on its files
/// settling.
pub const SNAPSHOT_ATTEMPTS: usize = 20;

/// The files one load read, with a digest of what each held (an error counts as content).
struct Files<'r> {
    read: &'r dyn Fn(&Path) -> std::io::Result<String>,
    seen: Vec<(PathBuf, u128)>,
}

impl<'r> Files<'r> {
    fn new(read: &'r dyn Fn(&Path) -> std::io::Result<String>) -> Files<'r> {
        Files {
            read,
            seen: Vec::new(),
        }
    }

    fn digest(result: &std::io::Result<String>) -> u128 {
        match result {
            Ok(text) => xxhash_rust::xxh3::xxh3_128(text.as_bytes()),
            Err(e) => xxhash_rust::xxh3::xxh3_128(e.to_string().as_bytes()) ^ 1,
        }
    }

    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        let result = (self.read)(path);
        self.seen.push((path.to_path_buf(), Files::digest(&result)));
        result
    }

    /// Whether every file still holds what was read, and the configured directories
    /// still list the same files (`config`: the configuration the load parsed, if it did).
    fn unchanged(&self, config: Option<&Config>) -> bool {
        let same_content = self
            .seen
            .iter()
            .all(|(path, digest)| Files::digest(&(self.read)(path)) == *digest);
        let same_listing = config.is_none_or(|c| {
            let mut ignored = Vec::new();
            let now = config_files(c.file.as_deref(), &c.scripts, &mut ignored)
                .into_iter()
                .chain(config_files(c.file.as_deref(), &c.policies, &mut ignored));
            now.into_iter()
                .all(|p| self.seen.iter().any(|(seen, _)| *seen == p))
        });
        same_content && same_listing
    }
}

fn feed(hasher: &mut Sha256, path: &Path, text: &str) {
    hasher.update(path.to_string_lossy().as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    hasher.update([0]);
}

/// The configured files, in load order: each configured path in turn; a directory's
/// `.toml`, `.rhai` and `.lua` entries (not its subdirectories' files) in name order.
///
/// Fail closed: an entry with one of those names that cannot be read as a regular file (a
/// dangling symlink, a directory, a FIFO, a file without read permission) is an error at
/// its own name, never passed over, because a users file or policy that is silently left
/// out turns access control off or drops a forbid. Only an editor's lock file (`.#name`,
/// which Emacs makes as a dangling symlink while a file is edited) is passed over.
fn config_files(
    config_file: Option<&Path>,
    paths: &[PathBuf],
    errors: &mut Vec<Located>,
) -> Vec<PathBuf> {
    let origin = config_file
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found = Vec::new();
                    for entry in entries {
                        match entry {
                            Ok(e) => found.push(e.path()),
                            Err(e) => errors.push(Located::new(
                                &origin,
                                1,
                                1,
                                format!("cannot list `{}`: {e}", path.display()),
                            )),
                        }
                    }
                    found.retain(|p| is_script(p) && !is_editor_lock(p));
                    found.sort();
                    for p in found {
                        match regular_file(&p) {
                            Ok(()) => out.push(p),
                            Err(why) => errors.push(unreadable(&p, &why)),
                        }
                    }
                }
                Err(e) => errors.push(Located::new(
                    &origin,
                    1,
                    1,
                    format!(
                        "cannot read the scripts directory `{}`: {e}",
                        path.display()
                    ),
                )),
            },
            _ => match regular_file(path) {
                Ok(()) => out.push(path.clone()),
                Err(why) => errors.push(Located::new(
                    &origin,
                    1,
                    1,
                    format!("`{}` {why}", path.display()),
                )),
            },
        }
    }
    out
}

/// What a configured path is instead of a regular file, in words that follow its name.
#[derive(Debug, thiserror::Error)]
enum NotAFile {
    #[error("is a directory, not a file")]
    Directory,
    #[error("is not a regular file (a FIFO, socket or device)")]
    Special,
    #[error("is a symbolic link to `{}`, which does not exist", .0.display())]
    DanglingLink(PathBuf),
    #[error("does not exist")]
    Missing,
    #[error("cannot be read: {0}")]
    Unreadable(std::io::Error),
}

/// Whether `path` is a regular file (through symlinks); if not, what it is instead.
fn regular_file(path: &Path) -> Result<(), NotAFile> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) if meta.is_dir() => Err(NotAFile::Directory),
        Ok(_) => Err(NotAFile::Special),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => Err(NotAFile::DanglingLink(target)),
            Err(_) => Err(NotAFile::Missing),
        },
        Err(e) => Err(NotAFile::Unreadable(e)),
    }
}

/// A configured file that cannot be used, placed at its own name.
fn unreadable(path: &Path, why: &dyn std::fmt::Display) -> Located {
    let name = path.display().to_string();
    Located::new(
        &name,
        1,
        1,
        format!(
            "cannot read: `{name}` {why}; every status, users and policy file in a configured directory must be readable (fix or remove it)"
        ),
    )
}

/// An Emacs lock file (`.#users.toml`): a dangling symlink that only says who edits.
fn is_editor_lock(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".#"))
}

/// Keeps the first item of each name; a later one is an error at its own place.
fn first_of_each<T>(
    items: Vec<(T, Located)>,
    what: &str,
    key: impl Fn(&T) -> (&String, &String),
    errors: &mut Vec<Located>,
) -> Vec<T> {
    let mut kept: Vec<T> = Vec::new();
    for (item, at) in items {
        let (name, _) = key(&item);
        if let Some(first) = kept.iter().find(|k| key(k).0 == name) {
            errors.push(Located::new(
                &at.file,
                at.line,
                at.column,
                format!("{what} `{name}` is already defined in {}", key(first).1),
            ));
            continue;
        }
        kept.push(item);
    }
    kept
}

/// A user with the places of its definition and of its profile names.
struct PlacedUser {
    user: crate::access::User,
    at: Located,
    refs: Vec<(String, Located)>,
}

/// Loads the users, profiles, decision tests and policy scripts the configuration names.
fn load_policies(
    config: &Config,
    reader: &mut Files<'_>,
    hasher: &mut Sha256,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<Located>,
) -> Access {
    let mut profiles: Vec<(crate::access::Profile, Located)> = Vec::new();
    let mut users: Vec<PlacedUser> = Vec::new();
    let mut tests = Vec::new();
    let mut scripts = Vec::new();
    for path in config_files(config.file.as_deref(), &config.policies, errors) {
        let name = path.display().to_string();
        let text = match reader.read(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Located::new(&name, 1, 1, format!("cannot read: {e}")));
                continue;
            }
        };
        feed(hasher, &path, &text);
        files.push(path.clone());
        let at = |offset: usize| {
            let (line, column) = line_col(&text, offset);
            Located::new(&name, line, column, "")
        };
        match Language::of(&path) {
            None => match PolicyFile::parse(&name, &text) {
                Ok(file) => {
                    profiles.extend(file.profiles.into_iter().map(|(p, o)| (p, at(o))));
                    for entry in file.users {
                        users.push(PlacedUser {
                            at: at(entry.at),
                            refs: entry
                                .profile_refs
                                .into_iter()
                                .map(|(r, o)| (r, at(o)))
                                .collect(),
                            user: entry.user,
                        });
                    }
                    tests.extend(file.tests);
                }
                Err(e) => errors.push(e),
            },
            Some(language) => match Script::load(&name, &text, config.limits, language) {
                Ok(script) if !script.authorizes => errors.push(Located::new(
                    &name,
                    1,
                    1,
                    "a policy script must define `authorize(req)`",
                )),
                Ok(script) => {
                    if let Some((line, value)) = script.tests.clone() {
                        match policy_tests(&name, &text, line, value) {
                            Ok(cases) => tests.extend(cases),
                            Err(e) => errors.push(e),
                        }
                    }
                    scripts.push(Arc::new(script));
                }
                Err(e) => errors.push(e.into()),
            },
        }
    }
    let kept_profiles = first_of_each(profiles, "profile", |p| (&p.name, &p.origin), errors);
    let mut all_refs = Vec::new();
    let placed: Vec<(crate::access::User, Located)> = users
        .into_iter()
        .map(|u| {
            all_refs.push((u.user.login.clone(), u.refs));
            (u.user, u.at)
        })
        .collect();
    // Logins that differ only in case are one person (`crate::login`): a second spelling
    // is a second definition of the same user.
    let mut by_key: Vec<(String, String, String)> = Vec::new();
    let placed: Vec<(crate::access::User, Located)> = placed
        .into_iter()
        .filter(|(u, at)| {
            let key = crate::login::key(&u.login);
            match by_key.iter().find(|(k, login, _)| *k == key && *login != u.login) {
                Some((_, first, origin)) => {
                    errors.push(Located::new(
                        &at.file,
                        at.line,
                        at.column,
                        format!(
                            "user `{}` is already defined as `{first}` in {origin}: logins are compared without regard to letter case",
                            u.login
                        ),
                    ));
                    false
                }
                None => {
                    by_key.push((key, u.login.clone(), u.origin.clone()));
                    true
                }
            }
        })
        .collect();
    let kept_users = first_of_each(placed, "user", |u| (&u.login, &u.origin), errors);
    for (login, refs) in all_refs {
        for (profile, at) in refs {
            if !kept_profiles.iter().any(|p| p.name == profile) {
                let hint = did_you_mean(&closest(
                    &profile,
                    kept_profiles.iter().map(|p| p.name.as_str()),
                ));
                errors.push(Located::new(
                    &at.file,
                    at.line,
                    at.column,
                    format!("user `{login}` names an unknown profile `{profile}`{hint}"),
                ));
            }
        }
    }
    Access {
        profiles: kept_profiles,
        users: kept_users,
        policies: Policies::new(scripts),
        tests,
    }
}

/// Decision tests a policy script's `tests()` returned.
fn policy_tests(
    file: &str,
    source: &str,
    line: usize,
    value: serde_json::Value,
) -> Result<Vec<PolicyTest>, Located> {
    let items = match value {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(items) => items,
        other => {
            return Err(Located::new(
                file,
                line,
                1,
                format!(
                    "tests() must return a list of tests, not {}",
                    crate::script::json_kind(&other)
                ),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut t: PolicyTest = serde_json::from_value(item).map_err(|e| {
                Located::new(file, line, 1, format!("tests(): test {}: {e}", i + 1))
            })?;
            t.file = file.to_string();
            (t.line, t.column) = t.name.as_deref().map_or((line, 1), |name| {
                crate::script::test_place(source, line, name)
            });
            t.name.get_or_insert_with(|| format!("test {}", i + 1));
            crate::access::users::check_expect(&t)
                .map_err(|m| Located::new(file, line, 1, m.to_string()))?;
            Ok(t)
        })
        .collect()
}

fn is_script(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("toml" | "rhai" | "lua")
    )
}

/// A definition returned by a `statuses()` hook.
fn hook_definition(
    file: &str,
    line: usize,
    value: serde_json::Value,
) -> Result<StatusDefinition, Located> {
    let fields: StatusFields = serde_json::from_value(value)
        .map_err(|e| Located::new(file, line, 1, format!("statuses(): {e}")))?;
    let mut def = fields
        .validate(file)
        .map_err(|(_, msg)| Located::new(file, line, 1, format!("statuses(): {msg}")))?;
    def.at = format!("{file}:{line}");
    Ok(def)
}
