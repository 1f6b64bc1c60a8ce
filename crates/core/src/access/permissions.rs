//! Security-profile permissions: their three spellings and the one implication rule
//! (`connect-facts.md` §4.1–4.3, SPEC §7).
//!
//! Every permission is accepted under its console name (`Agent activity audit - Access`),
//! its current API name (`AccessMetrics.AgentActivityAudit.Access`) and, where it had one,
//! its 2023 API name (`AgentActivityAudit.Access`). `AccessMetrics` implies Real-time
//! metrics, Historical metrics, Agent activity audit and Dashboards; nothing else implies
//! anything, and nothing implies `AccessMetrics`.

use std::fmt;

/// A permission, by its current API name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission(usize);

/// (current API name, console name, 2023 API name).
const TABLE: &[(&str, &str, Option<&str>)] = &[
    (
        "AccessMetrics",
        "Access metrics - Access",
        Some("AccessMetrics"),
    ),
    (
        "AccessMetrics.RealTimeMetrics.Access",
        "Real-time metrics - Access",
        Some("RealTimeMetrics.Access"),
    ),
    (
        "AccessMetrics.HistoricalMetrics.Access",
        "Historical metrics - Access",
        Some("HistoricalMetrics.Access"),
    ),
    (
        "AccessMetrics.AgentActivityAudit.Access",
        "Agent activity audit - Access",
        Some("AgentActivityAudit.Access"),
    ),
    (
        "AccessMetrics.Dashboards.Access",
        "Dashboards - Access",
        None,
    ),
    (
        "AccessMetrics.DashboardsWithMyData.View",
        "View my own data in dashboards - View",
        None,
    ),
    (
        "AgentTimeCard.View",
        "Login/Logout report - View",
        Some("AgentTimeCard.View"),
    ),
    (
        "MetricsReports.View",
        "Saved reports - View",
        Some("MetricsReports.View"),
    ),
    (
        "MetricsReports.Create",
        "Saved reports - Create",
        Some("MetricsReports.Create"),
    ),
    (
        "MetricsReports.Edit",
        "Saved reports - Edit",
        Some("MetricsReports.Edit"),
    ),
    (
        "MetricsReports.Delete",
        "Saved reports - Delete",
        Some("MetricsReports.Delete"),
    ),
    (
        "MetricsReports.Publish",
        "Saved reports - Publish",
        Some("MetricsReports.Publish"),
    ),
    (
        "ReportSchedules.View",
        "Saved reports - Schedule",
        Some("ReportSchedules.View"),
    ),
    ("ReportsAdmin.View", "Saved reports (admin) - View", None),
    (
        "ReportsAdmin.Delete",
        "Saved reports (admin) - Delete",
        None,
    ),
    (
        "RestrictContactAccessByHierarchy.View",
        "Restrict contact access - View",
        Some("RestrictContactAccessByHierarchy.View"),
    ),
    ("Users.View", "Users - View", Some("Users.View")),
    (
        "Users.EditPermission",
        "Users - Edit permission",
        Some("Users.EditPermission"),
    ),
    (
        "AgentStates.View",
        "Agent status - View",
        Some("AgentStates.View"),
    ),
    (
        "AgentStates.Create",
        "Agent status - Create",
        Some("AgentStates.Create"),
    ),
    (
        "AgentStates.Edit",
        "Agent status - Edit",
        Some("AgentStates.Edit"),
    ),
    (
        "AgentStates.EnableAndDisable",
        "Agent status - Enable/Disable",
        Some("AgentStates.EnableAndDisable"),
    ),
    (
        "AgentGrouping.View",
        "Agent hierarchy - View",
        Some("AgentGrouping.View"),
    ),
    (
        "AgentGrouping.Create",
        "Agent hierarchy - Create",
        Some("AgentGrouping.Create"),
    ),
    (
        "AgentGrouping.Edit",
        "Agent hierarchy - Edit",
        Some("AgentGrouping.Edit"),
    ),
    (
        "AgentGrouping.EnableAndDisable",
        "Agent hierarchy - Enable/Disable",
        Some("AgentGrouping.EnableAndDisable"),
    ),
];

impl Permission {
    pub const ACCESS_METRICS: Permission = Permission(0);
    pub const REAL_TIME_METRICS: Permission = Permission(1);
    pub const HISTORICAL_METRICS: Permission = Permission(2);
    pub const AGENT_ACTIVITY_AUDIT: Permission = Permission(3);
    pub const DASHBOARDS: Permission = Permission(4);

    /// A permission by one of its three spellings, exactly as Connect writes it.
    pub fn parse_exact(name: &str) -> Option<Permission> {
        TABLE
            .iter()
            .position(|(api, console, old)| name == *api || name == *console || Some(name) == *old)
            .map(Permission)
    }

    /// The spelling of this permission closest in form to `written` (console names have
    /// spaces, API names do not), for suggestions.
    pub fn spelling_like(self, written: &str) -> &'static str {
        let (api, console, old) = TABLE[self.0];
        if written.trim().contains(' ') {
            console
        } else if written.contains('.') || old.is_none() {
            api
        } else {
            old.unwrap_or(api)
        }
    }

    /// A permission by any of its three spellings (exact, then ignoring case and spaces).
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::parse_exact(name).or_else(|| {
            let squash = |s: &str| {
                s.chars()
                    .filter(|c| !c.is_whitespace())
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
            };
            let wanted = squash(name);
            TABLE
                .iter()
                .position(|(api, console, old)| {
                    squash(api) == wanted
                        || squash(console) == wanted
                        || old.is_some_and(|o| squash(o) == wanted)
                })
                .map(Permission)
        })
    }

    /// Every accepted spelling, for suggestions.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        TABLE
            .iter()
            .flat_map(|(api, console, old)| [Some(*api), Some(*console), *old])
            .flatten()
    }

    /// The current API name (`AccessMetrics.AgentActivityAudit.Access`).
    pub fn api_name(self) -> &'static str {
        TABLE[self.0].0
    }

    /// The console name (`Agent activity audit - Access`).
    pub fn console_name(self) -> &'static str {
        TABLE[self.0].1
    }

    /// The permissions this one implies, itself included.
    pub fn implied(self) -> Vec<Permission> {
        if self == Permission::ACCESS_METRICS {
            vec![
                Permission::ACCESS_METRICS,
                Permission::REAL_TIME_METRICS,
                Permission::HISTORICAL_METRICS,
                Permission::AGENT_ACTIVITY_AUDIT,
                Permission::DASHBOARDS,
            ]
        } else {
            vec![self]
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.console_name())
    }
}

/// The effective permissions of a set of granted ones, after implication, sorted.
pub fn effective(granted: impl IntoIterator<Item = Permission>) -> Vec<Permission> {
    let mut all: Vec<Permission> = granted.into_iter().flat_map(Permission::implied).collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_spellings_name_the_same_permission() {
        let audit = Some(Permission::AGENT_ACTIVITY_AUDIT);
        assert_eq!(Permission::parse("Agent activity audit - Access"), audit);
        assert_eq!(
            Permission::parse("AccessMetrics.AgentActivityAudit.Access"),
            audit
        );
        assert_eq!(Permission::parse("AgentActivityAudit.Access"), audit);
        assert_eq!(Permission::parse("agent activity audit - access"), audit);
        assert_eq!(Permission::parse("Agent activity audit"), None);
    }

    #[test]
    fn only_access_metrics_implies_anything() {
        let from_umbrella = effective([Permission::ACCESS_METRICS]);
        assert!(from_umbrella.contains(&Permission::AGENT_ACTIVITY_AUDIT));
        assert!(from_umbrella.contains(&Permission::DASHBOARDS));
        let subs = effective([
            Permission::REAL_TIME_METRICS,
            Permission::HISTORICAL_METRICS,
            Permission::AGENT_ACTIVITY_AUDIT,
        ]);
        assert!(!subs.contains(&Permission::ACCESS_METRICS));
        assert_eq!(
            effective([Permission::HISTORICAL_METRICS]),
            [Permission::HISTORICAL_METRICS]
        );
    }
}
