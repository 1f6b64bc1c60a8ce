//! `agent-audit authorize`: whether a requester may audit an agent's day, and why, in
//! words an auditor understands. The decision is recorded like any other.

use std::sync::Arc;

use crate::cli::AuthorizeArgs;
use agent_audit::access::log::Asked;
use agent_audit::access::today;
use agent_audit::engine::Engine;
use agent_audit::error::Error;
use agent_audit::generation::Generation;
use agent_audit::store::Store;

pub fn run(args: &AuthorizeArgs) -> Result<(), Error> {
    let timezone = args.timezone.unwrap_or(chrono_tz::Tz::UTC);
    let date = args.date.unwrap_or_else(|| today(timezone));
    // With --events, the agent's hierarchy (and login as the events write it) comes from
    // its latest event when the users file does not give it.
    let engine = if args.events.is_empty() {
        let generation = Generation::load(args.config.as_deref()).map_err(Error::Config)?;
        Engine::new(Arc::new(generation), Arc::new(Store::default()))
    } else {
        Engine::open_for_agent(args.config.as_deref(), &args.events, &args.agent, false)?
    };
    let note = match engine.store().find_agent(&args.agent) {
        Err(e) if !args.events.is_empty() => Some(format!(
            "note: {e}; the agent's hierarchy is taken from the users file only"
        )),
        _ => None,
    };
    let decision = engine.decide(
        Some(&args.requester),
        &args.agent,
        date,
        timezone,
        &Asked::by("authorize"),
    )?;
    let agent = decision.agent.clone();
    let generation = engine.generation();
    let verdict = if decision.allowed {
        "ALLOWED"
    } else {
        "DENIED"
    };
    let verb = if decision.allowed { "may" } else { "may not" };
    // The requester, the agent and a policy's reason are user text: escaped for the terminal.
    let safe = agent_audit::diagnostic::terminal_safe;
    println!(
        "{verdict}: `{}` {verb} audit `{}` on {} ({})",
        safe(&args.requester),
        safe(&agent),
        date.format("%Y-%m-%d"),
        timezone.name()
    );
    println!("  why:           {}", safe(&decision.reason));
    println!("  decided by:    {}", safe(&decision.rule));
    println!("  configuration: {}", generation.hash);
    if let Some(path) = generation.decision_log.path() {
        println!("  recorded in:   {}", path.display());
    }
    if !decision.allowed
        && args.events.is_empty()
        && engine.agent_hierarchy(&agent, timezone).is_none()
    {
        println!(
            "  note:          the hierarchy of `{}` is unknown: the users file does not give \
             it and no events were read; `--events PATH` supplies it from the agent's latest event",
            safe(&agent)
        );
    }
    if let Some(note) = note {
        eprintln!("{}", safe(&note));
    }
    // The decision is printed above, once; only the exit status is left.
    if decision.allowed {
        Ok(())
    } else {
        Err(Error::Shown(1))
    }
}
