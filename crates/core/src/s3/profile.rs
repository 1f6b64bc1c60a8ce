//! The AWS shared configuration files (`~/.aws/credentials`, `~/.aws/config`), read the way
//! the AWS CLI reads them: the profile named by `AWS_PROFILE` (else `default`), its static
//! keys, its region and its `endpoint_url`. Profiles that delegate (`role_arn`, `sso_*`,
//! `credential_process`) are not followed; the environment, web identity, container and
//! instance credentials cover those deployments.

use std::path::PathBuf;

/// Static keys from a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// What the selected profile says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub credentials: Option<Keys>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Profile {
    /// The selected profile, if either file names it.
    pub fn load() -> Option<Profile> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let name = env("AWS_PROFILE")
            .or_else(|| env("AWS_DEFAULT_PROFILE"))
            .unwrap_or_else(|| "default".to_string());
        let home = env("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let read = |path: Option<PathBuf>| path.and_then(|p| std::fs::read_to_string(p).ok());
        let credentials = read(file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
        let config = read(file("AWS_CONFIG_FILE", "config"));
        let from_credentials = credentials
            .as_deref()
            .map(|t| section(t, &name))
            .unwrap_or_default();
        // In `config`, profiles other than `default` are headed `[profile NAME]`.
        let config_header = if name == "default" {
            name.clone()
        } else {
            format!("profile {name}")
        };
        let from_config = config
            .as_deref()
            .map(|t| section(t, &config_header))
            .unwrap_or_default();
        if from_credentials.is_empty() && from_config.is_empty() {
            return None;
        }
        let get = |key: &str| {
            from_credentials
                .iter()
                .chain(&from_config)
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let credentials = match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Keys {
                access_key_id,
                secret_access_key,
                session_token: get("aws_session_token"),
            }),
            _ => None,
        };
        Some(Profile {
            credentials,
            region: get("region"),
            endpoint_url: get("endpoint_url"),
        })
    }
}

/// The `key = value` pairs of section `[name]` of an INI text.
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.split_whitespace().collect::<Vec<_>>().join(" ") == name;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn a_section_is_found_by_its_header_and_ends_at_the_next() {
        let text = "[default]\naws_access_key_id = A\n\n[profile  ci]\nregion=eu-west-1\n# x\n[other]\nregion = us-east-2\n";
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(section(text, "default"), [pair("aws_access_key_id", "A")]);
        assert_eq!(section(text, "profile ci"), [pair("region", "eu-west-1")]);
        assert!(section(text, "missing").is_empty());
    }
}
