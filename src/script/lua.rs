//! Lua 5.4 (vendored through mlua) behind the script host.
//!
//! Lua 5.4 has no sandbox of its own, so the state is built from an allow-list: the base
//! library without `load`, `loadfile`, `dofile`, `require` and `collectgarbage`, plus
//! `table`, `string` (without `dump`), `math` (without `random`, which would make results
//! depend on more than the snapshot) and `utf8`. No `io`, `os`, `package`, `debug` or
//! `coroutine`. Source is loaded as text only (crafted bytecode could escape the VM). A
//! hook counts VM instructions against the per-call budget; the allocator enforces the
//! memory limit. Lua reports lines but not columns: the column is found by looking for the
//! name the message quotes on that line. Instances run the chunk with the returns of its
//! hooks marked (`script::returns`), so a label names the line of the `return` that gave it.

use std::cell::Cell;
use std::rc::Rc;

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

use super::returns::{Insertion, MARK, Marked, lua_returns};
use super::{Compiled, Limits, Loaded, ScriptError, Tree};

/// Chunk name: errors then read `script:LINE: message`.
const CHUNK: &str = "script";
/// Instructions between two budget checks.
const STEP: u32 = 1000;

struct State {
    lua: Lua,
    budget: Rc<Cell<u64>>,
    limits: Limits,
}

impl State {
    fn new(file: &str, limits: Limits) -> mlua::Result<State> {
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8;
        let lua = Lua::new_with(libs, LuaOptions::default())?;
        let g = lua.globals();
        for name in ["load", "loadfile", "dofile", "require", "collectgarbage"] {
            g.set(name, Value::Nil)?;
        }
        if let Ok(string) = g.get::<Table>("string") {
            string.set("dump", Value::Nil)?;
        }
        if let Ok(math) = g.get::<Table>("math") {
            math.set("random", Value::Nil)?;
            math.set("randomseed", Value::Nil)?;
        }
        let name = file.to_string();
        let print = lua.create_function(move |_, args: mlua::MultiValue| {
            let parts: Vec<String> = args
                .iter()
                .map(|v| v.to_string().unwrap_or_default())
                .collect();
            eprintln!("{name}: {}", parts.join("\t"));
            Ok(())
        })?;
        g.set("print", print)?;

        let budget = Rc::new(Cell::new(limits.operations));
        let left = budget.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(STEP),
            move |_, _| {
                let remaining = left.get();
                if remaining < u64::from(STEP) {
                    return Err(mlua::Error::runtime(
                        "operation budget exceeded (limits.operations)",
                    ));
                }
                left.set(remaining - u64::from(STEP));
                Ok(VmState::Continue)
            },
        )?;
        lua.set_memory_limit(lua.used_memory() + limits.memory_bytes)?;
        Ok(State {
            lua,
            budget,
            limits,
        })
    }

    fn refill(&self) {
        self.budget.set(self.limits.operations);
    }
}

pub(super) fn load(file: &str, source: &str, limits: Limits) -> Result<Loaded, ScriptError> {
    let state = State::new(file, limits).map_err(|e| error(file, source, "load", None, &e))?;
    run_chunk(&state, file, source)?;
    let g = state.lua.globals();
    let classify = hook(&g, file, source, "classify")?;
    let authorize = hook(&g, file, source, "authorize")?;
    let call0 = |name: &'static str| -> Result<Option<(usize, serde_json::Value)>, ScriptError> {
        let Some(f) = hook(&g, file, source, name)? else {
            return Ok(None);
        };
        let line = defined_at(&f);
        state.refill();
        let value: Value = f
            .call(())
            .map_err(|e| error(file, source, name, Some(line), &e))?;
        let json = to_json(&value, 0).map_err(|m| ScriptError::new(file, line, 1, name, m))?;
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
    state.refill();
    state
        .lua
        .load(source)
        .set_name(format!("={CHUNK}"))
        .set_mode(ChunkMode::Text)
        .exec()
        .map_err(|e| error(file, source, "load", None, &e))
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
        Err(e) => Err(error(file, source, "load", None, &e)),
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
    ) -> Result<Instance, ScriptError> {
        let mut state =
            State::new(file, limits).map_err(|e| error(file, source, "load", None, &e))?;
        if run_chunk(&state, file, marked).is_err() {
            state = State::new(file, limits).map_err(|e| error(file, source, "load", None, &e))?;
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
        let fail = |e: &mlua::Error| error(&self.file, &self.source, "authorize", Some(line), e);
        self.state.refill();
        self.forget_return();
        let result = to_lua(&self.state.lua, req)
            .map_err(|e| fail(&e))
            .and_then(|arg| f.call::<Value>(arg).map_err(|e| fail(&e)))
            .and_then(|v| {
                to_json(&v, 0).map_err(|m| ScriptError::new(&self.file, line, 1, "authorize", m))
            });
        if result.is_err() {
            let _ = self.state.lua.gc_collect();
        }
        result.map(|v| (v, self.returned_or(line)))
    }

    fn classify(&mut self, snap: &Tree<'_>) -> Result<Option<(String, usize)>, ScriptError> {
        let Some(f) = &self.classify else {
            return Ok(None);
        };
        let line = defined_at(f);
        let fail = |e: &mlua::Error| error(&self.file, &self.source, "classify", Some(line), e);
        self.state.refill();
        self.forget_return();
        let result = to_lua(&self.state.lua, snap)
            .map_err(|e| fail(&e))
            .and_then(|arg| f.call::<Value>(arg).map_err(|e| fail(&e)));
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                // Free what the failed call left behind before the next event.
                let _ = self.state.lua.gc_collect();
                return Err(e);
            }
        };
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

/// A returned value as JSON. A table with keys 1..n is a list; an empty table is nothing.
fn to_json(v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    if depth > 32 {
        return Err("returned value is nested too deeply".to_string());
    }
    Ok(match v {
        Value::Nil => serde_json::Value::Null,
        Value::Boolean(b) => (*b).into(),
        Value::Integer(i) => (*i).into(),
        Value::Number(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("returned a number that is not finite: {f}"))?,
        Value::String(s) => serde_json::Value::String(s.to_string_lossy()),
        Value::Table(t) => {
            let len = t.raw_len();
            let pairs: Vec<(Value, Value)> = t
                .pairs::<Value, Value>()
                .collect::<mlua::Result<_>>()
                .map_err(|e| e.to_string())?;
            if pairs.is_empty() {
                serde_json::Value::Null
            } else if len == pairs.len() {
                let mut items = Vec::with_capacity(len);
                for i in 1..=len {
                    let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    items.push(to_json(&item, depth + 1)?);
                }
                serde_json::Value::Array(items)
            } else {
                let mut map = serde_json::Map::new();
                for (k, v) in pairs {
                    let Value::String(k) = k else {
                        return Err(format!(
                            "a returned table has a {} key; keys must be strings",
                            k.type_name()
                        ));
                    };
                    map.insert(k.to_string_lossy(), to_json(&v, depth + 1)?);
                }
                serde_json::Value::Object(map)
            }
        }
        other => {
            return Err(format!(
                "returned a {} where data was expected",
                other.type_name()
            ));
        }
    })
}

/// An mlua error placed at `script:LINE:` in its message, or at the hook's line.
fn error(
    file: &str,
    source: &str,
    hook: &'static str,
    hook_line: Option<usize>,
    e: &mlua::Error,
) -> ScriptError {
    let mut message = match e {
        mlua::Error::SyntaxError { message, .. } => format!("syntax error: {message}"),
        mlua::Error::MemoryError(_) => "memory limit exceeded (limits.memory_mb)".to_string(),
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
    ScriptError::new(file, line, column, hook, message)
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
