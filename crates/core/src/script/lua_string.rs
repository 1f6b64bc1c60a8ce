//! Lua's `string.find`, `match`, `gmatch`, `gsub` and `rep`, as the host provides them to
//! the Lua sandbox ([`super::lua`]): the matching is the Rust port of Lua's matcher
//! ([`super::lua_pattern`]), which checks the call's deadline as it backtracks, and every
//! result is built against the memory limit, because neither is seen by Lua's instruction
//! hook or allocator. Arguments, results and errors are Lua 5.4's (`lstrlib.c`), which the
//! tests of `super::lua` compare with the real functions.

use std::rc::Rc;

use mlua::{Function, Lua, LuaString, MultiValue, Table, Value};

use super::Limit;
use super::lua::{Guard, caller_line};
use super::lua_pattern::{self, Capture, Fail, Matcher};

/// The host's `find`, `match`, `gmatch`, `gsub` and `rep` (see the module comment), for
/// the prelude to install: each returns `true, results...`, or `false, message, level`
/// for an error the script may catch. A limit is raised directly.
pub(super) fn string_functions(lua: &Lua, guard: &Rc<Guard>) -> mlua::Result<Table> {
    type HostFn = fn(&Lua, &Rc<Guard>, &MultiValue) -> mlua::Result<MultiValue>;
    let functions: [(&str, HostFn); 5] = [
        ("find", |lua, g, args| find(lua, g, args, true)),
        ("match", |lua, g, args| find(lua, g, args, false)),
        ("gmatch", |lua, g, args| {
            gmatch(lua, g, args).map(|f| MultiValue::from_iter([Value::Function(f)]))
        }),
        ("gsub", |lua, g, args| gsub(lua, g, args)),
        ("rep", |lua, g, args| {
            rep(lua, g, args).map(|s| MultiValue::from_iter([Value::String(s)]))
        }),
    ];
    let host = lua.create_table()?;
    for (name, f) in functions {
        let g = guard.clone();
        host.set(
            name,
            lua.create_function(move |lua, args: MultiValue| lift(lua, &g, f(lua, &g, &args)))?,
        )?;
    }
    Ok(host)
}

/// An error the host's own code raised (a bad argument, a malformed pattern): Lua adds the
/// caller's position. Anything else (an error inside a `gsub` replacement function) keeps
/// the position it has.
const OWN_ERROR: &str = "\u{0}host:";

/// `Ok(values)` as `true, values...`; an error the script may catch as `false, message,
/// level`; a limit as the error itself.
fn lift(lua: &Lua, guard: &Guard, result: mlua::Result<MultiValue>) -> mlua::Result<MultiValue> {
    match result {
        Ok(mut values) => {
            values.push_front(Value::Boolean(true));
            Ok(values)
        }
        Err(e) if guard.tripped.get().is_some() => Err(e),
        Err(mlua::Error::MemoryError(m)) => Err(mlua::Error::MemoryError(m)),
        Err(e) => {
            let message = match &e {
                mlua::Error::RuntimeError(m) => m.clone(),
                mlua::Error::CallbackError { cause, .. } => cause.to_string(),
                other => other.to_string(),
            };
            let message = message.trim_start_matches("runtime error: ");
            let (message, level) = match message.strip_prefix(OWN_ERROR) {
                Some(own) => (own, 2),
                None => (message.lines().next().unwrap_or(message), 0),
            };
            Ok(MultiValue::from_iter([
                Value::Boolean(false),
                Value::String(
                    lua.create_string(message)
                        .map_err(|_| guard.raise(Limit::Memory))?,
                ),
                Value::Integer(level),
            ]))
        }
    }
}

fn type_name_of(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(v) => v.type_name(),
    }
}

fn bad_argument(_: &Lua, n: usize, name: &str, what: &str) -> mlua::Error {
    own_error(format!("bad argument #{n} to '{name}' ({what})"))
}

fn own_error(message: String) -> mlua::Error {
    mlua::Error::runtime(format!("{OWN_ERROR}{message}"))
}

/// `luaL_checklstring`: a string, or a number turned into one.
fn arg_string(lua: &Lua, args: &MultiValue, n: usize, name: &str) -> mlua::Result<LuaString> {
    let v = args.get(n - 1);
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .ok_or_else(|| bad_argument(lua, n, name, "string expected, got number")),
        other => Err(bad_argument(
            lua,
            n,
            name,
            &format!("string expected, got {}", type_name_of(other)),
        )),
    }
}

/// `luaL_optinteger`.
fn arg_integer(
    lua: &Lua,
    args: &MultiValue,
    n: usize,
    name: &str,
    default: Option<i64>,
) -> mlua::Result<i64> {
    match (args.get(n - 1), default) {
        (None | Some(Value::Nil), Some(d)) => Ok(d),
        (Some(Value::Integer(i)), _) => Ok(*i),
        (Some(Value::Number(f)), _) => {
            if f.fract() == 0.0 && *f >= -9.223_372_036_854_776e18 && *f < 9.223_372_036_854_776e18
            {
                Ok(*f as i64)
            } else {
                Err(bad_argument(
                    lua,
                    n,
                    name,
                    "number has no integer representation",
                ))
            }
        }
        (Some(v @ Value::String(_)), _) => lua
            .coerce_integer(v.clone())?
            .ok_or_else(|| bad_argument(lua, n, name, "number expected, got string")),
        (other, _) => Err(bad_argument(
            lua,
            n,
            name,
            &format!("number expected, got {}", type_name_of(other)),
        )),
    }
}

/// `posrelatI`: a 1-based start position, negative counting from the end.
fn start_position(pos: i64, len: usize) -> usize {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    if pos > 0 {
        usize::try_from(pos).unwrap_or(usize::MAX)
    } else if pos == 0 || pos < -len_i {
        1
    } else {
        usize::try_from(len_i + pos + 1).unwrap_or(1)
    }
}

/// A matcher failure as the Lua error it is (a malformed pattern, or the limit).
fn fail(f: Fail) -> mlua::Error {
    match f {
        Fail::Error(message) => own_error(message),
        Fail::Stop(e) => e,
    }
}

fn capture_values(lua: &Lua, src: &[u8], caps: &[Capture]) -> mlua::Result<MultiValue> {
    caps.iter()
        .map(|c| capture_value(lua, src, *c))
        .collect::<mlua::Result<Vec<_>>>()
        .map(MultiValue::from_iter)
}

fn capture_value(lua: &Lua, src: &[u8], c: Capture) -> mlua::Result<Value> {
    Ok(match c {
        Capture::Bytes(s, e) => Value::String(lua.create_string(&src[s..e])?),
        Capture::Position(p) => Value::Integer(i64::try_from(p).unwrap_or(i64::MAX)),
    })
}

fn int(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// `string.find` (`find`) and `string.match` (`!find`): `str_find_aux`.
fn find(lua: &Lua, guard: &Guard, args: &MultiValue, find: bool) -> mlua::Result<MultiValue> {
    let name = if find { "find" } else { "match" };
    let s = arg_string(lua, args, 1, name)?;
    let p = arg_string(lua, args, 2, name)?;
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let init = start_position(arg_integer(lua, args, 3, name, Some(1))?, src.len()) - 1;
    if init > src.len() {
        return Ok(MultiValue::from_iter([Value::Nil]));
    }
    let plain = args
        .get(3)
        .is_some_and(|v| !matches!(v, Value::Nil | Value::Boolean(false)));
    if find && (plain || lua_pattern::no_specials(&pat)) {
        let found = if pat.is_empty() {
            Some(0)
        } else {
            memchr::memmem::find(&src[init..], &pat)
        };
        return Ok(match found {
            Some(at) => MultiValue::from_iter([int(init + at + 1), int(init + at + pat.len())]),
            None => MultiValue::from_iter([Value::Nil]),
        });
    }
    let (anchor, pat) = match pat.strip_prefix(b"^") {
        Some(rest) => (true, rest),
        None => (false, &pat[..]),
    };
    let mut check = || guard.check(lua);
    let mut m = Matcher::new(&src, pat, &mut check);
    let mut s1 = init;
    loop {
        if let Some(e) = m.match_at(s1).map_err(fail)? {
            if find {
                let caps = m.captures(None).map_err(fail)?;
                let mut out = vec![int(s1 + 1), int(e)];
                out.extend(capture_values(lua, &src, &caps)?);
                return Ok(MultiValue::from_iter(out));
            }
            let caps = m.captures(Some((s1, e))).map_err(fail)?;
            return capture_values(lua, &src, &caps);
        }
        if anchor || s1 >= src.len() {
            return Ok(MultiValue::from_iter([Value::Nil]));
        }
        s1 += 1;
    }
}

/// `string.gmatch`: an iterator over the matches (a `^` is an ordinary character here).
fn gmatch(lua: &Lua, guard: &Rc<Guard>, args: &MultiValue) -> mlua::Result<Function> {
    let s = arg_string(lua, args, 1, "gmatch")?;
    let p = arg_string(lua, args, 2, "gmatch")?;
    let len = s.as_bytes().len();
    let mut next = start_position(arg_integer(lua, args, 3, "gmatch", Some(1))?, len) - 1;
    if next > len {
        next = len + 1;
    }
    let mut last_match: Option<usize> = None;
    let guard = guard.clone();
    lua.create_function_mut(move |lua, ()| {
        let (src, pat) = (s.as_bytes(), p.as_bytes());
        let mut check = || guard.check(lua);
        let mut m = Matcher::new(&src, &pat, &mut check);
        let mut at = next;
        let mut found = Ok(MultiValue::new());
        while at <= src.len() {
            match m.match_at(at) {
                Err(f) => {
                    found = Err(fail(f));
                    break;
                }
                Ok(Some(e)) if Some(e) != last_match => {
                    next = e;
                    last_match = Some(e);
                    found = m
                        .captures(Some((at, e)))
                        .map_err(fail)
                        .and_then(|caps| capture_values(lua, &src, &caps));
                    break;
                }
                Ok(_) => at += 1,
            }
        }
        lift(lua, &guard, found)
    })
}

/// Appends to a result built by a host function, refusing to outgrow the memory limit
/// (these bytes are not counted by Lua's allocator until the string is made).
fn append(lua: &Lua, guard: &Guard, out: &mut Vec<u8>, bytes: &[u8]) -> mlua::Result<()> {
    if out.len().saturating_add(bytes.len()) > guard.limits.memory_bytes {
        return Err(guard.trip(Limit::Memory, caller_line(lua)));
    }
    out.extend_from_slice(bytes);
    Ok(())
}

/// Makes a Lua string, a memory error being the memory limit.
fn make_string(lua: &Lua, guard: &Guard, bytes: &[u8]) -> mlua::Result<LuaString> {
    lua.create_string(bytes).map_err(|e| match e {
        mlua::Error::MemoryError(_) => guard.trip(Limit::Memory, caller_line(lua)),
        other => other,
    })
}

/// `string.gsub`: `str_gsub`, `add_value` and `add_s`.
fn gsub(lua: &Lua, guard: &Guard, args: &MultiValue) -> mlua::Result<MultiValue> {
    let s = arg_string(lua, args, 1, "gsub")?;
    let p = arg_string(lua, args, 2, "gsub")?;
    let repl = args.get(2).cloned().unwrap_or(Value::Nil);
    let repl_text = match &repl {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => {
            Some(arg_string(lua, args, 3, "gsub")?)
        }
        Value::Table(_) | Value::Function(_) => None,
        other => {
            return Err(bad_argument(
                lua,
                3,
                "gsub",
                &format!("string/function/table expected, got {}", other.type_name()),
            ));
        }
    };
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let max = arg_integer(
        lua,
        args,
        4,
        "gsub",
        Some(
            i64::try_from(src.len())
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        ),
    )?;
    let (anchor, pat) = match pat.strip_prefix(b"^") {
        Some(rest) => (true, rest),
        None => (false, &pat[..]),
    };
    let mut check = || guard.check(lua);
    let mut m = Matcher::new(&src, pat, &mut check);
    let mut out: Vec<u8> = Vec::new();
    let mut at = 0usize;
    let mut last_match: Option<usize> = None;
    let mut n: i64 = 0;
    let mut changed = false;
    while n < max {
        let found = m.match_at(at).map_err(fail)?;
        match found {
            Some(e) if Some(e) != last_match => {
                n += 1;
                let whole = &src[at..e];
                match (&repl, &repl_text) {
                    (_, Some(text)) => {
                        add_text(lua, guard, &m, &src, (at, e), &text.as_bytes(), &mut out)?;
                        changed = true;
                    }
                    (Value::Table(t), None) => {
                        let key = m.capture_at(0, at, e).map_err(fail)?;
                        let value: Value = t.get(capture_value(lua, &src, key)?)?;
                        changed |= add_value(lua, guard, value, whole, &mut out)?;
                    }
                    (Value::Function(f), None) => {
                        let caps = m.captures(Some((at, e))).map_err(fail)?;
                        let value: Value = f.call(capture_values(lua, &src, &caps)?)?;
                        changed |= add_value(lua, guard, value, whole, &mut out)?;
                    }
                    _ => {}
                }
                at = e;
                last_match = Some(e);
            }
            _ if at < src.len() => {
                append(lua, guard, &mut out, &src[at..at + 1])?;
                at += 1;
            }
            _ => break,
        }
        m.tick(1).map_err(fail)?;
        if anchor {
            break;
        }
    }
    let result = if changed {
        append(lua, guard, &mut out, &src[at..])?;
        Value::String(make_string(lua, guard, &out)?)
    } else {
        Value::String(s.clone())
    };
    Ok(MultiValue::from_iter([result, Value::Integer(n)]))
}

/// A replacement string with `%0`–`%9` and `%%` (`add_s`).
fn add_text(
    lua: &Lua,
    guard: &Guard,
    m: &Matcher<'_>,
    src: &[u8],
    (s, e): (usize, usize),
    text: &[u8],
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    let mut rest = text;
    while let Some(i) = memchr::memchr(b'%', rest) {
        append(lua, guard, out, &rest[..i])?;
        let c = rest.get(i + 1).copied().unwrap_or(0);
        if c == b'%' {
            append(lua, guard, out, b"%")?;
        } else if c == b'0' {
            append(lua, guard, out, &src[s..e])?;
        } else if c.is_ascii_digit() {
            match m.capture_at(usize::from(c - b'1'), s, e).map_err(fail)? {
                Capture::Bytes(a, b) => append(lua, guard, out, &src[a..b])?,
                Capture::Position(p) => append(lua, guard, out, p.to_string().as_bytes())?,
            }
        } else {
            return Err(own_error(
                "invalid use of '%' in replacement string".to_string(),
            ));
        }
        rest = &rest[(i + 2).min(rest.len())..];
    }
    append(lua, guard, out, rest)
}

/// What a table or function replacement gave (`add_value`): false or nil keeps the match.
fn add_value(
    lua: &Lua,
    guard: &Guard,
    value: Value,
    whole: &[u8],
    out: &mut Vec<u8>,
) -> mlua::Result<bool> {
    match value {
        Value::Nil | Value::Boolean(false) => {
            append(lua, guard, out, whole)?;
            Ok(false)
        }
        Value::String(s) => {
            append(lua, guard, out, &s.as_bytes())?;
            Ok(true)
        }
        v @ (Value::Integer(_) | Value::Number(_)) => {
            let text = lua
                .coerce_string(v)?
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            append(lua, guard, out, &text)?;
            Ok(true)
        }
        other => Err(own_error(format!(
            "invalid replacement value (a {})",
            other.type_name()
        ))),
    }
}

/// `string.rep`, refusing a result larger than the memory limit before building it.
fn rep(lua: &Lua, guard: &Guard, args: &MultiValue) -> mlua::Result<LuaString> {
    let s = arg_string(lua, args, 1, "rep")?;
    let n = arg_integer(lua, args, 2, "rep", None)?;
    let sep = match args.get(2) {
        None | Some(Value::Nil) => None,
        Some(_) => Some(arg_string(lua, args, 3, "rep")?),
    };
    let (s, sep) = (s.as_bytes(), sep.as_ref().map(|x| x.as_bytes()));
    let sep: &[u8] = sep.as_deref().unwrap_or(b"");
    if n <= 0 || (s.is_empty() && sep.is_empty()) {
        return lua.create_string("");
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let total = s
        .len()
        .checked_mul(n)
        .and_then(|t| t.checked_add(sep.len().checked_mul(n - 1)?));
    let Some(total) = total.filter(|t| *t <= guard.limits.memory_bytes) else {
        return Err(guard.trip(Limit::Memory, caller_line(lua)));
    };
    let mut unit = Vec::with_capacity(s.len() + sep.len());
    unit.extend_from_slice(&s);
    unit.extend_from_slice(sep);
    let mut out = unit.repeat(n - 1);
    out.extend_from_slice(&s);
    debug_assert_eq!(out.len(), total);
    make_string(lua, guard, &out)
}
