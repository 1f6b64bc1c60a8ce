//! Who is asking: a bearer JWT verified against the issuer's keys (SPEC §11).
//!
//! The keys come from the issuer's discovery document (`jwks_uri`), are cached, and are
//! fetched again once when a token names a key id the cache does not hold (a rotation),
//! at most every [`REFETCH_AFTER`]. A token is accepted only when signed with an
//! asymmetric algorithm (RS/PS/ES/EdDSA: never `none`, never HMAC, whose "key" would be
//! the public one), by a key of that algorithm's family, with the configured `iss`, one
//! of the configured audiences, an `exp` in the future and an `nbf` in the past (60 s of
//! leeway), and a non-empty login claim. The cryptography is jsonwebtoken's.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::config::Oidc;

/// The least time between two fetches of the keys for unknown key ids.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);

const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// An authenticated requester.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The value of the login claim: the `users.toml` login.
    pub login: String,
    pub iss: String,
    pub sub: String,
}

/// Verifies bearer tokens of one issuer.
pub struct Verifier {
    oidc: Oidc,
    jwks_uri: String,
    /// Where the browser login sends the browser, and where it exchanges the code.
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub client: reqwest::Client,
    keys: RwLock<(Instant, JwkSet)>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

impl Verifier {
    /// Reads the issuer's discovery document and its keys. Any failure is an error: an
    /// identity that cannot be verified is no identity.
    pub async fn discover(oidc: &Oidc) -> Result<Verifier, String> {
        super::tls::install_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let url = format!("{}/.well-known/openid-configuration", oidc.issuer);
        let discovery: Discovery = get_json(&client, &url).await?;
        if discovery.issuer.trim_end_matches('/') != oidc.issuer {
            return Err(format!(
                "{url} names the issuer `{}`, not `{}` as `[oidc] issuer` says",
                discovery.issuer, oidc.issuer
            ));
        }
        let keys: JwkSet = get_json(&client, &discovery.jwks_uri).await?;
        Ok(Verifier {
            oidc: oidc.clone(),
            jwks_uri: discovery.jwks_uri,
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            client,
            keys: RwLock::new((Instant::now(), keys)),
        })
    }

    /// The identity a bearer token vouches for, or why it does not.
    pub async fn verify(&self, token: &str) -> Result<Identity, String> {
        self.verify_for(token, &self.oidc.audiences, None).await
    }

    /// The identity an ID token of the browser login vouches for: issued to `client_id`
    /// and carrying the `nonce` this login sent.
    pub async fn verify_id_token(
        &self,
        token: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<Identity, String> {
        self.verify_for(token, &[client_id.to_string()], Some(nonce))
            .await
    }

    async fn verify_for(
        &self,
        token: &str,
        audiences: &[String],
        nonce: Option<&str>,
    ) -> Result<Identity, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("not a signed JWT: {e}"))?;
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(format!(
                "a token signed with {:?} is refused: only RS, PS, ES and EdDSA signatures are accepted",
                header.alg
            ));
        }
        let jwk = match self.key(header.kid.as_deref(), header.alg) {
            Some(jwk) => jwk,
            None => {
                self.refetch().await;
                self.key(header.kid.as_deref(), header.alg)
                    .ok_or_else(|| "the token's key is not among the issuer's keys".to_string())?
            }
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("the issuer's key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.oidc.issuer]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| format!("the token is not valid: {e}"))?;
        let claims = data.claims;
        if let Some(nonce) = nonce
            && claims.get("nonce").and_then(|v| v.as_str()) != Some(nonce)
        {
            return Err("the ID token does not carry this login's nonce".to_string());
        }
        let login = claims
            .get(&self.oidc.login_claim)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "the token carries no `{}` claim, so it names no login",
                    self.oidc.login_claim
                )
            })?;
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        Ok(Identity {
            login: login.to_string(),
            iss: text("iss"),
            sub: text("sub"),
        })
    }

    /// The cached key for `kid` (or the only key, when the token names none) whose
    /// family signs with `alg`. HMAC (`oct`) keys are never used.
    fn key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let usable: Vec<&Jwk> = keys
            .1
            .keys
            .iter()
            .filter(|k| family_signs(&k.algorithm, alg))
            .collect();
        match kid {
            Some(kid) => usable
                .into_iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
                .cloned(),
            None if usable.len() == 1 => usable.first().map(|k| (*k).clone()),
            None => None,
        }
    }

    /// Fetches the keys again, unless that was done less than [`REFETCH_AFTER`] ago; a
    /// failed fetch keeps the keys held.
    async fn refetch(&self) {
        {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            if keys.0.elapsed() < REFETCH_AFTER {
                return;
            }
        }
        match get_json::<JwkSet>(&self.client, &self.jwks_uri).await {
            Ok(fresh) => {
                let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
                *keys = (Instant::now(), fresh);
            }
            Err(e) => eprintln!("serve: cannot fetch the issuer's keys again: {e}"),
        }
    }
}

/// Whether a key of these parameters signs with `alg`.
fn family_signs(params: &AlgorithmParameters, alg: Algorithm) -> bool {
    use Algorithm as A;
    match params {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, A::ES256 | A::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == A::EdDSA,
        _ => false,
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{url} is not what was expected: {e}"))
}
