//! The library's one API: what `report`, `explain`, `authorize`, `run`, `watch` and `serve`
//! all call, so that a report is the same bytes whichever shell asked for it.
//!
//! An [`Engine`] is one consistent view: a [`Generation`] (configuration, catalogue,
//! scripts, access) and the events read under it, classified. It never changes once made:
//! a reload builds a new one ([`Live`]), so whoever holds an `Arc<Engine>` answers from one
//! generation and one store snapshot, whatever reloads meanwhile. Every call that shows an
//! agent's data is one access decision, recorded in the decision log with who asked and
//! through what ([`Asked`]); a denial is an error, and nothing of the agent is returned.
//!
//! This module knows nothing of command lines, HTTP or terminals: it takes typed requests
//! and returns typed results (or [`Error`]), and the shells print them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::access::log::Asked;
use crate::access::{Decision, GroupPath, Request, today};
use crate::batch::{Job, Outcome, Summary};
use crate::classify::{Labels, classify};
use crate::diagnostic::Located;
use crate::error::Error;
use crate::explain::Explanation;
use crate::generation::Generation;
use crate::input;
use crate::reduce::reduce;
use crate::report::{self, Format, Kind, Report};
use crate::store::{Agent, ReadError, ReadOptions, Store};
use crate::time::{Timestamp, Window};

/// One generation and the events classified under it.
pub struct Engine {
    generation: Arc<Generation>,
    store: Arc<Store>,
    labels: Arc<Labels>,
    /// The latest event time of the store, found once (every answer of `serve` says it).
    events_through: Option<Timestamp>,
}

/// What a report is asked for: whose day, in which zone, of which kind and format.
#[derive(Clone, Copy, Debug)]
pub struct ReportQuery<'a> {
    pub agent: &'a str,
    pub date: NaiveDate,
    pub timezone: Tz,
    pub kind: Kind,
    pub format: Format,
}

/// A report and its bytes in the format asked for.
pub struct Rendered {
    pub report: Report,
    pub bytes: Vec<u8>,
    pub decision: Decision,
}

/// An agent as the report page lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentEntry {
    pub login: String,
    pub name: String,
}

impl Engine {
    /// An engine for `store` under `generation`: the store is classified now.
    pub fn new(generation: Arc<Generation>, store: Arc<Store>) -> Engine {
        let labels = Arc::new(classify(&store, &generation.classifier));
        let events_through = store
            .agents
            .iter()
            .filter_map(|a| a.events.iter().map(|e| e.at).max())
            .max();
        Engine {
            generation,
            store,
            labels,
            events_through,
        }
    }

    /// Loads the configuration (`None`: the embedded defaults) and reads only what one
    /// agent's day needs of `events` ([`Store::read_for_agent`]).
    pub fn open_for_agent(
        config: Option<&Path>,
        events: &[PathBuf],
        agent: &str,
        strict: bool,
    ) -> Result<Engine, Error> {
        let generation = Generation::load(config).map_err(Error::Config)?;
        let sources = input::expand(events, &generation.config.s3).map_err(ReadError::from)?;
        let store = Store::read_for_agent(&sources, agent, strict)?;
        Ok(Engine::new(Arc::new(generation), Arc::new(store)))
    }

    /// Loads the configuration (`None`: the embedded defaults) and reads `events` under it.
    pub fn open(config: Option<&Path>, events: &[PathBuf]) -> Result<Engine, Error> {
        let generation = Generation::load(config).map_err(Error::Config)?;
        let store = read_events(&generation, events, &ReadOptions::default())?;
        Ok(Engine::new(Arc::new(generation), Arc::new(store)))
    }

    pub fn generation(&self) -> &Arc<Generation> {
        &self.generation
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The generation's content hash, stamped on reports and decisions.
    pub fn hash(&self) -> &str {
        &self.generation.hash
    }

    /// The request to audit `agent`'s day: the agent's hierarchy from its latest snapshot
    /// when the events know it, its login as the events write it.
    fn request(
        &self,
        requester: Option<&str>,
        agent: &str,
        date: NaiveDate,
        timezone: Tz,
    ) -> Request {
        match self.store.find_agent(agent) {
            Ok(a) => Request::for_agent(requester, a, date, timezone),
            Err(_) => Request {
                requester: requester.map(String::from),
                agent: agent.to_string(),
                agent_hierarchy_from_events: None,
                date,
                timezone,
                today: today(timezone),
            },
        }
    }

    /// Whether `requester` may audit `agent`'s day, and why; recorded in the decision log.
    /// An agent not in the events is decided on what the users file says of them.
    pub fn decide(
        &self,
        requester: Option<&str>,
        agent: &str,
        date: NaiveDate,
        timezone: Tz,
        asked: &Asked,
    ) -> Result<Decision, Error> {
        let request = self.request(requester, agent, date, timezone);
        self.generation.decide(&request, asked)
    }

    /// The agent's hierarchy as the decision sees it (users file, else events).
    pub fn agent_hierarchy(&self, agent: &str, timezone: Tz) -> Option<GroupPath> {
        let request = self.request(None, agent, today(timezone), timezone);
        self.generation.access.agent_hierarchy(&request)
    }

    /// The agent's report, once `requester` is allowed to see it: decided (and recorded)
    /// first, built and rendered only when allowed. An agent not in the events is
    /// [`Error::Agent`]; the caller decides whether a restricted requester may
    /// learn that (the report page answers both the same way).
    pub fn report(
        &self,
        requester: Option<&str>,
        query: &ReportQuery<'_>,
        asked: &Asked,
    ) -> Result<Rendered, Error> {
        let window = Window::local_day(query.date, query.timezone)
            .ok_or_else(|| Error::Usage(format!("date `{}` is out of range", query.date)))?;
        let agent = self.store.find_agent(query.agent)?;
        let request = Request::for_agent(requester, agent, query.date, query.timezone);
        let decision = self.generation.decide(&request, asked)?;
        if !decision.allowed {
            return Err(Error::Denied(Box::new(decision)));
        }
        let report = self.audit(agent, window)?;
        let columns = &self.generation.config.columns;
        let bytes =
            report::render(&report, query.kind, query.format, columns).map_err(|source| {
                Error::Write {
                    path: "<report>".to_string(),
                    source,
                }
            })?;
        Ok(Rendered {
            report,
            bytes,
            decision,
        })
    }

    /// The report of `agent` for `window`, without a decision: for callers that decided
    /// already (a batch) and for tests.
    pub fn audit(&self, agent: &Agent, window: Window) -> Result<Report, Error> {
        let mut report = audit(
            &self.store,
            &self.labels,
            &self.generation.classifier.catalog,
            agent,
            window,
            self.generation.config.stale_after_ms,
        )?;
        report.configuration = self.generation.hash.clone();
        Ok(report)
    }

    /// The row of `agent`'s day (in `timezone`) that covers `at`, traced to its events and
    /// rules, once `requester` may see that day.
    pub fn explain(
        &self,
        requester: Option<&str>,
        agent: &str,
        at: Timestamp,
        timezone: Tz,
        asked: &Asked,
    ) -> Result<Explanation, Error> {
        let found = self.store.find_agent(agent)?;
        let date = at.in_zone(timezone).date_naive();
        let request = Request::for_agent(requester, found, date, timezone);
        let decision = self.generation.decide(&request, asked)?;
        if !decision.allowed {
            return Err(Error::Denied(Box::new(decision)));
        }
        let mut explanation = crate::explain::explain(
            &self.store,
            &self.labels,
            &self.generation.classifier,
            self.generation.config.stale_after_ms,
            found,
            at,
            timezone,
        )?;
        explanation.configuration = self.generation.hash.clone();
        Ok(explanation)
    }

    /// Produces a batch's `jobs` as `requester` (each decided and recorded as `asked`),
    /// calling `progress` after each; the outcomes in job order.
    pub fn batch(
        &self,
        requester: Option<&str>,
        jobs: &[Job],
        asked: &Asked,
        progress: &(dyn Fn() + Sync),
    ) -> (Vec<Outcome>, Summary) {
        crate::batch::produce(
            &self.generation,
            &self.store,
            &self.labels,
            requester,
            jobs,
            asked,
            progress,
        )
    }

    /// The agents `requester` may audit on `date` in `timezone`, by login (for the report
    /// page's list). Listing shows no agent's data, so these decisions are not recorded;
    /// opening a report is decided (and recorded) again.
    pub fn agents_for(&self, requester: &str, date: NaiveDate, timezone: Tz) -> Vec<AgentEntry> {
        let mut out: Vec<AgentEntry> = self
            .store
            .agents
            .iter()
            .filter(|a| !a.profile.login.is_empty())
            .filter(|a| {
                let request = Request::for_agent(Some(requester), a, date, timezone);
                self.generation.access.decide(&request).allowed
            })
            .map(|a| AgentEntry {
                login: a.profile.login.clone(),
                name: a.profile.full_name(),
            })
            .collect();
        out.sort_by(|a, b| a.login.cmp(&b.login));
        out.dedup_by(|a, b| a.login == b.login);
        out
    }

    /// The latest event time of the store, for "events through …".
    pub fn events_through(&self) -> Option<Timestamp> {
        self.events_through
    }
}

/// The report of `agent` for `window` from a store classified with `labels` under
/// `catalog`: reduce, then cut and label the day. No decision: callers decide first.
pub fn audit(
    store: &Store,
    labels: &Labels,
    catalog: &crate::catalog::Catalog,
    agent: &Agent,
    window: Window,
    stale_after_ms: i64,
) -> Result<Report, Error> {
    let timeline = reduce(store, agent, labels, stale_after_ms);
    report::for_agent(agent, &timeline, store, &labels.classes, catalog, window)
        .map_err(Error::Script)
}

/// Reads `paths` into a store under `generation` (its S3 settings apply).
pub fn read_events(
    generation: &Generation,
    paths: &[PathBuf],
    options: &ReadOptions,
) -> Result<Store, Error> {
    let sources = input::expand(paths, &generation.config.s3).map_err(ReadError::from)?;
    Ok(Store::read(&sources, options)?)
}

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Nothing that matters changed.
    Nothing,
    /// A new generation replaced the old one; `bytes` of events were read for it (none
    /// unless the events named changed).
    Generation { bytes: u64 },
    /// The events changed: the agents touched (login keys and ARN keys, as jobs match
    /// them) and the bytes read.
    Events {
        touched: HashSet<String>,
        bytes: u64,
    },
}

/// An engine kept current (`watch`, `serve`): it reloads the configuration as a whole
/// new generation, checked off to the side, and the events by reading only what changed.
/// A broken change keeps the current engine and returns its problems.
pub struct Live {
    engine: Arc<Engine>,
    /// How many generations this process has had (1 for the first).
    pub generation_number: u64,
}

impl Live {
    pub fn new(engine: Engine) -> Live {
        Live {
            engine: Arc::new(engine),
            generation_number: 1,
        }
    }

    /// The current engine: hold it for a whole request or batch.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// The current engine, borrowed (while `self` is not changed).
    pub fn engine_ref(&self) -> &Engine {
        &self.engine
    }

    /// Loads the configuration again (`None`: the embedded defaults) and, when its content
    /// changed (or `other_changes`: something the caller serves from it did) and it is
    /// valid (every file, every embedded test, and it keeps access control on if it was
    /// on), makes it current; `events` are read again only when they are not the paths
    /// read before (`previous_events`). `Ok(None)`: nothing changed. `Err`: the problems,
    /// and the current generation stays.
    pub fn reload_configuration(
        &mut self,
        config: Option<&Path>,
        events: &[PathBuf],
        previous_events: &[PathBuf],
        other_changes: bool,
    ) -> Result<Option<Reloaded>, Vec<Located>> {
        let generation = Generation::load(config)?;
        let current = &self.engine.generation;
        if generation.hash == current.hash && events == previous_events && !other_changes {
            return Ok(None);
        }
        generation.may_replace(current).map_err(|e| vec![e])?;
        // A generation whose own tests fail is not a good generation.
        let failures: Vec<Located> = generation
            .run_tests()
            .iter()
            .filter_map(crate::generation::TestResult::located)
            .collect();
        if !failures.is_empty() {
            return Err(failures);
        }
        let (store, bytes) = if events == previous_events {
            (Arc::clone(&self.engine.store), 0)
        } else {
            let store = read_events(&generation, events, &ReadOptions::default())
                .map_err(|e| vec![Located::new("<events>", 1, 1, e.to_string())])?;
            let bytes = store.stats.bytes;
            (Arc::new(store), bytes)
        };
        self.engine = Arc::new(Engine::new(Arc::new(generation), store));
        self.generation_number += 1;
        Ok(Some(Reloaded::Generation { bytes }))
    }

    /// Reads what changed in `events` (new files, the new lines of grown files, files
    /// rewritten, and `signalled` ones the watcher says were written to) and forgets what
    /// is gone; the current generation classifies the result. Copy on write: engines
    /// handed out before keep the store they had.
    pub fn refresh_events(
        &mut self,
        events: &[PathBuf],
        signalled: &dyn Fn(&input::Source) -> bool,
    ) -> Result<Reloaded, Error> {
        let generation = Arc::clone(&self.engine.generation);
        let sources = input::expand(events, &generation.config.s3).map_err(ReadError::from)?;
        // The refresh works on a copy: should a source fail halfway (a download cut off, a
        // file that became unreadable), the store of the engine is left as it was, whole,
        // and the next refresh tries again. Engines handed out before keep theirs.
        let mut store = (*self.engine.store).clone();
        let before = agent_keys(&store);
        let bytes_before = store.stats.bytes;
        let touched = match store.refresh(&sources, &ReadOptions::default(), signalled)? {
            Some(touched) => touched,
            None => return Ok(Reloaded::Nothing),
        };
        // Should a dropped file have held an agent's first event, whose previous snapshot
        // only that file had, everything is read again.
        let (store, mut keys) = if store.lost_first_previous() {
            let fresh = Store::read(&sources, &ReadOptions::default())?;
            let keys = agent_keys(&fresh);
            (fresh, keys)
        } else {
            let keys = touched
                .iter()
                .filter_map(|&i| store.agents.get(i))
                .flat_map(|a| {
                    [
                        crate::login::key(&a.profile.login),
                        crate::login::key(&a.arn),
                    ]
                })
                .collect();
            (store, keys)
        };
        // The agents whose last events were deleted: their reports now fail or go, as a
        // fresh run's would.
        let after = agent_keys(&store);
        keys.extend(before.difference(&after).cloned());
        let bytes = store.stats.bytes.saturating_sub(bytes_before);
        self.engine = Arc::new(Engine::new(generation, Arc::new(store)));
        Ok(Reloaded::Events {
            touched: keys,
            bytes,
        })
    }
}

/// Every agent's login key and ARN key.
fn agent_keys(store: &Store) -> HashSet<String> {
    store
        .agents
        .iter()
        .flat_map(|a| {
            [
                crate::login::key(&a.profile.login),
                crate::login::key(&a.arn),
            ]
        })
        .collect()
}
