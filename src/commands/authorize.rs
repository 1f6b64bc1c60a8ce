//! `agent-audit authorize`: whether a requester may audit an agent's day, and why, in
//! words an auditor understands. The decision is recorded like any other.

use crate::access::{GroupPath, Request, hierarchy_of, today};
use crate::cli::AuthorizeArgs;
use crate::error::Error;
use crate::generation::Generation;
use crate::input;
use crate::store::ReadError;

pub fn run(args: &AuthorizeArgs) -> Result<(), Error> {
    let generation = Generation::load(args.config.as_deref()).map_err(Error::Config)?;
    let timezone = args.timezone.unwrap_or(chrono_tz::Tz::UTC);
    let date = args.date.unwrap_or_else(|| today(timezone));

    let mut agent = args.agent.clone();
    let mut from_events: Option<GroupPath> = None;
    let mut note = None;
    if !args.events.is_empty() {
        crate::s3::configure(&generation.config.s3);
        let sources = input::expand(&args.events).map_err(ReadError::from)?;
        let ingested = super::report::read_for_agent(&sources, &args.agent, false)?;
        match ingested.find_agent(&args.agent) {
            Ok(a) => {
                if !a.profile.login.is_empty() {
                    agent = a.profile.login.clone();
                }
                from_events = hierarchy_of(&a.profile);
            }
            Err(e) => {
                note = Some(format!(
                    "note: {e}; the agent's hierarchy is taken from the users file only"
                ))
            }
        }
    }
    let request = Request {
        requester: Some(args.requester.clone()),
        agent: agent.clone(),
        agent_hierarchy_from_events: from_events,
        date,
        timezone,
        today: today(timezone),
    };
    let decision = generation.decide(&request, "authorize")?;
    let verdict = if decision.allowed {
        "ALLOWED"
    } else {
        "DENIED"
    };
    let verb = if decision.allowed { "may" } else { "may not" };
    // The requester, the agent and a policy's reason are user text: escaped for the terminal.
    let safe = crate::diagnostic::terminal_safe;
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
        && generation.access.agent_hierarchy(&request).is_none()
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
