//! Issue #12, SPEC §7: access configuration that used to be taken silently in a way that
//! decided differently than it read.

use agent_audit::access::{GroupPath, Level, Request};
use agent_audit::generation::Generation;

use crate::support::*;

fn load(users: &str) -> Result<Generation, Vec<String>> {
    let dir = tempfile::TempDir::new().unwrap();
    let config = one_user_config(dir.path(), &[("more.toml", users)], "");
    Generation::load(Some(&config)).map_err(|e| e.iter().map(ToString::to_string).collect())
}

fn request(agent: &str, from_events: Option<GroupPath>) -> Request {
    Request {
        requester: Some("r".to_string()),
        agent: agent.to_string(),
        agent_hierarchy_from_events: from_events,
        date: date("2026-11-02"),
        timezone: tz("UTC"),
        today: date("2026-11-03"),
    }
}

/// A group path as the events give it: names with ARNs `arn:group/<name>`.
fn from_events(names: &[&str]) -> GroupPath {
    GroupPath(
        names
            .iter()
            .map(|n| Level {
                name: n.to_string(),
                arn: Some(format!("arn:group/{n}")),
            })
            .collect(),
    )
}

#[test]
fn a_group_arn_scope_sees_the_same_group_from_the_users_file_and_from_the_events() {
    let g = load(
        "[profiles.ByArn]\npermissions = [\"AgentActivityAudit.Access\"]\nhierarchy = \"arn:group/Site 2\"\n\
         [users.r]\nprofiles = [\"ByArn\"]\n\
         [users.listed]\nhierarchy = [\"NA\", \"Site 2\"]\n",
    )
    .unwrap();
    // Both agents are in NA / Site 2: one's hierarchy is in the users file (names only),
    // the other's comes from the events. They used to be decided differently.
    let listed = g
        .access
        .decide(&request("listed", Some(from_events(&["NA", "Site 2"]))));
    let unlisted = g
        .access
        .decide(&request("unlisted", Some(from_events(&["NA", "Site 2"]))));
    assert!(listed.allowed, "{listed}");
    assert!(unlisted.allowed, "{unlisted}");
    // With no events to tell the group's ARN, the denial says why.
    let blind = g.access.decide(&request("listed", None));
    assert!(!blind.allowed);
    assert!(
        blind.reason.contains("groups known by name only"),
        "{blind}"
    );
}

#[test]
fn a_hierarchy_of_only_slashes_is_refused() {
    let errors = load("[profiles.Nobody]\npermissions = [\"AccessMetrics\"]\nhierarchy = \"/\"\n")
        .err()
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("more.toml:3:13: hierarchy `/` names no group")),
        "{errors:?}"
    );
}

#[test]
fn a_permission_in_another_case_or_with_spaces_is_refused_with_its_spelling() {
    for (written, suggested) in [
        ("accessmetrics", "AccessMetrics"),
        ("AccessMetrics ", "AccessMetrics"),
        (
            "agent activity audit - access",
            "Agent activity audit - Access",
        ),
    ] {
        let errors = load(&format!(
            "[profiles.Loose]\npermissions = [\"{written}\"]\n"
        ))
        .err()
        .unwrap();
        assert!(
            errors.iter().any(|e| e.contains(&format!(
                "unknown permission `{written}`; permissions are spelled exactly as Connect spells them: did you mean `{suggested}`?"
            ))),
            "{written}: {errors:?}"
        );
    }
}
