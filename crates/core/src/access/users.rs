//! Users, security profiles and decision tests from the policy TOML files (SPEC §7):
//!
//! ```toml
//! [profiles.Supervisor]
//! permissions = ["Access metrics - Access"]
//! hierarchy = "own"                          # or a group: "North America/Site 1", an ARN
//!
//! [users.alice]
//! profiles = ["Supervisor"]
//! hierarchy = ["North America", "Site 1"]    # her group path, top level first
//!
//! [[test]]
//! requester = "alice"
//! agent = "jdoe"
//! agent_hierarchy = ["North America", "Site 1", "Team A"]
//! expect = "allow"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::hierarchy::{GroupPath, Scope};
use super::permissions::Permission;
use crate::diagnostic::{Located, closest, did_you_mean, line_col};

/// A security profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub permissions: Vec<Permission>,
    /// `None`: no access control (unrestricted).
    pub scope: Option<Scope>,
    pub origin: String,
    /// The line of the profile's `[profiles.NAME]` header, and of its `hierarchy`.
    pub line: usize,
    pub scope_line: usize,
}

impl Profile {
    /// `FILE:LINE (profile NAME)`: where a decision through this profile comes from.
    pub fn at(&self) -> String {
        format!("{}:{} (profile {})", self.origin, self.line, self.name)
    }

    /// `FILE:LINE (hierarchy "own")`: where the profile's access control is written.
    pub fn scope_at(&self) -> Option<String> {
        let scope = self.scope.as_ref()?;
        Some(format!(
            "{}:{} (hierarchy \"{}\")",
            self.origin,
            self.scope_line,
            scope.as_written()
        ))
    }
}

/// A user: a requester, or an agent whose hierarchy the file states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub profiles: Vec<String>,
    pub hierarchy: Option<GroupPath>,
    pub origin: String,
    /// The line of the user's `[users.LOGIN]` header.
    pub line: usize,
}

/// A decision test: a request and the expected outcome.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub requester: Option<String>,
    pub agent: String,
    /// The agent's hierarchy as the events would show it (when the users file does not
    /// name the agent).
    #[serde(default)]
    pub agent_hierarchy: Option<Vec<String>>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    /// The current date to assume (default: the date of the request).
    #[serde(default)]
    pub today: Option<String>,
    /// `allow` or `deny`.
    pub expect: String,
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub line: usize,
    #[serde(skip)]
    pub column: usize,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HierarchyValue {
    One(String),
    Path(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileToml {
    permissions: Vec<Spanned<String>>,
    #[serde(default)]
    hierarchy: Option<Spanned<HierarchyValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserToml {
    #[serde(default)]
    profiles: Vec<Spanned<String>>,
    #[serde(default)]
    hierarchy: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFileToml {
    #[serde(default)]
    profiles: BTreeMap<String, Spanned<ProfileToml>>,
    #[serde(default)]
    users: BTreeMap<String, Spanned<UserToml>>,
    #[serde(default)]
    test: Vec<Spanned<PolicyTest>>,
}

/// A user as read from a file, with where it and its profile names stand (the profile
/// names are checked once every file is read).
pub struct UserEntry {
    pub user: User,
    pub at: usize,
    pub profile_refs: Vec<(String, usize)>,
}

/// One parsed policy TOML file.
pub struct PolicyFile {
    pub profiles: Vec<(Profile, usize)>,
    pub users: Vec<UserEntry>,
    pub tests: Vec<PolicyTest>,
}

impl PolicyFile {
    pub fn parse(file: &str, text: &str) -> Result<PolicyFile, Located> {
        let raw: PolicyFileToml =
            toml::from_str(text).map_err(|e| Located::from_toml(file, text, &e))?;
        let mut profiles = Vec::new();
        for (name, spanned) in raw.profiles {
            let at = spanned.span().start;
            let p = spanned.into_inner();
            let mut permissions = Vec::new();
            for perm in &p.permissions {
                // Only Connect's own spellings: a name in another case or with stray spaces
                // is refused with the spelling it stands for, not taken silently.
                let parsed = Permission::parse_exact(perm.get_ref()).ok_or_else(|| {
                    let hint = match Permission::parse(perm.get_ref()) {
                        Some(p) => format!(
                            "; permissions are spelled exactly as Connect spells them: did you mean `{}`?",
                            p.spelling_like(perm.get_ref())
                        ),
                        None => did_you_mean(&closest(perm.get_ref(), Permission::all_names())),
                    };
                    Located::at_offset(
                        file,
                        text,
                        perm.span().start,
                        format!("unknown permission `{}`{hint}", perm.get_ref()),
                    )
                })?;
                permissions.push(parsed);
            }
            let mut scope_line = 0;
            let scope = match p.hierarchy {
                None => None,
                Some(h) => {
                    let start = h.span().start;
                    scope_line = line_col(text, start).0;
                    let scope = match h.into_inner() {
                        HierarchyValue::One(s) if s.trim().is_empty() => {
                            return Err(Located::at_offset(
                                file,
                                text,
                                start,
                                "hierarchy must be \"own\", a group path or an ARN",
                            ));
                        }
                        HierarchyValue::One(s) => match Scope::parse(&s) {
                            Scope::Path(p) if p.0.is_empty() => {
                                return Err(Located::at_offset(
                                    file,
                                    text,
                                    start,
                                    format!(
                                        "hierarchy `{s}` names no group: write \"own\", a group path such as \"North America/Site 1\", or a group ARN"
                                    ),
                                ));
                            }
                            scope => scope,
                        },
                        HierarchyValue::Path(names) if names.is_empty() => {
                            return Err(Located::at_offset(
                                file,
                                text,
                                start,
                                "a hierarchy path needs at least one group",
                            ));
                        }
                        HierarchyValue::Path(names) => Scope::Path(GroupPath::from_names(&names)),
                    };
                    Some(scope)
                }
            };
            profiles.push((
                Profile {
                    name,
                    permissions,
                    scope,
                    origin: file.to_string(),
                    line: line_col(text, at).0,
                    scope_line,
                },
                at,
            ));
        }
        let mut users = Vec::new();
        for (login, spanned) in raw.users {
            let at = spanned.span().start;
            let u = spanned.into_inner();
            let names = u
                .profiles
                .iter()
                .map(|p| (p.get_ref().clone(), p.span().start))
                .collect();
            users.push(UserEntry {
                user: User {
                    login,
                    profiles: u.profiles.into_iter().map(Spanned::into_inner).collect(),
                    hierarchy: (!u.hierarchy.is_empty())
                        .then(|| GroupPath::from_names(&u.hierarchy)),
                    origin: file.to_string(),
                    line: line_col(text, at).0,
                },
                at,
                profile_refs: names,
            });
        }
        let mut tests = Vec::new();
        for (i, t) in raw.test.into_iter().enumerate() {
            let (line, column) = line_col(text, t.span().start);
            let mut t = t.into_inner();
            t.file = file.to_string();
            t.line = line;
            t.column = column;
            t.name.get_or_insert_with(|| format!("test {}", i + 1));
            check_expect(&t).map_err(|m| Located::new(file, line, column, m.to_string()))?;
            tests.push(t);
        }
        Ok(PolicyFile {
            profiles,
            users,
            tests,
        })
    }
}

/// A policy test whose `expect` is neither `allow` nor `deny`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("test expects `{0}`: expected `allow` or `deny`")]
pub struct BadExpect(pub String);

/// `expect` must be `allow` or `deny`.
pub fn check_expect(t: &PolicyTest) -> Result<(), BadExpect> {
    match t.expect.as_str() {
        "allow" | "deny" => Ok(()),
        other => Err(BadExpect(other.to_string())),
    }
}
