//! How logins are compared: one rule for the whole product.
//!
//! Amazon Connect treats a user name as one person whatever its letter case (`JDoe` and
//! `jdoe` cannot both exist in an instance), and a requester types a login as they
//! remember it. So a login's identity is its [`key`]: the login in lower case. Agents in
//! the events, users in the users files, `--as`, a batch's `requester`, the login of a
//! signed-in person and the logins a policy compares (`req.requester.login_key`,
//! `req.agent.login_key`) all go by it; a login is still shown as it was written.

/// The identity of a login: compared, never shown.
pub fn key(login: &str) -> String {
    login.to_lowercase()
}

/// Whether two logins name the same person.
pub fn same(a: &str, b: &str) -> bool {
    a == b || key(a) == key(b)
}
