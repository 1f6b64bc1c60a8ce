//! Hierarchy-based access control (`connect-facts.md` §4.5): a profile restricted to the
//! requester's own group, or to a named group, admits agents in that group and every group
//! beneath it, at any depth.

use std::fmt;

/// One level of an agent hierarchy: its group name and, when known, its ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Level {
    pub name: String,
    pub arn: Option<String>,
}

/// A group path, top level first (at most five levels in Connect).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupPath(pub Vec<Level>);

impl GroupPath {
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> GroupPath {
        GroupPath(
            names
                .iter()
                .map(|n| Level {
                    name: n.as_ref().to_string(),
                    arn: None,
                })
                .collect(),
        )
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|l| l.name.clone()).collect()
    }

    /// Whether `self` is `ancestor` or lies beneath it. Levels are compared by ARN when
    /// both sides know it, by name otherwise.
    pub fn is_within(&self, ancestor: &GroupPath) -> bool {
        !ancestor.0.is_empty()
            && ancestor.0.len() <= self.0.len()
            && ancestor
                .0
                .iter()
                .zip(&self.0)
                .all(|(a, b)| match (&a.arn, &b.arn) {
                    (Some(x), Some(y)) => x == y,
                    _ => a.name == b.name,
                })
    }
}

impl fmt::Display for GroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|l| l.name.as_str()).collect();
        f.write_str(&names.join(" / "))
    }
}

/// A profile's hierarchy access control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The requester's own group and everything beneath it.
    Own,
    /// A group given by its name path, and everything beneath it.
    Path(GroupPath),
    /// A group given by its ARN, and everything beneath it.
    Arn(String),
}

impl Scope {
    /// `"own"`, an ARN, or a name path (`"North America/Site 1"`).
    pub fn parse(value: &str) -> Scope {
        if value == "own" {
            Scope::Own
        } else if value.starts_with("arn:") {
            Scope::Arn(value.to_string())
        } else {
            let names: Vec<&str> = value
                .split('/')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            Scope::Path(GroupPath::from_names(&names))
        }
    }

    /// Whether a requester in `requester`'s group may see an agent in `agent`'s group. An
    /// unknown hierarchy on either side admits nothing.
    pub fn admits(&self, requester: Option<&GroupPath>, agent: Option<&GroupPath>) -> bool {
        let Some(agent) = agent else {
            return false;
        };
        match self {
            Scope::Own => requester.is_some_and(|r| agent.is_within(r)),
            Scope::Path(group) => agent.is_within(group),
            Scope::Arn(arn) => agent.0.iter().any(|l| l.arn.as_deref() == Some(arn)),
        }
    }
}

impl Scope {
    /// The scope as a `hierarchy` value of the users file: `own`, a group path, an ARN.
    pub fn as_written(&self) -> String {
        match self {
            Scope::Own => "own".to_string(),
            Scope::Path(p) => p.names().join("/"),
            Scope::Arn(a) => a.clone(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Own => f.write_str("own group and beneath"),
            Scope::Path(p) => write!(f, "group {p} and beneath"),
            Scope::Arn(a) => write!(f, "group {a} and beneath"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> GroupPath {
        GroupPath::from_names(names)
    }

    #[test]
    fn own_admits_the_group_and_every_depth_beneath() {
        let me = path(&["NA", "Site 1"]);
        for agent in [
            path(&["NA", "Site 1"]),
            path(&["NA", "Site 1", "Team A"]),
            path(&["NA", "Site 1", "Team A", "Pod 3", "Shift 2"]),
        ] {
            assert!(Scope::Own.admits(Some(&me), Some(&agent)), "{agent}");
        }
        assert!(!Scope::Own.admits(Some(&me), Some(&path(&["NA", "Site 2"]))));
        assert!(!Scope::Own.admits(Some(&me), Some(&path(&["NA"]))));
        assert!(!Scope::Own.admits(None, Some(&path(&["NA", "Site 1"]))));
        assert!(!Scope::Own.admits(Some(&me), None));
    }

    #[test]
    fn a_named_group_by_path_or_arn() {
        let agent = GroupPath(vec![
            Level {
                name: "NA".into(),
                arn: Some("arn:g/na".into()),
            },
            Level {
                name: "Site 1".into(),
                arn: Some("arn:g/s1".into()),
            },
        ]);
        assert!(Scope::parse("NA/Site 1").admits(None, Some(&agent)));
        assert!(Scope::parse("NA").admits(None, Some(&agent)));
        assert!(!Scope::parse("Site 1").admits(None, Some(&agent)));
        assert!(Scope::parse("arn:g/s1").admits(None, Some(&agent)));
        assert!(!Scope::parse("arn:g/s2").admits(None, Some(&agent)));
    }
}
