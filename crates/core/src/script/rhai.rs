//! Rhai behind the script host.
//!
//! The engine is built from `Engine::new_raw` with the standard package only: no module
//! imports, no `eval`, no clock (`no_time`), `print` and `debug` to stderr (capped);
//! operations, call depth, expression depth, variables and string/array/map sizes are
//! limited, and a progress callback ends a call that runs past its deadline.
//!
//! Rhai has no allocator limit, so `memory_mb` becomes size limits that keep every value
//! small ([`SizeLimits`]): a value is at most 1/512 of the budget, and a scope holds at
//! most [`MAX_VARIABLES`] of them. Those limits also bound the time of any single
//! operation (a `split`, a clone of a nested array), which is what lets the deadline,
//! checked between operations, bound the call. Rhai's own limit errors cannot be caught
//! by `try`/`catch`; the deadline's error (`ErrorTerminated`) cannot either.
//!
//! Instances run the script with the returns of its hooks marked (`script::returns`), so
//! a label names the line of the `return` that gave it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rhai::packages::{Package, StandardPackage};
use rhai::{
    AST, ASTFlags, ASTNode, CallFnOptions, Dynamic, Engine, EvalAltResult, ParseError,
    ParseErrorType, Position, Scope, Stmt,
};

use super::data::{DataError, Returned, Shape, to_json};
use super::returns::{Insertion, MARK, Marked, offset_of};
use super::{Compiled, Deadline, Limit, Limits, Loaded, Output, ScriptError, Tree, find_line};

/// Variables in scope at once, across nested calls.
const MAX_VARIABLES: usize = 256;
/// Call depth.
const MAX_CALL_LEVELS: usize = 64;
/// Operations between two looks at the clock.
const CLOCK_EVERY: u64 = 16;

/// The size limits `memory_mb` turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SizeLimits {
    /// Bytes of string data in one value (a string, or all strings in an array or map).
    pub string: usize,
    /// Elements of one array, nested arrays included.
    pub array: usize,
    /// Entries of one map, nested maps included.
    pub map: usize,
}

impl SizeLimits {
    pub(super) fn of(limits: &Limits) -> SizeLimits {
        let value = (limits.memory_bytes / 512).max(1024);
        SizeLimits {
            string: value,
            // An element costs 16 bytes and more: keep an array's own share as large.
            array: (value / 32).max(64),
            map: (value / 64).max(64),
        }
    }
}

/// Rhai walks its syntax tree recursively, and in a debug build one script call level takes
/// tens of kilobytes of native stack: every compile and call runs with at least this much
/// stack left, on a fresh segment if the thread's own is shorter (`stacker`), so no script
/// can overflow the host's stack.
const RED_ZONE: usize = 16 << 20;
const SEGMENT: usize = 32 << 20;

fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

fn engine(limits: Limits, output: &Arc<Output>, deadline: &Arc<Deadline>) -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(StandardPackage::new().as_shared_module());
    e.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    e.disable_symbol("eval");
    let out = output.clone();
    e.on_print(move |s| out.print("", s));
    let out = output.clone();
    e.on_debug(move |s, _, pos| {
        let at = pos.line().map(|l| format!(":{l}")).unwrap_or_default();
        out.print(&at, s)
    });
    let clock = deadline.clone();
    e.on_progress(move |ops| {
        (ops % CLOCK_EVERY == 0 && clock.passed()).then(|| Dynamic::from("call_ms"))
    });
    e.set_max_operations(limits.operations.max(1));
    e.set_max_call_levels(MAX_CALL_LEVELS);
    // Set explicitly: the defaults differ between debug and release builds.
    e.set_max_expr_depths(64, 64);
    let size = SizeLimits::of(&limits);
    e.set_max_string_size(size.string);
    e.set_max_array_size(size.array);
    e.set_max_map_size(size.map);
    e.set_max_variables(MAX_VARIABLES);
    e.set_max_functions(10_000);
    e.set_strict_variables(true);
    e.set_fail_on_invalid_map_property(true);
    e
}

pub(super) fn load(
    file: &str,
    source: &str,
    limits: Limits,
    output: &Arc<Output>,
) -> Result<Loaded, ScriptError> {
    let deadline = Arc::new(Deadline::default());
    let engine = engine(limits, output, &deadline);
    deadline.arm(&limits);
    let mut ast =
        with_stack(|| engine.compile(source)).map_err(|e| parse_error(file, source, &e))?;
    ast.set_source(file);
    let functions: Vec<(String, usize)> = ast
        .iter_functions()
        .map(|f| (f.name.to_string(), f.params.len()))
        .collect();
    for (hook, arity) in [
        ("classify", 1),
        ("authorize", 1),
        ("statuses", 0),
        ("tests", 0),
    ] {
        if let Some((_, n)) = functions
            .iter()
            .find(|(name, n)| name == hook && *n != arity)
        {
            let (line, column) = find_line(source, &format!("fn {hook}"));
            return Err(ScriptError::new(
                file,
                line,
                column,
                "load",
                format!("`{hook}` must take {arity} parameter(s), not {n}"),
            ));
        }
    }
    let has = |hook: &str| functions.iter().any(|(name, _)| name == hook);

    // The top level runs once, under the same budget, so a runaway there is caught now.
    let mut scope = Scope::new();
    deadline.arm(&limits);
    with_stack(|| engine.run_ast_with_scope(&mut scope, &ast))
        .map_err(|e| runtime_error(file, source, "load", &limits, *e))?;

    let hooked = Arc::new(mark(&engine, file, source, &ast));
    let ast = Arc::new(ast);
    let mut call0 =
        |hook: &'static str| -> Result<Option<(usize, serde_json::Value)>, ScriptError> {
            if !has(hook) {
                return Ok(None);
            }
            let (line, _) = find_line(source, &format!("fn {hook}"));
            let options = CallFnOptions::new().eval_ast(false);
            deadline.arm(&limits);
            let value: Dynamic =
                with_stack(|| engine.call_fn_with_options(options, &mut scope, &ast, hook, ()))
                    .map_err(|e| runtime_error(file, source, hook, &limits, *e))?;
            let json = to_json(&value)
                .map_err(|m| ScriptError::new(file, line, 1, hook, m.to_string()))?;
            Ok(Some((line, json)))
        };
    let statuses = call0("statuses")?;
    let tests = call0("tests")?;
    Ok(Loaded {
        compiled: Compiled::Rhai(hooked),
        classifies: has("classify"),
        authorize: has("authorize").then(|| find_line(source, "fn authorize").0),
        statuses,
        tests,
    })
}

/// A script as its instances run it: compiled with a marker in each `return` of its hooks
/// (see `script::returns`).
pub(super) struct Hooked {
    ast: AST,
    marked: Marked,
}

/// The script compiled with its hooks' returns marked; without markers if that fails to
/// compile (which would be a bug here: the labels then name the hook's line).
fn mark(engine: &Engine, file: &str, source: &str, ast: &AST) -> Hooked {
    let mut insertions = Vec::new();
    for hook in ["classify", "authorize"] {
        let only = ast.clone_functions_only_filtered(|_, _, _, name, _| name == hook);
        only.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(Stmt::Return(Some(_), flags, pos))) = path.last()
                && !flags.contains(ASTFlags::BREAK)
                && let (Some(line), Some(column)) = (pos.line(), pos.position())
                && let Some(at) = offset_of(source, line, column)
                && source[at..].starts_with("return")
            {
                insertions.push(Insertion {
                    offset: at + "return".len(),
                    line,
                    column: column + "return".len(),
                    text: format!(" {MARK}({line}) ??"),
                });
            }
            true
        });
    }
    let marked = Marked::new(source, insertions);
    match with_stack(|| engine.compile(&marked.source)) {
        Ok(mut compiled) => {
            compiled.set_source(file);
            Hooked {
                ast: compiled,
                marked,
            }
        }
        Err(_) => Hooked {
            ast: ast.clone(),
            marked: Marked::new(source, Vec::new()),
        },
    }
}

/// One thread's engine for one script.
pub(super) struct Instance {
    file: String,
    source: Arc<str>,
    engine: Engine,
    hooked: Arc<Hooked>,
    scope: Scope<'static>,
    limits: Limits,
    deadline: Arc<Deadline>,
    /// The line the last marker recorded; zero: none ran (the hook ended on its last
    /// expression, not a `return`).
    returned: Arc<AtomicUsize>,
}

impl Instance {
    pub(super) fn new(
        file: &str,
        source: Arc<str>,
        hooked: Arc<Hooked>,
        limits: Limits,
        output: &Arc<Output>,
    ) -> Instance {
        let deadline = Arc::new(Deadline::default());
        let mut engine = engine(limits, output, &deadline);
        let returned = Arc::new(AtomicUsize::new(0));
        let seen = returned.clone();
        engine.register_fn(MARK, move |line: i64| {
            seen.store(usize::try_from(line).unwrap_or(0), Ordering::Relaxed);
        });
        Instance {
            file: file.to_string(),
            source,
            engine,
            hooked,
            scope: Scope::new(),
            limits,
            deadline,
            returned,
        }
    }

    /// The line of the `return` that ended the call, or `fallback` (the hook's own line).
    fn returned_or(&self, fallback: usize) -> usize {
        match self.returned.load(Ordering::Relaxed) {
            0 => fallback,
            line => line,
        }
    }

    /// Calls `hook(arg)` with a fresh deadline.
    fn call(&mut self, hook: &'static str, arg: Dynamic) -> Result<Dynamic, ScriptError> {
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        self.deadline.arm(&self.limits);
        self.returned.store(0, Ordering::Relaxed);
        let (engine, scope, ast) = (&self.engine, &mut self.scope, &self.hooked.ast);
        let result: Result<Dynamic, _> =
            with_stack(|| engine.call_fn_with_options(options, scope, ast, hook, (arg,)));
        result.map_err(|e| {
            let mut error = runtime_error(&self.file, &self.source, hook, &self.limits, *e);
            error.column = self.hooked.marked.original_column(error.line, error.column);
            error
        })
    }
}

impl super::Instance for Instance {
    fn authorize(&mut self, req: &Tree<'_>) -> Result<(serde_json::Value, usize), ScriptError> {
        let value = self.call("authorize", to_dynamic(req))?;
        let (hook_line, column) = find_line(&self.source, "fn authorize");
        let json = to_json(&value).map_err(|m| {
            ScriptError::new(&self.file, hook_line, column, "authorize", m.to_string())
        })?;
        Ok((json, self.returned_or(hook_line)))
    }

    fn classify(&mut self, snap: &Tree<'_>) -> Result<Option<(String, usize)>, ScriptError> {
        let value = self.call("classify", to_dynamic(snap))?;
        if value.is_unit() {
            return Ok(None);
        }
        let (line, column) = find_line(&self.source, "fn classify");
        if value.is_string() {
            return Ok(value
                .into_string()
                .ok()
                .map(|label| (label, self.returned_or(line))));
        }
        Err(ScriptError::new(
            &self.file,
            line,
            column,
            "classify",
            format!(
                "must return a label (a string) or (), not {}",
                value.type_name()
            ),
        ))
    }
}

fn to_dynamic(t: &Tree<'_>) -> Dynamic {
    match t {
        Tree::Nothing => Dynamic::UNIT,
        Tree::Bool(b) => Dynamic::from_bool(*b),
        Tree::Int(i) => Dynamic::from_int(*i),
        Tree::Str(s) => Dynamic::from(s.to_string()),
        Tree::List(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Tree::Map(fields) => {
            let mut map = rhai::Map::new();
            for (k, v) in fields {
                map.insert((*k).into(), to_dynamic(v));
            }
            Dynamic::from_map(map)
        }
    }
}

/// A Rhai value read as returned data (`statuses()`, `tests()`, a policy's answer).
impl Returned for Dynamic {
    fn shape(&self) -> Result<Shape<Dynamic>, DataError> {
        if self.is_unit() {
            return Ok(Shape::Nothing);
        }
        if let Ok(b) = self.as_bool() {
            return Ok(Shape::Bool(b));
        }
        if let Ok(i) = self.as_int() {
            return Ok(Shape::Int(i));
        }
        if let Ok(f) = self.as_float() {
            return Ok(Shape::Float(f));
        }
        if self.is_string() {
            return Ok(Shape::Text(self.to_string()));
        }
        if let Some(array) = self.read_lock::<rhai::Array>() {
            return Ok(Shape::List(array.to_vec()));
        }
        if let Some(map) = self.read_lock::<rhai::Map>() {
            return Ok(Shape::Map(
                map.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ));
        }
        Ok(Shape::Other(self.type_name().to_string()))
    }
}

fn parse_error(file: &str, source: &str, e: &ParseError) -> ScriptError {
    let (line, column) = position(e.position());
    let mut message = format!("syntax error: {}", e.err_type());
    // A Rhai function sees no variable of the script's top level (hooks are called without
    // running it again): say how to give a function a value of its own.
    if let ParseErrorType::VariableUndefined(name) = e.err_type()
        && source.lines().any(|l| {
            let l = l.trim_start();
            l.strip_prefix("const ")
                .or_else(|| l.strip_prefix("let "))
                .is_some_and(|rest| rest.trim_start().starts_with(name.as_str()))
        })
    {
        message.push_str(&format!(
            " (a `fn` sees none of the script's top-level variables, `const` ones included: define `{name}` inside the function, or make it a function, `fn {lower}() {{ … }}`, and call `{lower}()`)",
            lower = name.to_lowercase()
        ));
    }
    ScriptError::new(file, line, column, "load", message)
}

/// A runtime error at its innermost position; errors without one (a budget running out)
/// point at the hook's definition.
fn runtime_error(
    file: &str,
    source: &str,
    hook: &'static str,
    limits: &Limits,
    mut e: EvalAltResult,
) -> ScriptError {
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = e {
        e = *inner;
    }
    let pos = e.take_position();
    let (line, column) = if pos.is_none() {
        find_line(source, &format!("fn {hook}"))
    } else {
        position(pos)
    };
    let limit = |limit: Limit| ScriptError::limit(file, line, column, hook, limit, limits);
    let message = match &e {
        EvalAltResult::ErrorTooManyOperations(_) => return limit(Limit::Operations),
        EvalAltResult::ErrorTerminated(..) => return limit(Limit::Time),
        EvalAltResult::ErrorStackOverflow(_) => return limit(Limit::Depth(MAX_CALL_LEVELS)),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let mut e = limit(Limit::Memory);
            let size = SizeLimits::of(limits);
            e.message = format!(
                "{}: {} too large (one value may hold {} bytes of text, {} array elements, {} map entries)",
                e.message,
                what.to_lowercase(),
                size.string,
                size.array,
                size.map
            );
            return e;
        }
        EvalAltResult::ErrorTooManyVariables(_) => {
            let mut e = limit(Limit::Memory);
            e.message = format!("{}: more than {MAX_VARIABLES} variables", e.message);
            return e;
        }
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        _ => e.to_string(),
    };
    ScriptError::new(file, line, column, hook, message)
}

fn position(p: Position) -> (usize, usize) {
    (p.line().unwrap_or(1), p.position().unwrap_or(1))
}
