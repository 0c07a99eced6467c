//! Signing keys published by the token issuer as a JWKS document (RFC 7517), e.g. the user
//! service's `/.well-known/jwks.json`. Keys are looked up by the token's `kid`; an unknown
//! `kid` (the issuer rotated its keys) refetches the set, at most once per `min_refresh`, so a
//! stream of forged `kid`s cannot turn into a stream of requests to the issuer.

use super::claims::TokenRules;
use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A verification key and how its tokens are checked: the one algorithm it may verify
/// (pinned: no algorithm confusion) and the [`TokenRules`].
pub struct VerifyingKey {
    pub key: DecodingKey,
    pub validation: Validation,
}

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("fetching {url}: {detail}")]
    Fetch { url: String, detail: String },
}

pub struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: ArcSwap<HashMap<String, Arc<VerifyingKey>>>,
    /// When the set was last fetched; the lock also makes concurrent misses share one fetch.
    fetched: tokio::sync::Mutex<Option<Instant>>,
    min_refresh: Duration,
    rules: TokenRules,
}

impl Jwks {
    /// A key set fetched from `url` on first use (and whenever a token names an unknown key),
    /// its keys checking tokens by `rules`.
    pub fn new(
        url: &str,
        timeout: Duration,
        min_refresh: Duration,
        rules: &TokenRules,
    ) -> anyhow::Result<Self> {
        Ok(Jwks {
            url: url.to_owned(),
            client: reqwest::Client::builder().timeout(timeout).build()?,
            keys: ArcSwap::from_pointee(HashMap::new()),
            fetched: tokio::sync::Mutex::new(None),
            min_refresh,
            rules: rules.clone(),
        })
    }

    /// The key a token's `kid` names. `Ok(None)`: the issuer does not publish it.
    pub async fn key(&self, kid: &str) -> Result<Option<Arc<VerifyingKey>>, JwksError> {
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Some(key.clone()));
        }
        let mut fetched = self.fetched.lock().await;
        // Someone else may have fetched while this request waited for the lock.
        if let Some(key) = self.keys.load().get(kid) {
            return Ok(Some(key.clone()));
        }
        if fetched.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return Ok(None);
        }
        let set = self.fetch().await?;
        *fetched = Some(Instant::now());
        self.keys.store(Arc::new(set));
        Ok(self.keys.load().get(kid).cloned())
    }

    /// Fetches the set now; at start-up this tells the operator early that the URL is wrong.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let mut fetched = self.fetched.lock().await;
        let set = self.fetch().await?;
        let count = set.len();
        *fetched = Some(Instant::now());
        self.keys.store(Arc::new(set));
        Ok(count)
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<VerifyingKey>>, JwksError> {
        let failed = |detail: String| JwksError::Fetch {
            url: self.url.clone(),
            detail,
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| failed(e.to_string()))?;
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))?;
        Ok(verifying_keys(&set, &self.rules))
    }
}

/// The signature keys of a set, by `kid`. Keys without a `kid`, for encryption, symmetric
/// (a published HMAC secret would let anyone sign) or of an unsupported kind are skipped.
fn verifying_keys(set: &JwkSet, rules: &TokenRules) -> HashMap<String, Arc<VerifyingKey>> {
    set.keys
        .iter()
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::OctetKey(_), _) => return None,
                (_, Some(declared)) => Algorithm::try_from(declared).ok()?,
                (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None) => match ec.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => return None,
                },
                (AlgorithmParameters::OctetKeyPair(_), None) => Algorithm::EdDSA,
                _ => return None,
            };
            if algorithm_is_symmetric(algorithm) {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((
                kid,
                Arc::new(VerifyingKey {
                    key,
                    validation: rules.validation(algorithm),
                }),
            ))
        })
        .collect()
}

fn algorithm_is_symmetric(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{ApiError, Auth};
    use jsonwebtoken::{EncodingKey, Header};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

    /// An issuer publishing whatever `published` holds, counting the fetches.
    struct Issuer {
        url: String,
        published: Arc<Mutex<String>>,
        fetches: Arc<AtomicUsize>,
    }

    async fn issuer(initial: &str) -> Issuer {
        let published = Arc::new(Mutex::new(initial.to_owned()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (body, count) = (published.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let body = body.lock().unwrap().clone();
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Issuer {
            url,
            published,
            fetches,
        }
    }

    fn published_set() -> String {
        std::fs::read_to_string(format!("{KEYS}/test-rs256.jwks.json")).unwrap()
    }

    fn token(kid: Option<&str>) -> String {
        signed(
            kid,
            &serde_json::json!({"sub": "u1", "exp": chrono::Utc::now().timestamp() + 600}),
        )
    }

    /// `claims` signed with the published key's private half, naming the key `kid`.
    fn signed(kid: Option<&str>, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        let private = std::fs::read(format!("{KEYS}/test-rs256.pem")).unwrap();
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap()
    }

    fn auth(issuer: &Issuer, min_refresh: Duration) -> Auth {
        Auth::jwks(
            Jwks::new(
                &issuer.url,
                Duration::from_secs(2),
                min_refresh,
                &TokenRules::default(),
            )
            .unwrap(),
        )
    }

    #[tokio::test]
    async fn tokens_are_checked_against_the_key_their_kid_names() {
        let issuer = issuer(&published_set()).await;
        let auth = auth(&issuer, Duration::from_secs(60));
        let caller = auth.caller(&token(Some("test-rs256"))).await.unwrap();
        assert_eq!(caller.user_id, "u1");
        for refused in [token(None), token(Some("someone-elses-key"))] {
            assert!(matches!(
                auth.caller(&refused).await,
                Err(ApiError::Unauthorized(_))
            ));
        }
        // An HS256 token "signed" with the published modulus is not an RS256 token.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-rs256".into());
        let forged = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"sub": "u1", "exp": chrono::Utc::now().timestamp() + 600}),
            &EncodingKey::from_secret(published_set().as_bytes()),
        )
        .unwrap();
        assert!(auth.caller(&forged).await.is_err());
        // One fetch served all of that: the unknown kid came within the refresh interval.
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn published_keys_check_the_token_rules_they_were_made_with() {
        let issuer = issuer(&published_set()).await;
        let rules = TokenRules {
            leeway_secs: 0,
            audience: vec!["orderflow".into()],
            issuer: vec!["https://users.example".into()],
        };
        let auth = Auth::jwks(
            Jwks::new(&issuer.url, Duration::from_secs(2), Duration::ZERO, &rules).unwrap(),
        );
        let now = chrono::Utc::now().timestamp();
        let with = |extra: serde_json::Value| {
            let mut claims = serde_json::json!({"sub": "u1", "exp": now + 600,
                "aud": "orderflow", "iss": "https://users.example"});
            claims
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            signed(Some("test-rs256"), &claims)
        };
        assert!(auth.caller(&with(serde_json::json!({}))).await.is_ok());
        for (extra, message) in [
            (
                serde_json::json!({"aud": "billing"}),
                "the token is meant for another audience",
            ),
            (
                serde_json::json!({"iss": "https://elsewhere.example"}),
                "the token is from another issuer",
            ),
            (
                serde_json::json!({"nbf": now + 2}),
                "the token is not valid yet",
            ),
            (
                serde_json::json!({"iat": now + 2}),
                "the token was issued in the future",
            ),
            (serde_json::json!({"sub": ""}), "the token has no subject"),
        ] {
            assert!(
                matches!(auth.caller(&with(extra.clone())).await, Err(ApiError::Unauthorized(m)) if m == message),
                "{extra}"
            );
        }
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_when_a_token_names_it() {
        let issuer = issuer(r#"{"keys": []}"#).await;
        let auth = auth(&issuer, Duration::ZERO);
        assert!(auth.caller(&token(Some("test-rs256"))).await.is_err());
        *issuer.published.lock().unwrap() = published_set();
        assert!(auth.caller(&token(Some("test-rs256"))).await.is_ok());
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn symmetric_and_encryption_keys_are_not_signing_keys() {
        let set = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "shared", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RS256", "n": "sXch", "e": "AQAB"},
        ]});
        let set: JwkSet = serde_json::from_value(set).unwrap();
        assert!(verifying_keys(&set, &TokenRules::default()).is_empty());
        let published: JwkSet = serde_json::from_str(&published_set()).unwrap();
        assert_eq!(
            verifying_keys(&published, &TokenRules::default())["test-rs256"]
                .validation
                .algorithms,
            [Algorithm::RS256]
        );
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_a_503_not_a_401() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", closed.local_addr().unwrap());
        drop(closed);
        let auth = Auth::jwks(
            Jwks::new(
                &url,
                Duration::from_secs(1),
                Duration::ZERO,
                &TokenRules::default(),
            )
            .unwrap(),
        );
        assert!(matches!(
            auth.caller(&token(Some("test-rs256"))).await,
            Err(ApiError::Unavailable {
                code: "token_keys_unavailable",
                ..
            })
        ));
    }
}
