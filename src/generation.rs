//! A generation: the configuration, the catalogue, the organisation's status files and
//! scripts, loaded and checked together, with one content hash.
//!
//! Everything is built off to the side and either all of it is valid or none of it is
//! used: a generation is never half-loaded. Loading does not stop at the first invalid
//! file, so `check` can list every problem at once. Nothing here reads events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::catalog::definition::StatusFields;
use crate::catalog::status_file::StatusFile;
use crate::catalog::{Catalog, Classifier, StatusDefinition};
use crate::config::{CatalogChoice, Config};
use crate::diagnostic::{Located, line_col};
use crate::script::{Hooks, Language, Script, ScriptError, TestCase};

/// A loaded, validated configuration.
pub struct Generation {
    pub config: Config,
    pub classifier: Classifier,
    /// Every embedded test, in load order.
    pub tests: Vec<TestCase>,
    /// Every file that was read, in load order.
    pub files: Vec<PathBuf>,
    /// The first 16 hex digits of a SHA-256 over everything that was read.
    pub hash: String,
}

/// What a test run found.
pub struct TestResult {
    pub case: TestCase,
    /// `Err` holds the failure message.
    pub outcome: Result<(), String>,
}

impl From<ScriptError> for Located {
    fn from(e: ScriptError) -> Located {
        Located::new(
            &e.file,
            e.line,
            e.column,
            format!("{} failed: {}", e.hook, e.message),
        )
    }
}

impl Generation {
    /// The embedded defaults: the built-in `connect` catalogue, no scripts.
    pub fn embedded() -> Result<Generation, Vec<Located>> {
        Generation::from_config(Config::default(), None)
    }

    /// The generation described by a configuration file, or the embedded defaults.
    pub fn load(config: Option<&Path>) -> Result<Generation, Vec<Located>> {
        match config {
            None => Generation::embedded(),
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| {
                    vec![Located::new(
                        &name,
                        1,
                        1,
                        format!("cannot read the configuration: {e}"),
                    )]
                })?;
                let config = Config::parse(path, &text).map_err(|e| vec![e])?;
                Generation::from_config(config, Some(&text))
            }
        }
    }

    /// Loads everything a configuration names.
    pub fn from_config(
        config: Config,
        config_text: Option<&str>,
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
                match std::fs::read_to_string(path) {
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
        for path in script_files(&config, &mut errors) {
            let name = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
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
                        for (def, offset) in file.statuses {
                            let (line, column) = line_col(&text, offset);
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
                        tests.extend(script.tests.iter().cloned());
                        scripts.push(Arc::new(script));
                    }
                    Err(e) => errors.push(e.into()),
                },
            }
        }

        let mut user: Vec<StatusDefinition> = Vec::new();
        for (def, at) in definitions {
            if let Some(first) = user.iter().find(|d| d.name == def.name) {
                errors.push(Located::new(
                    &at.file,
                    at.line,
                    at.column,
                    format!(
                        "status `{}` is already defined in {}",
                        def.name, first.origin
                    ),
                ));
                continue;
            }
            user.push(def);
        }

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
            config,
            tests,
            files,
            hash,
        })
    }

    /// Runs every embedded test against the whole classifier.
    pub fn run_tests(&self) -> Vec<TestResult> {
        self.tests
            .iter()
            .map(|case| {
                let raw = case.snapshot.to_raw();
                let got = self
                    .classifier
                    .classify(case.snapshot.event_type(), case.snapshot.timestamp(), &raw)
                    .map(|c| c.map(|c| c.label.into_owned()));
                let outcome = match got {
                    Err(e) => Err(e.to_string()),
                    Ok(label) if label == case.expect => Ok(()),
                    Ok(label) => Err(format!(
                        "expected {}, got {}",
                        describe(case.expect.as_deref()),
                        describe(label.as_deref())
                    )),
                };
                TestResult {
                    case: case.clone(),
                    outcome,
                }
            })
            .collect()
    }
}

fn describe(label: Option<&str>) -> String {
    match label {
        Some(l) => format!("`{l}`"),
        None => "no label".to_string(),
    }
}

fn feed(hasher: &mut Sha256, path: &Path, text: &str) {
    hasher.update(path.to_string_lossy().as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    hasher.update([0]);
}

/// The configured status files and scripts, in load order: each configured path in turn; a
/// directory's `.toml`, `.rhai` and `.lua` files (not its subdirectories) in name order.
fn script_files(config: &Config, errors: &mut Vec<Located>) -> Vec<PathBuf> {
    let origin = config
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for path in &config.scripts {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file() && is_script(p))
                        .collect();
                    found.sort();
                    out.extend(found);
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
            }
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            errors.push(Located::new(
                &origin,
                1,
                1,
                format!("scripts path `{}` does not exist", path.display()),
            ));
        }
    }
    out
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
    fields
        .validate(file)
        .map_err(|(_, msg)| Located::new(file, line, 1, format!("statuses(): {msg}")))
}
