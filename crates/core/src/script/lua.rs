//! Lua 5.4 (vendored through mlua) behind the script host.
//!
//! Lua 5.4 has no sandbox of its own, so the state is built from an allow-list: the base
//! library without `load`, `loadfile`, `dofile`, `require` and `collectgarbage`, plus
//! `table`, `string` (without `dump`), `math` (without `random`, which would make results
//! depend on more than the snapshot) and `utf8`. No `io`, `os`, `package`, `debug` or
//! `coroutine`. Source is loaded as text only (crafted bytecode could escape the VM).
//!
//! Limits ([`Guard`]): an instruction hook counts VM instructions against the per-call
//! budget and compares the clock with the call's deadline; the allocator enforces the
//! memory limit. What the hook cannot see is bounded another way:
//! - `string.find`, `match`, `gmatch` and `gsub` are replaced by the Rust port of Lua's
//!   matcher ([`super::lua_pattern`]), which checks the deadline as it backtracks, and
//!   `string.rep` by a Rust version that refuses results beyond the memory limit (both in
//!   [`super::lua_string`]);
//! - `table.sort` always compares through a Lua function, and `table.concat` (on a table
//!   with a metatable) and `table.move` are written in Lua, so the hook fires inside them;
//! - `setmetatable` refuses `__gc`, because finalizers run later, with hooks off (at the
//!   next collection or when the state is closed at exit);
//! - `pcall` and `xpcall` pass every result through a check that re-raises a limit, and
//!   once a limit is hit the hook raises it again at every chance, so no `pcall` can
//!   swallow it; `xpcall`'s handler runs once the stack is unwound (at the error, Lua would
//!   run it with hooks off when the hook raised the error).
//!
//! Lua reports lines but not columns: the column is found by looking for the name the
//! message quotes on that line. Instances run the chunk with the returns of its hooks
//! marked (`script::returns`), so a label names the line of the `return` that gave it.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use super::data::{DataError, Returned, Shape, to_json};
use super::lua_string::string_functions;
use super::returns::{Insertion, MARK, Marked, lua_returns};
use super::{Compiled, Limit, Limits, Loaded, Output, ScriptError, Tree};

/// Chunk name: errors then read `script:LINE: message`.
const CHUNK: &str = "script";
/// Chunk name of the sandbox's own Lua code.
const PRELUDE_CHUNK: &str = "sandbox";
/// Instructions between two budget checks.
const STEP: u32 = 1000;
/// Call depth. Lua's own limit (about 200,000 frames) is far too deep: every stack growth
/// there costs time in the depth, in C, where the hook cannot stop it. Checked at every
/// hook, at a cost of `min(depth, MAX_DEPTH)` steps, so a recursion ends within about
/// `STEP / 3` levels past it.
const MAX_DEPTH: usize = 200;

/// Replacements written in Lua, so that the instruction hook fires inside them. The chunk
/// receives the host's result check; what it captures in locals cannot be reached by the
/// script (there is no `debug` library).
const PRELUDE: &str = r#"
local check, host, prelude_chunk = ...
local real_pcall, real_setmetatable = pcall, setmetatable
local rawget, rawequal, type, error, getmetatable = rawget, rawequal, type, error, getmetatable
local tointeger, maxinteger = math.tointeger, math.maxinteger
local concat, sort = table.concat, table.sort

local pack, unpack = table.pack, table.unpack

pcall = function(...) return check(real_pcall(...)) end
-- The message handler runs after the stack is unwound, not at the error: Lua runs a
-- handler at the error with hooks off when the error came from a hook, so a handler that
-- loops there could never be stopped. (Scripts have no `debug.traceback`, so nothing they
-- could observe is lost.)
xpcall = function(f, handler, ...)
  local r = pack(real_pcall(f, ...))
  if r[1] then return check(unpack(r, 1, r.n)) end
  local _, v = real_pcall(handler, r[2])
  return check(false, v)
end

setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed: finalizers would run after the call", 2)
  end
  return real_setmetatable(t, mt)
end

-- The host's string functions return `true, results...` or `false, message, level`, so
-- that their errors are Lua strings placed at the caller's line, as Lua's own are.
local function unwrap(ok, ...)
  if ok then return ... end
  local message, level = ...
  error(message, level)
end
string.find = function(...) return unwrap(host.find(...)) end
string.match = function(...) return unwrap(host.match(...)) end
string.gsub = function(...) return unwrap(host.gsub(...)) end
string.rep = function(...) return unwrap(host.rep(...)) end
string.gmatch = function(...)
  local ok, it, level = host.gmatch(...)
  if not ok then error(it, level) end
  return function() return unwrap(it()) end
end

-- An error of these wrappers' own code is placed where the script called them, as the
-- C functions' errors are; any other error passes through as it is.
local function relocate(ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" then
    local own = string.match(e, "^" .. prelude_chunk .. ":%d+: (.*)$")
    if own then error(own, 2) end
  end
  error(e, 0)
end

local function less(a, b) return a < b end
table.sort = function(t, comp) return relocate(real_pcall(sort, t, comp or less)) end

local function concat_any(t, sep, i, j)
  if type(t) == "table" and getmetatable(t) ~= nil then
    i = i or 1
    j = j or #t
    local raw = {}
    for k = i, j do raw[k - i + 1] = t[k] end
    return concat(raw, sep, 1, j - i + 1)
  end
  return concat(t, sep, i, j)
end
table.concat = function(...) return relocate(real_pcall(concat_any, ...)) end

table.move = function(a1, f, e, t, a2)
  if a2 == nil then a2 = a1 end
  if type(a1) ~= "table" then error("bad argument #1 to 'move' (table expected, got " .. type(a1) .. ")", 2) end
  if type(a2) ~= "table" then error("bad argument #5 to 'move' (table expected, got " .. type(a2) .. ")", 2) end
  f, e, t = tointeger(f), tointeger(e), tointeger(t)
  if f == nil or e == nil or t == nil then error("bad argument to 'move' (number has no integer representation)", 2) end
  if e >= f then
    if not (f > 0 or e < maxinteger + f) then error("bad argument #3 to 'move' (too many elements to move)", 2) end
    if t > maxinteger - (e - f) then error("bad argument #4 to 'move' (destination wrap around)", 2) end
    if t > e or t <= f or not rawequal(a1, a2) then
      for k = 0, e - f do a2[t + k] = a1[f + k] end
    else
      for k = e - f, 0, -1 do a2[t + k] = a1[f + k] end
    end
  end
  return a2
end
"#;

/// The limits of the call in progress, shared by the hook and the host's functions.
pub(super) struct Guard {
    pub(super) limits: Limits,
    deadline: Cell<Instant>,
    operations_left: Cell<u64>,
    /// The limit the call hit; from then on everything raises it again.
    pub(super) tripped: Cell<Option<Limit>>,
    /// The script line that was running when the limit was hit.
    line: Cell<Option<usize>>,
}

impl Guard {
    fn new(limits: Limits) -> Guard {
        Guard {
            limits,
            deadline: Cell::new(Instant::now()),
            operations_left: Cell::new(limits.operations),
            tripped: Cell::new(None),
            line: Cell::new(None),
        }
    }

    /// Starts a call with its whole budget.
    fn arm(&self) {
        self.deadline
            .set(Instant::now() + Duration::from_millis(self.limits.call_ms));
        self.operations_left.set(self.limits.operations);
        self.tripped.set(None);
        self.line.set(None);
    }

    pub(super) fn raise(&self, limit: Limit) -> mlua::Error {
        mlua::Error::runtime(limit.message(&self.limits))
    }

    /// Records that `limit` was hit at `line` (the first limit wins) and returns the error.
    pub(super) fn trip(&self, limit: Limit, line: Option<usize>) -> mlua::Error {
        if self.tripped.get().is_none() {
            self.tripped.set(Some(limit));
            self.line.set(line);
        }
        self.raise(self.tripped.get().unwrap_or(limit))
    }

    /// For the host's functions: the error to raise if the call is over.
    pub(super) fn check(&self, lua: &Lua) -> mlua::Result<()> {
        if let Some(limit) = self.tripped.get() {
            return Err(self.raise(limit));
        }
        if Instant::now() >= self.deadline.get() {
            return Err(self.trip(Limit::Time, caller_line(lua)));
        }
        Ok(())
    }
}

/// The script line that called the running host function (through the prelude's
/// wrappers, a few levels up).
pub(super) fn caller_line(lua: &Lua) -> Option<usize> {
    (1..6).find_map(|level| {
        lua.inspect_stack(level, |d| {
            (d.source().short_src.as_deref() == Some(CHUNK))
                .then(|| d.current_line())
                .flatten()
        })
        .flatten()
    })
}

struct State {
    lua: Lua,
    guard: Rc<Guard>,
}

impl State {
    fn new(limits: Limits, output: &Arc<Output>) -> mlua::Result<State> {
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8;
        let lua = Lua::new_with(libs, LuaOptions::default())?;
        let g = lua.globals();
        for name in ["load", "loadfile", "dofile", "require", "collectgarbage"] {
            g.set(name, Value::Nil)?;
        }
        let string: Table = g.get("string")?;
        string.set("dump", Value::Nil)?;
        drop(string);
        let math: Table = g.get("math")?;
        math.set("random", Value::Nil)?;
        math.set("randomseed", Value::Nil)?;
        let out = output.clone();
        let print = lua.create_function(move |_, args: MultiValue| {
            let parts: Vec<String> = args
                .iter()
                .map(|v| v.to_string().unwrap_or_default())
                .collect();
            out.print("", &parts.join("\t"));
            Ok(())
        })?;
        g.set("print", print)?;

        let guard = Rc::new(Guard::new(limits));
        let host = string_functions(&lua, &guard)?;
        let check = {
            let guard = guard.clone();
            lua.create_function(move |lua, results: MultiValue| {
                if let Some(limit) = guard.tripped.get() {
                    return Err(guard.raise(limit));
                }
                // A memory error caught by `pcall` is Lua's preallocated message.
                if let (Some(Value::Boolean(false)), Some(Value::String(e))) =
                    (results.front(), results.get(1))
                    && *e.as_bytes() == *b"not enough memory"
                {
                    return Err(guard.trip(Limit::Memory, caller_line(lua)));
                }
                Ok(results)
            })?
        };
        lua.load(PRELUDE)
            .set_name(format!("={PRELUDE_CHUNK}"))
            .set_mode(ChunkMode::Text)
            .call::<()>((check, host, PRELUDE_CHUNK))?;

        let hook_guard = guard.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(STEP),
            move |lua, debug| {
                let line = || {
                    (debug.source().short_src.as_deref() == Some(CHUNK))
                        .then(|| debug.current_line())
                        .flatten()
                };
                if let Some(limit) = hook_guard.tripped.get() {
                    return Err(hook_guard.raise(limit));
                }
                let left = hook_guard.operations_left.get();
                if left < u64::from(STEP) {
                    return Err(hook_guard.trip(Limit::Operations, line()));
                }
                hook_guard.operations_left.set(left - u64::from(STEP));
                if Instant::now() >= hook_guard.deadline.get() {
                    return Err(hook_guard.trip(Limit::Time, line()));
                }
                if lua.inspect_stack(MAX_DEPTH, |_| ()).is_some() {
                    return Err(hook_guard.trip(Limit::Depth(MAX_DEPTH), line()));
                }
                Ok(VmState::Continue)
            },
        )?;
        lua.set_memory_limit(lua.used_memory() + limits.memory_bytes)?;
        Ok(State { lua, guard })
    }

    /// Calls `f`, turning a limit hit during the call (whatever the script did with the
    /// error, and whatever `f` returned) into the limit's error.
    fn call(
        &self,
        file: &str,
        source: &str,
        hook: &'static str,
        hook_line: Option<usize>,
        f: impl FnOnce() -> mlua::Result<Value>,
    ) -> Result<Value, ScriptError> {
        self.guard.arm();
        let result = f();
        let outcome = match (self.guard.tripped.get(), result) {
            (Some(limit), _) => Err(self.limit_error(file, source, hook, hook_line, limit)),
            (None, Ok(v)) => Ok(v),
            (None, Err(e)) => Err(error(file, source, hook, hook_line, &self.guard.limits, &e)),
        };
        if outcome.is_err() {
            // Free what the failed call left behind before the next one; no finalizer
            // can run script code (`__gc` is refused).
            let _ = self.lua.gc_collect();
        }
        outcome
    }

    fn limit_error(
        &self,
        file: &str,
        source: &str,
        hook: &'static str,
        hook_line: Option<usize>,
        limit: Limit,
    ) -> ScriptError {
        let line = self.guard.line.get().or(hook_line).unwrap_or(1);
        let column = column_of(source, line, "");
        ScriptError::limit(file, line, column, hook, limit, &self.guard.limits)
    }
}

pub(super) fn load(
    file: &str,
    source: &str,
    limits: Limits,
    output: &Arc<Output>,
) -> Result<Loaded, ScriptError> {
    let state =
        State::new(limits, output).map_err(|e| error(file, source, "load", None, &limits, &e))?;
    run_chunk(&state, file, source)?;
    let g = state.lua.globals();
    let classify = hook(&g, file, source, "classify")?;
    let authorize = hook(&g, file, source, "authorize")?;
    let call0 = |name: &'static str| -> Result<Option<(usize, serde_json::Value)>, ScriptError> {
        let Some(f) = hook(&g, file, source, name)? else {
            return Ok(None);
        };
        let line = defined_at(&f);
        let value = state.call(file, source, name, Some(line), || f.call(()))?;
        let json =
            to_json(&value).map_err(|m| ScriptError::new(file, line, 1, name, m.to_string()))?;
        Ok(Some((line, json)))
    };
    let statuses = call0("statuses")?;
    let tests = call0("tests")?;
    let marked = mark(source, [classify.as_ref(), authorize.as_ref()]);
    Ok(Loaded {
        compiled: Compiled::Lua(marked.into()),
        classifies: classify.is_some(),
        authorize: authorize.as_ref().map(defined_at),
        statuses,
        tests,
    })
}

fn run_chunk(state: &State, file: &str, source: &str) -> Result<(), ScriptError> {
    state
        .call(file, source, "load", None, || {
            state
                .lua
                .load(source)
                .set_name(format!("={CHUNK}"))
                .set_mode(ChunkMode::Text)
                .call::<Value>(())
        })
        .map(drop)
}

/// A global function named `name`, if the script defines one.
fn hook(g: &Table, file: &str, source: &str, name: &str) -> Result<Option<Function>, ScriptError> {
    match g.get::<Value>(name) {
        Ok(Value::Nil) => Ok(None),
        Ok(Value::Function(f)) => Ok(Some(f)),
        Ok(other) => {
            let (line, column) = super::find_line(source, name);
            Err(ScriptError::new(
                file,
                line,
                column,
                "load",
                format!("`{name}` must be a function, not a {}", other.type_name()),
            ))
        }
        Err(e) => Err(error(
            file,
            source,
            "load",
            None,
            &super::Limits::default(),
            &e,
        )),
    }
}

fn defined_at(f: &Function) -> usize {
    f.info().line_defined.unwrap_or(1)
}

/// The source with a marker before each `return` of the hooks (the lines from `function`
/// to `end` of each): `__agent_audit_return = LINE return ...` (see `script::returns`).
fn mark<const N: usize>(source: &str, hooks: [Option<&Function>; N]) -> String {
    let ranges: Vec<(usize, usize)> = hooks
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let info = f.info();
            Some((info.line_defined?, info.last_line_defined?))
        })
        .collect();
    let insertions = lua_returns(source)
        .into_iter()
        .filter(|&(_, line, _)| ranges.iter().any(|&(a, b)| (a..=b).contains(&line)))
        .map(|(offset, line, column)| Insertion {
            offset,
            line,
            column,
            text: format!("{MARK} = {line} "),
        })
        .collect();
    Marked::new(source, insertions).source
}

/// One thread's Lua state for one script.
pub(super) struct Instance {
    file: String,
    source: String,
    state: State,
    classify: Option<Function>,
    authorize: Option<Function>,
}

impl Instance {
    /// An instance running `marked`, the source with its hooks' returns marked (`source`
    /// is the original, for messages). Should the marked source not load (a bug in the
    /// marking), the original runs, and labels name the hook's line.
    pub(super) fn new(
        file: &str,
        source: &str,
        marked: &str,
        limits: Limits,
        output: &Arc<Output>,
    ) -> Result<Instance, ScriptError> {
        let mut state = State::new(limits, output)
            .map_err(|e| error(file, source, "load", None, &limits, &e))?;
        if run_chunk(&state, file, marked).is_err() {
            state = State::new(limits, output)
                .map_err(|e| error(file, source, "load", None, &limits, &e))?;
            run_chunk(&state, file, source)?;
        }
        let classify = hook(&state.lua.globals(), file, source, "classify")?;
        let authorize = hook(&state.lua.globals(), file, source, "authorize")?;
        Ok(Instance {
            file: file.to_string(),
            source: source.to_string(),
            state,
            classify,
            authorize,
        })
    }
}

impl Instance {
    fn forget_return(&self) {
        let _ = self.state.lua.globals().raw_set(MARK, Value::Nil);
    }

    /// The line the marker of the last `return` recorded, or `fallback` (the hook's line).
    fn returned_or(&self, fallback: usize) -> usize {
        match self.state.lua.globals().raw_get::<Value>(MARK) {
            Ok(Value::Integer(line)) => usize::try_from(line).unwrap_or(fallback),
            _ => fallback,
        }
    }
}

impl super::Instance for Instance {
    fn authorize(&mut self, req: &Tree<'_>) -> Result<(serde_json::Value, usize), ScriptError> {
        let Some(f) = &self.authorize else {
            return Ok((serde_json::Value::Null, 1));
        };
        let line = defined_at(f);
        self.forget_return();
        let lua = &self.state.lua;
        let value = self
            .state
            .call(&self.file, &self.source, "authorize", Some(line), || {
                f.call::<Value>(to_lua(lua, req)?)
            })?;
        let value = to_json(&value)
            .map_err(|m| ScriptError::new(&self.file, line, 1, "authorize", m.to_string()))?;
        Ok((value, self.returned_or(line)))
    }

    fn classify(&mut self, snap: &Tree<'_>) -> Result<Option<(String, usize)>, ScriptError> {
        let Some(f) = &self.classify else {
            return Ok(None);
        };
        let line = defined_at(f);
        self.forget_return();
        let lua = &self.state.lua;
        let value = self
            .state
            .call(&self.file, &self.source, "classify", Some(line), || {
                f.call::<Value>(to_lua(lua, snap)?)
            })?;
        match value {
            Value::Nil => Ok(None),
            Value::String(s) => Ok(Some((s.to_string_lossy(), self.returned_or(line)))),
            other => Err(ScriptError::new(
                &self.file,
                line,
                1,
                "classify",
                format!(
                    "must return a label (a string) or nil, not a {}",
                    other.type_name()
                ),
            )),
        }
    }
}

fn to_lua(lua: &Lua, t: &Tree<'_>) -> mlua::Result<Value> {
    Ok(match t {
        Tree::Nothing => Value::Nil,
        Tree::Bool(b) => Value::Boolean(*b),
        Tree::Int(i) => Value::Integer(*i),
        Tree::Str(s) => Value::String(lua.create_string(s)?),
        Tree::List(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        Tree::Map(fields) => {
            let table = lua.create_table_with_capacity(0, fields.len())?;
            for (k, v) in fields {
                table.raw_set(*k, to_lua(lua, v)?)?;
            }
            Value::Table(table)
        }
    })
}

/// A Lua value read as returned data. A table with keys 1..n is a list, and so is an empty
/// table (Lua cannot tell `{}` from an empty list). An empty table is never "nothing": a
/// policy returning `{}` must forbid as Rhai's `#{}` and `[]` do, not read as no opinion.
impl Returned for Value {
    fn shape(&self) -> Result<Shape<Value>, DataError> {
        Ok(match self {
            Value::Nil => Shape::Nothing,
            Value::Boolean(b) => Shape::Bool(*b),
            Value::Integer(i) => Shape::Int(*i),
            Value::Number(f) => Shape::Float(*f),
            Value::String(s) => Shape::Text(s.to_string_lossy()),
            Value::Table(t) => {
                let len = t.raw_len();
                let pairs: Vec<(Value, Value)> = t
                    .pairs::<Value, Value>()
                    .collect::<mlua::Result<_>>()
                    .map_err(|e| DataError::Unreadable(e.to_string()))?;
                if len == pairs.len() {
                    let items = (1..=len)
                        .map(|i| t.raw_get(i))
                        .collect::<mlua::Result<_>>()
                        .map_err(|e| DataError::Unreadable(e.to_string()))?;
                    Shape::List(items)
                } else {
                    let mut fields = Vec::with_capacity(pairs.len());
                    for (k, v) in pairs {
                        let Value::String(k) = k else {
                            return Ok(Shape::KeyNotText(k.type_name().to_string()));
                        };
                        fields.push((k.to_string_lossy(), v));
                    }
                    Shape::Map(fields)
                }
            }
            other => Shape::Other(other.type_name().to_string()),
        })
    }
}

/// An mlua error placed at `script:LINE:` in its message, or at the hook's line.
fn error(
    file: &str,
    source: &str,
    hook: &'static str,
    hook_line: Option<usize>,
    limits: &Limits,
    e: &mlua::Error,
) -> ScriptError {
    let mut message = match e {
        mlua::Error::SyntaxError { message, .. } => format!("syntax error: {message}"),
        mlua::Error::MemoryError(_) => {
            let line = hook_line.unwrap_or(1);
            return ScriptError::limit(file, line, 1, hook, Limit::Memory, limits);
        }
        mlua::Error::CallbackError { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    // Keep the first line; drop the traceback and mlua's "runtime error: " prefix.
    if let Some(first) = message.lines().next() {
        message = first.trim_start_matches("runtime error: ").to_string();
    }
    let prefix = format!("{CHUNK}:");
    let mut line = None;
    if let Some(at) = message.find(&prefix) {
        let rest = &message[at + prefix.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            line = Some(n);
            let after = &rest[digits.len()..];
            let after = after.strip_prefix(':').unwrap_or(after).trim_start();
            message = format!("{}{}", &message[..at], after);
        }
    }
    let line = line.or(hook_line).unwrap_or(1);
    let column = column_of(source, line, &message);
    let mut error = ScriptError::new(file, line, column, hook, message);
    // Lua's own stack limit (a script can reach it inside `pcall`, below ours): a limit
    // like the others.
    if error.message.contains("stack overflow") {
        error.limit = Some(Limit::Depth(MAX_DEPTH));
    }
    error
}

/// The byte offset of `word` in `text` where it stands as a whole name (`io` in
/// `io.open`, not in `function`); any occurrence when it never does.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let whole = text.match_indices(word).find(|&(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    });
    whole.map(|(i, _)| i).or_else(|| text.find(word))
}

/// Lua gives no column: take the position of the name the message quotes (`'os'`,
/// `near 'x'`) on that line, else the line's first non-blank character.
fn column_of(source: &str, line: usize, message: &str) -> usize {
    let Some(text) = source.lines().nth(line.saturating_sub(1)) else {
        return 1;
    };
    let quoted = message
        .split('\'')
        .nth(1)
        .filter(|q| !q.is_empty() && !q.contains(' '));
    if let Some(q) = quoted
        && let Some(i) = find_word(text, q)
    {
        return text[..i].chars().count() + 1;
    }
    text.chars().take_while(|c| c.is_whitespace()).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real C functions, to compare the replacements with.
    fn reference() -> Lua {
        Lua::new_with(StdLib::STRING | StdLib::TABLE, LuaOptions::default()).unwrap()
    }

    fn sandboxed() -> State {
        let state = State::new(Limits::default(), &Output::new("test")).unwrap();
        state.guard.arm();
        state
    }

    fn eval(lua: &Lua, expr: &str) -> String {
        let code = format!(
            "local r = table.pack(pcall(function() local x = table.pack({expr}) return table.unpack(x, 1, x.n) end)) \
             for i = 1, r.n do r[i] = type(r[i]) .. ':' .. tostring(r[i]) end \
             return table.concat(r, '|', 1, r.n)"
        );
        // Both chunks are named after this file, on one line: positions agree too.
        lua.load(code).set_name("=test").eval::<String>().unwrap()
    }

    #[test]
    fn the_replaced_string_functions_behave_like_lua() {
        let reference = reference();
        let state = sandboxed();
        let cases = [
            r#"string.find("ab1", "%d")"#,
            r#"string.find("hello world", "o w")"#,
            r#"string.find("hello world", "o", 6)"#,
            r#"string.find("hello", "l", -2)"#,
            r#"string.find("a.b", ".", 1, true)"#,
            r#"string.find("abc", "")"#,
            r#"string.find("abc", "", 10)"#,
            r#"string.find("key = val", "(%w+)%s*=%s*(%w+)")"#,
            r#"string.match("  trim  ", "^%s*(.-)%s*$")"#,
            r#"string.match("2026-11-03", "(%d+)-(%d+)-(%d+)")"#,
            r#"string.match("x", "()")"#,
            r#"string.match("f(a(b)c)", "%b()")"#,
            r#"string.match("THE (quick) fox", "%f[%a]%a+", 5)"#,
            r#"string.match("abc", "[%a-]+")"#,
            r#"string.match("a]b", "[]]")"#,
            r#"string.match("abc", "[^%s]+")"#,
            r#"string.match(12345, "%d%d")"#,
            r#"string.gsub("hello world", "o", "0")"#,
            r#"string.gsub("hello world", "(o)", "[%1%1]", 1)"#,
            r#"string.gsub("abc", "", "-")"#,
            r#"string.gsub("abc", "%w", "%0%0")"#,
            r#"string.gsub("abc", "%w", {a = "A", b = false})"#,
            r#"string.gsub("abc", "%w", function(c) if c == "b" then return nil end return c:upper() end)"#,
            r#"string.gsub("x = 1, y = 2", "(%w+) = (%w+)", "%2 = %1")"#,
            r#"string.gsub("abc", "^a", "")"#,
            r#"string.gsub("abc", "b", 7)"#,
            r#"string.gsub("hello", "()ll()", "%1-%2")"#,
            r#"(function() local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[#t+1] = k .. v end return table.concat(t, ",") end)()"#,
            r#"(function() local t = {} for w in ("one two  three"):gmatch("%a+") do t[#t+1] = w end return table.concat(t, ",") end)()"#,
            r#"(function() local t = {} for w in ("abc"):gmatch("") do t[#t+1] = "." end return #t end)()"#,
            r#"(function() local t = {} for w in ("^a^a"):gmatch("^a") do t[#t+1] = w end return #t end)()"#,
            r#"string.rep("ab", 3)"#,
            r#"string.rep("ab", 3, ",")"#,
            r#"string.rep("ab", 0)"#,
            r#"string.rep("", 5, "")"#,
            r#"string.find("a", "%")"#,
            r#"string.find("a", "[a")"#,
            r#"string.find("a", "(a")"#,
            r#"string.find("a", "a)")"#,
            r#"string.find("a", "%1")"#,
            r#"string.find("a", "%f")"#,
            r#"string.find("a", "%b")"#,
            r#"string.gsub("a", "a", "%2")"#,
            r#"string.gsub("a", "a", "%x")"#,
            r#"string.gsub("a", "a", {a = {}})"#,
            r#"string.find(nil, "a")"#,
            r#"string.rep("x", -1)"#,
            r#"("x"):rep(2, "-"):upper()"#,
            r#"xpcall(function() error("e") end, function(m) return "handled: " .. m end)"#,
            r#"xpcall(function(a, b) return a + b, a - b end, print, 5, 2)"#,
            r#"select(2, pcall(error, {code = 1})).code"#,
            r#"pcall(error)"#,
            r#"table.concat(setmetatable({}, {__index = function(t, i) return "v" .. i end}), ",", 2, 4)"#,
            r#"table.concat({1, 2, 3}, "-")"#,
            r#"table.concat({1, {}, 3})"#,
            r#"table.concat(setmetatable({1, 2}, {}), "+")"#,
            r#"table.concat(table.move({1, 2, 3, 4, 5}, 2, 4, 1), ",")"#,
            r#"table.concat(table.move({1, 2, 3, 4, 5}, 1, 3, 3), ",")"#,
            r#"table.concat(table.move({1, 2, 3}, 1, 3, 2, {}), ",", 2, 4)"#,
            r#"#table.move({1, 2, 3}, 1, 0, 5)"#,
            r#"(function() local t = {5, 2, 8, 1} table.sort(t) return table.concat(t, ",") end)()"#,
            r#"(function() local t = {5, 2, 8, 1} table.sort(t, function(a, b) return a > b end) return table.concat(t, ",") end)()"#,
            // (Ours names the script line of the sort; Lua names none: only the text is compared.)
            r#"select(2, pcall(table.sort, {1, "x"})):match("attempt to compare.*")"#,
            r#"getmetatable(setmetatable({}, {__index = {}})) ~= nil"#,
        ];
        for case in cases {
            assert_eq!(eval(&state.lua, case), eval(&reference, case), "{case}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases(300)))]
        #[test]
        fn random_patterns_match_as_in_lua(
            pat in "[ab.%\\[\\]^$*+?()1bfd-]{0,8}",
            src in "[ab1() ]{0,10}",
            init in -3i64..5,
        ) {
            let reference = reference();
            let state = sandboxed();
            let quote = |t: &str| format!("{t:?}");
            for case in [
                format!("string.find({}, {}, {init})", quote(&src), quote(&pat)),
                format!("string.match({}, {}, {init})", quote(&src), quote(&pat)),
                format!("string.gsub({}, {}, '<%0>')", quote(&src), quote(&pat)),
                format!("(function() local n = 0 for a in string.gmatch({}, {}) do n = n + 1 if n > 20 then break end end return n end)()", quote(&src), quote(&pat)),
            ] {
                proptest::prop_assert_eq!(eval(&state.lua, &case), eval(&reference, &case), "{}", case);
            }
        }
    }

    #[test]
    fn a_backtracking_bomb_stops_at_the_time_limit() {
        let limits = Limits {
            call_ms: 20,
            ..Limits::default()
        };
        let state = State::new(limits, &Output::new("test")).unwrap();
        let result = state.call("t.lua", "", "classify", Some(1), || {
            state
                .lua
                .load(r#"return string.find(string.rep("a", 3000), string.rep("a*", 12) .. "b")"#)
                .eval::<Value>()
        });
        let e = result.unwrap_err();
        assert_eq!(e.limit, Some(Limit::Time), "{e}");
    }
}
