//! Reading one agent's records only: what a single-agent `report`, `explain` and
//! `authorize --events` need, without parsing every other agent's records.

use super::{ReadError, ReadOptions, Store};
use crate::input;

/// The most bytes of small sources a single-agent read keeps between its two passes.
const HELD: u64 = 256 << 20;

impl Store {
    /// Reads what one agent's report needs. Two quick passes find the agent's ARN (records
    /// that mention its quoted login) and then parse only the records that mention that
    /// ARN; every other agent's records are passed over unparsed. When the login is not
    /// found that way (or cannot be searched for literally, or is spelled in another case
    /// than the events write it), everything is read, so the agent is still found by its
    /// login key or the error can name the closest logins. With `strict`, every record is
    /// parsed (and checked) in one pass.
    pub fn read_for_agent(
        sources: &[input::Source],
        agent: &str,
        strict: bool,
    ) -> Result<Store, ReadError> {
        let quoted = |s: &str| format!("\"{s}\"").into_bytes();
        // Each source is looked at once (one `stat`), and each small one read once: the
        // second pass takes their bytes from memory.
        let facts = input::Facts::of_all(sources)?;
        // Standard input, a FIFO or `<(…)` cannot be read twice.
        let rereadable = facts.iter().all(|f| f.regular);
        let literal = rereadable
            && !strict
            && !agent.is_empty()
            && !agent.contains(['"', '\\'])
            && agent.is_ascii();
        let held = std::sync::Arc::new(input::Held::new(HELD));
        let options = |only_containing| ReadOptions {
            strict,
            only_containing,
            held: Some(std::sync::Arc::clone(&held)),
            ..ReadOptions::default()
        };
        if literal {
            let arns: Vec<Vec<u8>> = if agent.starts_with("arn:") {
                vec![quoted(agent)]
            } else {
                let first = Store::read_known(sources, &facts, &options(vec![quoted(agent)]))?;
                first
                    .agents
                    .iter()
                    .filter(|a| crate::login::same(&a.profile.login, agent))
                    .map(|a| quoted(&a.arn))
                    .collect()
            };
            if !arns.is_empty() {
                let found = Store::read_known(sources, &facts, &options(arns))?;
                if found.find_agent(agent).is_ok() {
                    return Ok(found);
                }
            }
        }
        Store::read_known(sources, &facts, &options(Vec::new()))
    }
}
