//! The classify pipeline: script hooks first, in load order, then the catalogue's rules.
//!
//! A hook that returns a label decides; one that returns nothing defers to the next hook
//! and finally to the rule table. A label from a hook counts as an OFFLINE-type status
//! (no `open` or `gap` flags) when its definition has type OFFLINE, or when it is the
//! agent's own status name and that status is OFFLINE.

use std::borrow::Cow;

use crate::catalog::{Catalog, Classification, ContactVerdict, DefinitionType, LabelSource};
use crate::event::{RawSnapshot, StatusType, Str};
use crate::script::{HookLabel, HookStep, Hooks, ScriptError, Snap};

/// How one snapshot got its label ([`Classifier::trace`]).
pub struct Trace<'a> {
    /// Every hook asked, in order; the last one decided if it returned a label.
    pub hooks: Vec<HookStep>,
    /// The catalogue's verdict on each contact, when no hook decided.
    pub contacts: Vec<ContactVerdict<'a>>,
    /// The label and the rule that gave it; `None`: no label.
    pub decision: Option<Classification<'a>>,
}

/// Everything that turns a snapshot into a label.
pub struct Classifier {
    pub catalog: Catalog,
    pub hooks: Hooks,
}

impl Classifier {
    /// Only a catalogue's rules, no scripts.
    pub fn rules_only(catalog: Catalog) -> Classifier {
        Classifier {
            catalog,
            hooks: Hooks::new(Vec::new()),
        }
    }

    /// The label of `snapshot`, taken at an event of `event_type` at `timestamp`.
    pub fn classify<'a>(
        &'a self,
        event_type: &str,
        timestamp: &str,
        snapshot: &'a RawSnapshot<'_>,
    ) -> Result<Option<Classification<'a>>, ScriptError> {
        if !self.hooks.is_empty() {
            let snap = Snap {
                event_type,
                timestamp,
                snapshot,
            };
            if let Some(hook) = self.hooks.classify(&snap)? {
                return Ok(Some(self.hook_label(hook, snapshot)));
            }
        }
        Ok(self.catalog.classify(snapshot))
    }

    fn hook_label<'a>(&self, hook: HookLabel, snapshot: &RawSnapshot<'_>) -> Classification<'a> {
        let offline = self.is_offline_label(&hook.label, snapshot);
        Classification {
            label: Cow::Owned(hook.label),
            source: LabelSource::Script { offline },
            rule: Cow::Owned(hook.rule),
        }
    }

    /// How `snapshot` got its label, step by step, for `explain`: every hook asked in load
    /// order with what it returned, then, when none decided, what the catalogue's rules
    /// made of each contact and the label they gave.
    pub fn trace<'a>(
        &'a self,
        event_type: &str,
        timestamp: &str,
        snapshot: &'a RawSnapshot<'_>,
    ) -> Result<Trace<'a>, ScriptError> {
        let snap = Snap {
            event_type,
            timestamp,
            snapshot,
        };
        let hooks = self.hooks.trace(&snap)?;
        let decided_by_hook = hooks.iter().find_map(|s| s.returned.clone());
        let (contacts, decision) = match decided_by_hook {
            Some(hook) => (Vec::new(), Some(self.hook_label(hook, snapshot))),
            None => (
                self.catalog.contact_verdicts(snapshot),
                self.catalog.classify(snapshot),
            ),
        };
        Ok(Trace {
            hooks,
            contacts,
            decision,
        })
    }

    fn is_offline_label(&self, label: &str, snapshot: &RawSnapshot<'_>) -> bool {
        if let Some(def) = self.catalog.definition(label, None) {
            return def.kind == DefinitionType::Offline;
        }
        snapshot.status.as_ref().is_some_and(|s| {
            StatusType::of(s) == StatusType::Offline
                && s.name.as_ref().map(Str::as_str) == Some(label)
        })
    }
}
