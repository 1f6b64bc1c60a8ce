//! The script host: one API, two languages (SPEC §6).
//!
//! A status script (`.rhai` or `.lua`) may define three hooks: `classify(snap)` returns a
//! label or nothing; `statuses()` returns status definitions; `tests()` returns test cases
//! (`{name, snapshot, expect}`) that `agent-audit check` runs. A script is loaded once per
//! configuration: compiled, its top level run, `statuses()` and `tests()` called. Each
//! worker thread then keeps its own instance of every script ([`Hooks`]), because a Lua
//! state cannot be shared between threads, and caches `classify` results per distinct
//! snapshot ([`snap`]).
//!
//! Scripts are untrusted: neither language can reach files, the network, processes or the
//! clock; every call has an operation budget, a wall-clock limit that the host enforces
//! (also inside built-in functions) and every engine a memory limit. A script that fails,
//! runs out of budget or returns the wrong type produces a [`ScriptError`] naming the file,
//! line, column and hook, never a panic or a hang. A limit, once hit, cannot be caught by
//! the script, and the hook that hit it is disabled for the rest of the configuration's
//! life ([`ScriptSet`]): every later call fails at once with the same error instead of
//! spending the budget again. What a script prints, and the messages of its errors, are
//! capped ([`Output`], [`cap_text`]). `docs/limits.md` says what each limit bounds and how.

mod data;
mod lua;
mod lua_pattern;
mod lua_string;
mod returns;
mod rhai;
pub mod snap;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

pub use snap::{Snap, TestSnap, Tree};

/// Budgets for untrusted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Operations per hook call (Rhai operations, Lua VM instructions).
    pub operations: u64,
    /// Memory per engine instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time per hook call, in milliseconds, built-in functions included.
    pub call_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            operations: 1_000_000,
            memory_bytes: 64 << 20,
            call_ms: 100,
        }
    }
}

/// A limit a call ran into. None of them can be caught by the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `limits.call_ms`.
    Time,
    /// `limits.operations`.
    Operations,
    /// `limits.memory_mb` (or a size limit derived from it).
    Memory,
    /// The engine's call depth (the number is the engine's limit).
    Depth(usize),
}

impl Limit {
    /// What the script author reads.
    pub fn message(self, limits: &Limits) -> String {
        match self {
            Limit::Time => format!(
                "time limit exceeded: the call ran for more than {} ms (limits.call_ms)",
                limits.call_ms
            ),
            Limit::Operations => format!(
                "operation budget exceeded: more than {} operations in one call (limits.operations)",
                limits.operations
            ),
            Limit::Memory => format!(
                "memory limit exceeded: more than {} MB (limits.memory_mb)",
                limits.memory_bytes >> 20
            ),
            Limit::Depth(levels) => format!("call stack too deep (more than {levels} levels)"),
        }
    }
}

/// The wall-clock end of the current call, shared by an engine instance and its callbacks
/// (Rhai's progress callback must be `Send + Sync`, hence the atomic).
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    /// Nanoseconds since [`clock_origin`]; 0 means not armed.
    at: AtomicU64,
}

fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(clock_origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Deadline {
    /// Starts a call that may run for `limits.call_ms`.
    pub(crate) fn arm(&self, limits: &Limits) {
        let budget = Duration::from_millis(limits.call_ms);
        let at = now_ns().saturating_add(u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX));
        self.at.store(at.max(1), Ordering::Relaxed);
    }

    /// Whether the armed call has run out of time.
    pub(crate) fn passed(&self) -> bool {
        let at = self.at.load(Ordering::Relaxed);
        at != 0 && now_ns() >= at
    }
}

/// The longest message of a script error, and the longest line a script may print.
pub const MAX_MESSAGE: usize = 1024;

/// The stack a thread that runs scripts should have. Rhai recurses on the native stack, so
/// a script call made with less than 16 MiB of stack left runs on a fresh 32 MiB segment,
/// mapped and unmapped around the call (tens of microseconds, and a TLB shootdown on every
/// core); threads given this much (untouched pages cost nothing) never need one. The
/// binary's rayon pool, its main work and `serve`'s runtime threads have it.
pub const THREAD_STACK: usize = 64 << 20;
/// Lines one script may print during a run; after that its output is dropped.
pub const MAX_PRINTED_LINES: usize = 100;

/// `s`, cut to at most `max` bytes (at a character boundary) with a note of what was cut.
pub fn cap_text(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}… ({} more bytes)", &s[..cut], s.len() - cut))
}

/// Where one script's `print` (and Rhai's `debug`) goes: standard error, each line capped,
/// at most [`MAX_PRINTED_LINES`] lines per script and run, terminal escapes neutralised.
#[derive(Debug)]
pub(crate) struct Output {
    file: String,
    lines: AtomicUsize,
}

impl Output {
    pub(crate) fn new(file: &str) -> Arc<Output> {
        Arc::new(Output {
            file: file.to_string(),
            lines: AtomicUsize::new(0),
        })
    }

    pub(crate) fn print(&self, place: &str, text: &str) {
        let n = self.lines.fetch_add(1, Ordering::Relaxed);
        if n < MAX_PRINTED_LINES {
            let line = crate::diagnostic::terminal_safe(&cap_text(text, MAX_MESSAGE)).into_owned();
            eprintln!("{}{place}: {line}", self.file);
        } else if n == MAX_PRINTED_LINES {
            eprintln!(
                "{}: further output of this script is dropped ({MAX_PRINTED_LINES} lines printed)",
                self.file
            );
        }
    }
}

/// The language of a script, from its file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Rhai,
    Lua,
}

impl Language {
    pub fn of(path: &Path) -> Option<Language> {
        match path.extension()?.to_str()? {
            "rhai" => Some(Language::Rhai),
            "lua" => Some(Language::Lua),
            _ => None,
        }
    }
}

/// A failure inside a script, placed in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// `load`, `classify`, `statuses`, `tests` (or `authorize` for policies).
    pub hook: &'static str,
    pub message: String,
    /// The event being classified: agent, `EventId`, timestamp.
    pub event: Option<String>,
    /// The limit the call ran into, if that is why it failed.
    pub limit: Option<Limit>,
}

impl ScriptError {
    pub fn new(
        file: &str,
        line: usize,
        column: usize,
        hook: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ScriptError {
            file: file.to_string(),
            line: line.max(1),
            column: column.max(1),
            hook,
            message: crate::diagnostic::one_line(&cap_text(&message.into(), MAX_MESSAGE)),
            event: None,
            limit: None,
        }
    }

    /// A failure because the call ran into `limit`.
    pub fn limit(
        file: &str,
        line: usize,
        column: usize,
        hook: &'static str,
        limit: Limit,
        limits: &Limits,
    ) -> Self {
        ScriptError {
            limit: Some(limit),
            ..ScriptError::new(file, line, column, hook, limit.message(limits))
        }
    }

    pub fn with_event(mut self, event: String) -> Self {
        self.event = Some(event);
        self
    }
}

impl ScriptError {
    /// What failed, without the place: `classify failed: … (while classifying …)`.
    pub fn what(&self) -> String {
        match &self.event {
            Some(event) => format!(
                "{} failed: {} (while classifying {event})",
                self.hook, self.message
            ),
            None => format!("{} failed: {}", self.hook, self.message),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

impl std::error::Error for ScriptError {}

/// A test case embedded next to a status file or a script: a snapshot and the label the
/// whole configuration must give it.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub name: String,
    pub snapshot: TestSnap,
    /// `None`: the snapshot must get no label at all.
    pub expect: Option<String>,
}

/// A test case as a hook returns it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCaseValue {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    snapshot: Option<TestSnap>,
    #[serde(default)]
    expect: Option<String>,
}

/// A loaded script, shared by every thread.
pub struct Script {
    pub file: String,
    pub language: Language,
    source: Arc<str>,
    compiled: Compiled,
    limits: Limits,
    output: Arc<Output>,
    /// Whether it defines `classify`.
    pub classifies: bool,
    /// Whether it defines `authorize` (a policy).
    pub authorizes: bool,
    /// The line of `authorize`, for decisions.
    pub authorize_line: usize,
    /// Whether `snap` carries the time fields (then results are not cached).
    pub with_times: bool,
    /// What `statuses()` returned, with the line of the hook.
    pub statuses: Option<(usize, Vec<serde_json::Value>)>,
    /// What `tests()` returned, with the line of the hook: classification tests for a
    /// status script ([`parse_tests`]), decision tests for a policy.
    pub tests: Option<(usize, serde_json::Value)>,
}

enum Compiled {
    Rhai(Arc<rhai::Hooked>),
    /// The source as instances compile it (with the hooks' returns marked).
    Lua(Arc<str>),
}

/// One engine instance of a script, owned by one thread.
trait Instance {
    /// Calls `classify(snap)`: a label and the line of the `return` that returned it, or
    /// `None` to defer to the next rule.
    fn classify(&mut self, snap: &Tree<'_>) -> Result<Option<(String, usize)>, ScriptError>;
    /// Calls `authorize(req)` and returns what it returned, as data, with the line of the
    /// `return` that returned it.
    fn authorize(&mut self, req: &Tree<'_>) -> Result<(serde_json::Value, usize), ScriptError>;
}

/// What an engine learned while loading a script.
struct Loaded {
    compiled: Compiled,
    classifies: bool,
    /// The line of `authorize`, if the script defines it.
    authorize: Option<usize>,
    statuses: Option<(usize, serde_json::Value)>,
    tests: Option<(usize, serde_json::Value)>,
}

impl Script {
    /// Compiles a script, runs its top level and collects `statuses()` and `tests()`.
    pub fn load(
        file: &str,
        source: &str,
        limits: Limits,
        language: Language,
    ) -> Result<Script, ScriptError> {
        let output = Output::new(file);
        let loaded = match language {
            Language::Rhai => rhai::load(file, source, limits, &output)?,
            Language::Lua => lua::load(file, source, limits, &output)?,
        };
        let statuses = match loaded.statuses {
            None => None,
            Some((line, serde_json::Value::Array(items))) => Some((line, items)),
            Some((line, serde_json::Value::Null)) => Some((line, Vec::new())),
            Some((line, other)) => {
                return Err(ScriptError::new(
                    file,
                    line,
                    1,
                    "statuses",
                    format!(
                        "must return a list of status definitions, not {}",
                        json_kind(&other)
                    ),
                ));
            }
        };
        Ok(Script {
            file: file.to_string(),
            language,
            source: source.into(),
            compiled: loaded.compiled,
            limits,
            output,
            classifies: loaded.classifies,
            authorizes: loaded.authorize.is_some(),
            authorize_line: loaded.authorize.unwrap_or(1),
            with_times: snap::needs_times(source),
            statuses,
            tests: loaded.tests,
        })
    }

    fn instantiate(&self) -> Result<Box<dyn Instance>, ScriptError> {
        match &self.compiled {
            Compiled::Rhai(hooked) => Ok(Box::new(rhai::Instance::new(
                &self.file,
                self.source.clone(),
                hooked.clone(),
                self.limits,
                &self.output,
            ))),
            Compiled::Lua(marked) => Ok(Box::new(lua::Instance::new(
                &self.file,
                &self.source,
                marked,
                self.limits,
                &self.output,
            )?)),
        }
    }
}

impl Script {
    /// The script's text as it was loaded.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The string literals of a script's source with the byte offset of each (the opening
/// quote): `"…"` and `'…'` with backslash escapes, outside comments (`--` in Lua, `//` and
/// `/* */` in Rhai). A lexer of literals only, for checks that read what a script may
/// return (`check`'s label spelling); not a parser.
pub fn string_literals(source: &str, language: Language) -> Vec<(usize, String)> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let line_comment = match language {
            Language::Lua => rest.starts_with(b"--"),
            Language::Rhai => rest.starts_with(b"//"),
        };
        if line_comment {
            i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            continue;
        }
        if language == Language::Rhai && rest.starts_with(b"/*") {
            i += source[i..].find("*/").map_or(rest.len(), |end| end + 2);
            continue;
        }
        let quote = bytes[i];
        if quote != b'"' && quote != b'\'' {
            i += 1;
            continue;
        }
        let start = i;
        let mut text = String::new();
        let mut chars = source[i + 1..].char_indices();
        let mut closed = None;
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        text.push(escaped);
                    }
                }
                '\n' => break,
                c if c as u32 == u32::from(quote) => {
                    closed = Some(at);
                    break;
                }
                c => text.push(c),
            }
        }
        match closed {
            Some(at) => {
                found.push((start, text));
                i = start + 1 + at + 1;
            }
            None => i = start + 1,
        }
    }
    found
}

/// Where a `tests()` hook that starts on `line` of `source` names the test `name`: the
/// quote that opens its name (`"lunch"` or `'lunch'`), or the hook's own line.
pub(crate) fn test_place(source: &str, line: usize, name: &str) -> (usize, usize) {
    let from: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = source.get(from..).unwrap_or("");
    [format!("\"{name}\""), format!("'{name}'")]
        .iter()
        .filter_map(|quoted| rest.find(quoted.as_str()))
        .min()
        .map_or((line, 1), |at| {
            crate::diagnostic::line_col(source, from + at)
        })
}

pub fn parse_tests(
    file: &str,
    source: &str,
    line: usize,
    value: serde_json::Value,
) -> Result<Vec<TestCase>, ScriptError> {
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => Vec::new(),
        other => {
            return Err(ScriptError::new(
                file,
                line,
                1,
                "tests",
                format!("must return a list of tests, not {}", json_kind(&other)),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let case: TestCaseValue = serde_json::from_value(item).map_err(|e| {
                ScriptError::new(file, line, 1, "tests", format!("test {}: {e}", i + 1))
            })?;
            let (line, column) = case
                .name
                .as_deref()
                .map_or((line, 1), |name| test_place(source, line, name));
            Ok(TestCase {
                file: file.to_string(),
                line,
                column,
                name: case.name.unwrap_or_else(|| format!("test {}", i + 1)),
                snapshot: case.snapshot.unwrap_or_default(),
                expect: case.expect,
            })
        })
        .collect()
}

pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// The classify hooks of one configuration, in load order.
pub struct Hooks {
    set: ScriptSet,
}

/// Scripts that run on every worker thread, each thread with its own instances.
struct ScriptSet {
    /// Distinguishes configurations, so a thread never uses a stale instance.
    id: u64,
    scripts: Vec<Arc<Script>>,
    /// Per script: the limit error that disabled it. Shared by every thread, so a hook
    /// that hit a limit once is never called again in this configuration, and every
    /// report that needs it fails with the same message.
    disabled: Vec<OnceLock<ScriptError>>,
}

static NEXT_SET_ID: AtomicU64 = AtomicU64::new(1);

/// Cached results per instance; cleared when it grows past this.
const CACHE_CAPACITY: usize = 1 << 20;
/// Script sets a thread keeps instances of (old generations are dropped beyond this).
const SETS_PER_THREAD: usize = 8;

struct ThreadInstance {
    instance: Box<dyn Instance>,
    cache: HashMap<u128, Option<(String, usize)>>,
}

/// A label a `classify` hook gave, and where: `file:line` of the `return` that gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookLabel {
    pub label: String,
    pub rule: String,
}

/// One hook asked while explaining a label: its file, and what it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookStep {
    pub file: String,
    /// `None`: it returned nothing and deferred to the next rule.
    pub returned: Option<HookLabel>,
}

thread_local! {
    static POOL: RefCell<HashMap<u64, Vec<ThreadInstance>>> = RefCell::new(HashMap::new());
}

impl ScriptSet {
    fn new(scripts: Vec<Arc<Script>>) -> ScriptSet {
        ScriptSet {
            id: NEXT_SET_ID.fetch_add(1, Ordering::Relaxed),
            disabled: scripts.iter().map(|_| OnceLock::new()).collect(),
            scripts,
        }
    }

    /// The error that disabled script `i`, if one did.
    fn disabled(&self, i: usize) -> Option<ScriptError> {
        self.disabled.get(i).and_then(|d| d.get().cloned())
    }

    /// Passes a call's result through, disabling script `i` when it hit a limit; the
    /// error returned is then the one every later call of the script returns.
    fn settle<T>(&self, i: usize, result: Result<T, ScriptError>) -> Result<T, ScriptError> {
        match result {
            Err(e) if e.limit.is_some() => {
                let Some(slot) = self.disabled.get(i) else {
                    return Err(e);
                };
                let first = slot.get_or_init(|| {
                    let mut e = e;
                    e.message = format!(
                        "{}; `{}` is disabled for the rest of this run (until the configuration changes)",
                        e.message, e.hook
                    );
                    e
                });
                Err(first.clone())
            }
            other => other,
        }
    }

    /// Runs `f` with this thread's instances of the set, creating them on first use.
    fn with_instances<R>(
        &self,
        f: impl FnOnce(&mut [ThreadInstance]) -> Result<R, ScriptError>,
    ) -> Result<R, ScriptError> {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if !pool.contains_key(&self.id) {
                let instances = self
                    .scripts
                    .iter()
                    .map(|s| {
                        Ok(ThreadInstance {
                            instance: s.instantiate()?,
                            cache: HashMap::new(),
                        })
                    })
                    .collect::<Result<Vec<_>, ScriptError>>()?;
                if pool.len() >= SETS_PER_THREAD {
                    pool.clear();
                }
                pool.insert(self.id, instances);
            }
            match pool.get_mut(&self.id) {
                Some(instances) => f(instances),
                None => f(&mut []),
            }
        })
    }
}

impl Hooks {
    pub fn new(scripts: Vec<Arc<Script>>) -> Hooks {
        Hooks {
            set: ScriptSet::new(scripts.into_iter().filter(|s| s.classifies).collect()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.scripts.is_empty()
    }

    /// The scripts that classify, in the order they are consulted.
    pub fn scripts(&self) -> &[Arc<Script>] {
        &self.set.scripts
    }

    /// Whether some hook reads the event's own time or type (so is asked per event).
    pub fn need_times(&self) -> bool {
        self.set.scripts.iter().any(|s| s.with_times)
    }

    /// Asks each script's `classify` in load order; the first label wins.
    pub fn classify(&self, snap: &Snap<'_, '_>) -> Result<Option<HookLabel>, ScriptError> {
        self.consult(snap, None)
    }

    /// [`Hooks::classify`], listing every hook asked, in order, with what it returned.
    pub fn trace(&self, snap: &Snap<'_, '_>) -> Result<Vec<HookStep>, ScriptError> {
        let mut steps = Vec::new();
        self.consult(snap, Some(&mut steps))?;
        Ok(steps)
    }

    fn consult(
        &self,
        snap: &Snap<'_, '_>,
        mut steps: Option<&mut Vec<HookStep>>,
    ) -> Result<Option<HookLabel>, ScriptError> {
        if self.is_empty() {
            return Ok(None);
        }
        // A disabled hook fails before anything is parsed or instantiated.
        if let Some(e) = (0..self.set.scripts.len()).find_map(|i| self.set.disabled(i)) {
            return Err(e);
        }
        let set = &self.set;
        let scripts = &self.set.scripts;
        let answer = |script: &Script, returned: &Option<(String, usize)>| {
            returned.as_ref().map(|(label, line)| HookLabel {
                label: label.clone(),
                rule: format!("{}:{line}", script.file),
            })
        };
        self.set.with_instances(|instances| {
            // Parsed at most once per event, and only when some hook is actually called.
            let mut configuration: Option<
                Option<std::borrow::Cow<'_, crate::event::RawConfiguration<'_>>>,
            > = None;
            // Hashed at most once per event, and only for scripts whose results are cached.
            let mut snap_key = None;
            for (i, (script, inst)) in scripts.iter().zip(instances.iter_mut()).enumerate() {
                let key = (!script.with_times).then(|| *snap_key.get_or_insert_with(|| snap.key()));
                let cached = key.and_then(|key| inst.cache.get(&key));
                let returned = match cached {
                    Some(hit) => hit.clone(),
                    None => {
                        let parsed = configuration.get_or_insert_with(|| snap.configuration());
                        let tree = snap.tree(script.with_times, parsed.as_deref());
                        let returned = inst.instance.classify(&tree);
                        let returned =
                            set.settle(i, returned.and_then(|r| checked_label(script, r)))?;
                        if let Some(key) = key {
                            if inst.cache.len() >= CACHE_CAPACITY {
                                inst.cache.clear();
                            }
                            inst.cache.insert(key, returned.clone());
                        }
                        returned
                    }
                };
                let label = answer(script, &returned);
                if let Some(steps) = steps.as_deref_mut() {
                    steps.push(HookStep {
                        file: script.file.clone(),
                        returned: label.clone(),
                    });
                }
                if label.is_some() {
                    return Ok(label);
                }
            }
            Ok(None)
        })
    }
}

/// A label a hook returned, if it can be one: 1 to [`MAX_LABEL_CHARS`] characters. A
/// longer one would be copied into every row, warning and log line; it fails the hook
/// instead, quoted only in part. (A status *definition*'s name keeps Connect's 127.)
fn checked_label(
    script: &Script,
    returned: Option<(String, usize)>,
) -> Result<Option<(String, usize)>, ScriptError> {
    let Some((label, line)) = returned else {
        return Ok(None);
    };
    let chars = label.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS {
        return Err(ScriptError::new(
            &script.file,
            line,
            1,
            "classify",
            format!(
                "returned a label of {chars} characters (`{}`); a label is 1 to {MAX_LABEL_CHARS} characters, or nothing to defer",
                cap_text(&label, MAX_QUOTED)
            ),
        ));
    }
    Ok(Some((label, line)))
}

/// The longest label a hook may return, in characters.
pub const MAX_LABEL_CHARS: usize = 1024;
/// The longest part of a script-provided value quoted in a message.
pub const MAX_QUOTED: usize = 64;

/// The `authorize` hooks of one configuration.
pub struct Policies {
    set: ScriptSet,
}

impl Policies {
    pub fn new(scripts: Vec<Arc<Script>>) -> Policies {
        Policies {
            set: ScriptSet::new(scripts.into_iter().filter(|s| s.authorizes).collect()),
        }
    }

    pub fn scripts(&self) -> &[Arc<Script>] {
        &self.set.scripts
    }

    /// Calls every policy's `authorize(req)`; one result per script, in the set's order,
    /// each with the line of the `return` that gave it.
    pub fn authorize(
        &self,
        req: &Tree<'_>,
    ) -> Vec<Result<(serde_json::Value, usize), ScriptError>> {
        let n = self.set.scripts.len();
        let set = &self.set;
        let outcome = self.set.with_instances(|instances| {
            Ok(instances
                .iter_mut()
                .enumerate()
                .map(|(i, inst)| match set.disabled(i) {
                    Some(e) => Err(e),
                    None => set.settle(i, inst.instance.authorize(req)),
                })
                .collect::<Vec<_>>())
        });
        match outcome {
            Ok(results) => results,
            // The instances could not even be created: every policy failed.
            Err(e) => vec![Err(e); n],
        }
    }
}

/// Line and column of the first `needle` in `source` (for errors that carry no position).
pub(crate) fn find_line(source: &str, needle: &str) -> (usize, usize) {
    match source.find(needle) {
        Some(i) => crate::diagnostic::line_col(source, i),
        None => (1, 1),
    }
}
