//! Reading one agent's records only: what a single-agent `report`, `explain` and
//! `authorize --events` need, without parsing every other agent's records.

use super::{ReadError, ReadOptions, Store};
use crate::input;

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
        // Standard input, a FIFO or `<(…)` cannot be read twice.
        let rereadable = sources.iter().all(input::Source::is_rereadable);
        let literal = rereadable
            && !strict
            && !agent.is_empty()
            && !agent.contains(['"', '\\'])
            && agent.is_ascii();
        let options = |only_containing| ReadOptions {
            strict,
            only_containing,
            ..ReadOptions::default()
        };
        if literal {
            let arns: Vec<Vec<u8>> = if agent.starts_with("arn:") {
                vec![quoted(agent)]
            } else {
                let first = Store::read(sources, &options(vec![quoted(agent)]))?;
                first
                    .agents
                    .iter()
                    .filter(|a| crate::login::same(&a.profile.login, agent))
                    .map(|a| quoted(&a.arn))
                    .collect()
            };
            if !arns.is_empty() {
                let found = Store::read(sources, &options(arns))?;
                if found.find_agent(agent).is_ok() {
                    return Ok(found);
                }
            }
        }
        Store::read(sources, &options(Vec::new()))
    }
}
