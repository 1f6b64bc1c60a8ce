//! The classify pipeline: script hooks first, in load order, then the catalogue's rules.
//!
//! A hook that returns a label decides; one that returns nothing defers to the next hook
//! and finally to the rule table. A label from a hook counts as an OFFLINE-type status
//! (no `open` or `gap` flags) when its definition has type OFFLINE, or when it is the
//! agent's own status name and that status is OFFLINE.

use std::borrow::Cow;

use crate::catalog::{Catalog, Classification, DefinitionType, LabelSource};
use crate::event::{RawSnapshot, StatusType, Str};
use crate::script::{Hooks, ScriptError, Snap};

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
            if let Some(label) = self.hooks.classify(&snap)? {
                let offline = self.is_offline_label(&label, snapshot);
                return Ok(Some(Classification {
                    label: Cow::Owned(label),
                    source: LabelSource::Script { offline },
                }));
            }
        }
        Ok(self.catalog.classify(snapshot))
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
