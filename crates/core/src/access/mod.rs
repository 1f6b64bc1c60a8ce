//! Who may audit whom (SPEC §7): users and security profiles from TOML, permission
//! implication, hierarchy access control, compliance policies as scripts, and the decision
//! log.
//!
//! A request is allowed iff the built-in check permits it — the requester holds *Agent
//! activity audit - Access* (directly or through *Access metrics - Access*) in a profile
//! whose access control admits the agent — and no policy forbids it. Policies can only
//! narrow access; a policy that fails counts as forbidding (fail closed); all policies are
//! asked and their forbids reported in file-name order, so no decision depends on load
//! order. Access control is off while the configuration defines no users (the embedded
//! default): then only policies can deny.

pub mod hierarchy;
pub mod log;
pub mod permissions;
pub mod users;

use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;

pub use hierarchy::{GroupPath, Level, Scope};
pub use permissions::Permission;
pub use users::{PolicyFile, PolicyTest, Profile, User};

use crate::script::{Policies, ScriptError, Tree};

/// The action every request is for.
pub const ACTION: &str = "agent_activity_audit";

/// Everything that decides access, loaded with a generation.
pub struct Access {
    pub profiles: Vec<Profile>,
    pub users: Vec<User>,
    pub policies: Policies,
    pub tests: Vec<PolicyTest>,
}

/// A request to audit one agent's day.
#[derive(Clone, Debug)]
pub struct Request {
    pub requester: Option<String>,
    pub agent: String,
    /// The agent's hierarchy from the events' latest snapshot, if the events were read.
    pub agent_hierarchy_from_events: Option<GroupPath>,
    pub date: NaiveDate,
    pub timezone: Tz,
    /// The current date in `timezone` (for retention policies; scripts have no clock).
    pub today: NaiveDate,
}

impl Request {
    /// A request to audit `agent`'s day, with the agent's hierarchy from the events.
    pub fn for_agent(
        requester: Option<&str>,
        agent: &crate::store::Agent,
        date: NaiveDate,
        timezone: Tz,
    ) -> Request {
        Request {
            requester: requester.map(String::from),
            agent: if agent.profile.login.is_empty() {
                agent.arn.clone()
            } else {
                agent.profile.login.clone()
            },
            agent_hierarchy_from_events: hierarchy_of(&agent.profile),
            date,
            timezone,
            today: today(timezone),
        }
    }
}

/// The outcome of a request, with the rule that decided it and why, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// What decided, as `file:line` with what stands there: the profile (and its
    /// `hierarchy`) in the users file, the first user (access control is on), or the
    /// `return` of each forbidding policy; `access control off` when no user is defined.
    pub rule: String,
    pub reason: String,
    pub requester: Option<String>,
    pub agent: String,
    pub date: NaiveDate,
    pub timezone: Tz,
    /// What decided: the users file (permissions, hierarchy) or a policy script.
    pub by: DecidedBy,
    /// The requester may audit every agent (access control off, or a granting profile
    /// without hierarchy restriction): the report page may tell them which logins exist.
    pub unrestricted: bool,
}

/// How the rule of a profile that admits every agent ends.
const NO_RESTRICTION: &str = ", no hierarchy restriction";

/// What decided a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecidedBy {
    /// Access control is off: no users are configured.
    Off,
    /// The users file: the requester, their permissions or their hierarchy.
    Users,
    /// A policy script forbade it.
    Policy,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        write!(f, "{verdict}: {} (rule: {})", self.reason, self.rule)
    }
}

/// Today's date in `tz`, or `AGENT_AUDIT_TODAY` (YYYY-MM-DD) when set, so a run can be
/// reproduced "as of" a date.
pub fn today(tz: Tz) -> NaiveDate {
    std::env::var("AGENT_AUDIT_TODAY")
        .ok()
        .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive())
}

/// The hierarchy an agent's latest snapshot shows.
pub fn hierarchy_of(profile: &crate::store::AgentProfile) -> Option<GroupPath> {
    if profile.hierarchy.is_empty() {
        return None;
    }
    Some(GroupPath(
        profile
            .hierarchy
            .iter()
            .map(|g| Level {
                name: g.name.clone(),
                arn: (!g.arn.is_empty()).then(|| g.arn.clone()),
            })
            .collect(),
    ))
}

/// What one policy said.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Opinion {
    None,
    Permit,
    Forbid { reason: String },
}

impl Access {
    /// Whether access control is on (the configuration defines at least one user).
    pub fn enforced(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| crate::login::same(&u.login, login))
    }

    fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Whether `login` may audit every agent by its profiles (access off, or a profile
    /// granting the audit permission with no hierarchy restriction): the report page shows
    /// such requesters what it shows administrators (a refused reload, for one). Policies
    /// may still forbid them single requests.
    pub fn unrestricted(&self, login: &str) -> bool {
        if !self.enforced() {
            return true;
        }
        let Some(user) = self.user(login) else {
            return false;
        };
        user.profiles
            .iter()
            .filter_map(|p| self.profile(p))
            .any(|p| {
                p.scope.is_none()
                    && permissions::effective(p.permissions.iter().copied())
                        .contains(&Permission::AGENT_ACTIVITY_AUDIT)
            })
    }

    /// Decides a request.
    pub fn decide(&self, req: &Request) -> Decision {
        let by = if self.enforced() {
            DecidedBy::Users
        } else {
            DecidedBy::Off
        };
        let decision = |allowed: bool, rule: String, reason: String, unrestricted: bool| Decision {
            allowed,
            rule,
            reason,
            requester: req.requester.clone(),
            agent: req.agent.clone(),
            date: req.date,
            timezone: req.timezone,
            by,
            unrestricted,
        };
        let agent_hierarchy = self.agent_hierarchy(req);
        let builtin = self.builtin(req, agent_hierarchy.as_ref());
        let (rule, reason) = match builtin {
            Err((rule, reason)) => return decision(false, rule, reason, false),
            Ok(ok) => ok,
        };
        // The two ways `builtin` admits anyone: access off, or a profile with no hierarchy
        // restriction (its rule says so).
        let unrestricted = !self.enforced() || rule.ends_with(NO_RESTRICTION);
        let forbids = self.ask_policies(req, agent_hierarchy.as_ref());
        match forbids.first() {
            None => decision(true, rule, reason, unrestricted),
            Some((_, first_reason)) => {
                let rule = forbids
                    .iter()
                    .map(|(r, _)| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Decision {
                    by: DecidedBy::Policy,
                    ..decision(false, rule, first_reason.clone(), unrestricted)
                }
            }
        }
    }

    /// The agent's hierarchy: from the users file when it names the agent, otherwise from
    /// the events. The users file names groups; where the agent's events name the same
    /// groups, their ARNs are taken from the events, so a profile scoped by group ARN sees
    /// the same group whichever side the hierarchy came from.
    pub fn agent_hierarchy(&self, req: &Request) -> Option<GroupPath> {
        match self.user(&req.agent).and_then(|u| u.hierarchy.clone()) {
            Some(mut h) => {
                if let Some(events) = &req.agent_hierarchy_from_events {
                    for (level, seen) in h.0.iter_mut().zip(&events.0) {
                        if level.name != seen.name {
                            break;
                        }
                        if level.arn.is_none() {
                            level.arn = seen.arn.clone();
                        }
                    }
                }
                Some(h)
            }
            None => req.agent_hierarchy_from_events.clone(),
        }
    }

    /// The permission and hierarchy check: `Ok((rule, reason))` or `Err((rule, reason))`.
    fn builtin(
        &self,
        req: &Request,
        agent_h: Option<&GroupPath>,
    ) -> Result<(String, String), (String, String)> {
        if !self.enforced() {
            return Ok((
                "access control off".to_string(),
                "the configuration defines no users, so every report may run".to_string(),
            ));
        }
        let Some(login) = &req.requester else {
            return Err((
                self.access_control_on(),
                "access control is on (users are configured): name the requester with `--as LOGIN` (report, authorize) or `requester = \"LOGIN\"` in the batch file (run, watch)".to_string(),
            ));
        };
        let Some(user) = self.user(login) else {
            return Err((
                self.access_control_on(),
                format!("`{login}` is not a user in the configuration"),
            ));
        };
        let granting: Vec<&Profile> = user
            .profiles
            .iter()
            .filter_map(|p| self.profile(p))
            .filter(|p| {
                permissions::effective(p.permissions.iter().copied())
                    .contains(&Permission::AGENT_ACTIVITY_AUDIT)
            })
            .collect();
        if granting.is_empty() {
            let held = self.effective_permissions(user);
            let held = if held.is_empty() {
                "none".to_string()
            } else {
                held.iter()
                    .map(|p| p.console_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let profiles: Vec<String> = user
                .profiles
                .iter()
                .filter_map(|p| self.profile(p))
                .map(Profile::at)
                .collect();
            let rule = if profiles.is_empty() {
                format!("{}:{} (user {login}, no profile)", user.origin, user.line)
            } else {
                profiles.join(", ")
            };
            return Err((
                rule,
                format!(
                    "`{login}` holds neither Agent activity audit - Access nor Access metrics - Access in any profile (holds: {held})"
                ),
            ));
        }
        for p in &granting {
            match &p.scope {
                None => {
                    return Ok((
                        format!("{}{NO_RESTRICTION}", p.at()),
                        format!(
                            "`{login}` may audit any agent through profile {} (no hierarchy restriction)",
                            p.name
                        ),
                    ));
                }
                Some(scope) if scope.admits(user.hierarchy.as_ref(), agent_h) => {
                    let agent_at = agent_h.map(ToString::to_string).unwrap_or_default();
                    return Ok((
                        profile_and_scope(p),
                        format!(
                            "`{}` ({agent_at}) is within `{login}`'s access through profile {} ({scope})",
                            req.agent, p.name
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let scopes: Vec<String> = granting
            .iter()
            .filter_map(|p| p.scope.as_ref().map(|s| format!("profile {}: {s}", p.name)))
            .collect();
        let agent_at = match agent_h {
            Some(h) => format!("is in {h}"),
            None => "has no known hierarchy (not in the users file, and no hierarchy in the events read)".to_string(),
        };
        let by_arn = granting
            .iter()
            .any(|p| matches!(p.scope, Some(Scope::Arn(_))));
        let arns_unknown = agent_h.is_some_and(|h| h.0.iter().any(|l| l.arn.is_none()));
        let agent_at = if by_arn && arns_unknown {
            format!(
                "{agent_at} (groups known by name only: the users file gives no ARNs and no events of `{}` gave them, so a profile scoped by group ARN cannot match; scope it by the group's name path)",
                req.agent
            )
        } else {
            agent_at
        };
        let mine = match &user.hierarchy {
            Some(h) => format!("`{login}` is in {h}"),
            None => format!("`{login}` has no hierarchy in the users file"),
        };
        let rule = granting
            .iter()
            .map(|p| profile_and_scope(p))
            .collect::<Vec<_>>()
            .join("; ");
        Err((
            rule,
            format!(
                "`{}` {agent_at}, outside `{login}`'s access ({}); {mine}",
                req.agent,
                scopes.join("; ")
            ),
        ))
    }

    /// The rule that makes a requester necessary: access control is on because users are
    /// defined, the first of them at this place.
    fn access_control_on(&self) -> String {
        let first = self.users.first().and_then(|first| {
            self.users
                .iter()
                .filter(|u| u.origin == first.origin)
                .min_by_key(|u| u.line)
        });
        match first {
            Some(u) => format!(
                "{}:{} (access control is on: the first user, {}, is defined here)",
                u.origin, u.line, u.login
            ),
            None => "access control on".to_string(),
        }
    }

    /// The requester's permissions after implication, across all their profiles.
    pub fn effective_permissions(&self, user: &User) -> Vec<Permission> {
        permissions::effective(
            user.profiles
                .iter()
                .filter_map(|p| self.profile(p))
                .flat_map(|p| p.permissions.iter().copied()),
        )
    }

    /// Asks every policy; returns the forbids as (file:line, reason), sorted by file.
    fn ask_policies(&self, req: &Request, agent_h: Option<&GroupPath>) -> Vec<(String, String)> {
        if self.policies.scripts().is_empty() {
            return Vec::new();
        }
        let user = req.requester.as_deref().and_then(|l| self.user(l));
        let profiles: Vec<&str> = user
            .map(|u| u.profiles.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let perms: Vec<&'static str> = user
            .map(|u| {
                self.effective_permissions(u)
                    .into_iter()
                    .map(Permission::api_name)
                    .collect()
            })
            .unwrap_or_default();
        let requester_h: Vec<String> = user
            .and_then(|u| u.hierarchy.as_ref())
            .map(GroupPath::names)
            .unwrap_or_default();
        let agent_names: Vec<String> = agent_h.map(GroupPath::names).unwrap_or_default();
        // Logins compare by their key (`crate::login`); `login` stays as written.
        let requester_key = req.requester.as_deref().map(crate::login::key);
        let agent_key = crate::login::key(&req.agent);
        let date = req.date.format("%Y-%m-%d").to_string();
        let today = req.today.format("%Y-%m-%d").to_string();
        let days_ago = (req.today - req.date).num_days();
        fn opt(s: Option<&str>) -> Tree<'_> {
            s.map(Tree::Str).unwrap_or(Tree::Nothing)
        }
        fn list(v: &[String]) -> Tree<'_> {
            Tree::List(v.iter().map(|s| Tree::Str(s.as_str())).collect())
        }
        let tree = Tree::Map(vec![
            ("action", Tree::Str(ACTION)),
            (
                "requester",
                Tree::Map(vec![
                    ("login", opt(req.requester.as_deref())),
                    ("login_key", opt(requester_key.as_deref())),
                    (
                        "profiles",
                        Tree::List(profiles.iter().map(|p| Tree::Str(p)).collect()),
                    ),
                    (
                        "permissions",
                        Tree::List(perms.iter().map(|p| Tree::Str(p)).collect()),
                    ),
                    ("hierarchy", list(&requester_h)),
                ]),
            ),
            (
                "agent",
                Tree::Map(vec![
                    ("login", Tree::Str(&req.agent)),
                    ("login_key", Tree::Str(&agent_key)),
                    ("hierarchy", list(&agent_names)),
                ]),
            ),
            ("date", Tree::Str(&date)),
            ("timezone", Tree::Str(req.timezone.name())),
            ("today", Tree::Str(&today)),
            ("days_ago", Tree::Int(days_ago)),
        ]);
        let scripts = self.policies.scripts();
        let results = self.policies.authorize(&tree);
        let mut forbids: Vec<(String, String)> = Vec::new();
        for (script, result) in scripts.iter().zip(results) {
            // The `return` that forbade; for a failure, where the policy failed.
            let line = match &result {
                Ok((_, line)) => *line,
                Err(e) => e.line,
            };
            let at = format!("{}:{line}", script.file);
            if let Opinion::Forbid { reason } = opinion(result.map(|(value, _)| value)) {
                forbids.push((at, reason));
            }
        }
        forbids.sort();
        forbids
    }
}

/// `FILE:LINE (profile NAME), FILE:LINE (hierarchy "own")`.
fn profile_and_scope(p: &Profile) -> String {
    match p.scope_at() {
        Some(scope) => format!("{}, {scope}", p.at()),
        None => p.at(),
    }
}

/// What a policy's result means. Anything but permit, forbid or nothing forbids.
fn opinion(result: Result<serde_json::Value, ScriptError>) -> Opinion {
    use serde_json::Value;
    let value = match result {
        Ok(v) => v,
        Err(e) => {
            return Opinion::Forbid {
                reason: format!("the policy failed, which forbids (fail closed): {e}"),
            };
        }
    };
    let invalid = |what: &str| Opinion::Forbid {
        reason: format!(
            "the policy returned {what}, which forbids (fail closed): expected \"permit\", \"forbid\", {{decision, reason}} or nothing"
        ),
    };
    let (decision, reason) = match &value {
        Value::Null => return Opinion::None,
        Value::String(s) => (s.as_str(), None),
        Value::Object(m) => {
            let reason = match m.get("reason") {
                None | Some(Value::Null) => None,
                // A policy's words go into messages and the decision log: capped.
                Some(Value::String(r)) => {
                    Some(crate::script::cap_text(r, crate::script::MAX_MESSAGE).into_owned())
                }
                Some(_) => return invalid("a reason that is not a string"),
            };
            match m.get("decision") {
                Some(Value::String(d)) => (d.as_str(), reason),
                _ => return invalid("a map without a `decision` string"),
            }
        }
        other => return invalid(crate::script::json_kind(other)),
    };
    match decision {
        "permit" => Opinion::Permit,
        "forbid" => Opinion::Forbid {
            reason: reason.unwrap_or_else(|| "forbidden by policy".to_string()),
        },
        other => invalid(&format!(
            "the decision `{}`",
            crate::script::cap_text(other, crate::script::MAX_QUOTED)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_but_permit_forbid_or_nothing_forbids() {
        use serde_json::json;
        assert_eq!(opinion(Ok(json!(null))), Opinion::None);
        assert_eq!(opinion(Ok(json!("permit"))), Opinion::Permit);
        assert!(matches!(
            opinion(Ok(json!("forbid"))),
            Opinion::Forbid { .. }
        ));
        assert_eq!(
            opinion(Ok(json!({"decision": "forbid", "reason": "no"}))),
            Opinion::Forbid {
                reason: "no".into()
            }
        );
        for garbage in [
            json!(42),
            json!("maybe"),
            json!([1]),
            json!({"reason": "x"}),
            json!(true),
        ] {
            assert!(matches!(opinion(Ok(garbage)), Opinion::Forbid { .. }));
        }
    }
}
