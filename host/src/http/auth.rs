//! Authentication as extractors: a handler that takes [`AuthUser`] needs a valid bearer
//! token; one that takes [`AdminUser`] needs the admin role. The signature is the rule.

use super::jwks::{Jwks, VerifyingKey};
use super::{ApiError, AppState};
use crate::orders::{Caller, Customer};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The claims orderflow reads: `sub` is the user id; a `role` of "admin" (or "admin" in
/// `roles`, or `is_admin: true`, as other issuers write it) marks an admin.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Claims {
    fn admin(&self) -> bool {
        self.is_admin
            || self.role.as_deref() == Some("admin")
            || self.roles.iter().any(|r| r == "admin")
    }
}

/// How tokens are checked: HS256 with a shared secret, RS256 with the issuer's public key,
/// or the keys the issuer publishes (JWKS).
pub struct Auth {
    keys: Keys,
    verified: VerifiedTokens,
}

/// Tokens already verified, with the caller each speaks for. Clients send the same token
/// with every request until it expires; checking its signature and parsing its claims
/// again each time was a tenth of a GET's cost. An entry is used only while its token is
/// valid, and for a minute at most, so a key withdrawn from a JWKS stops counting soon.
#[derive(Default)]
struct VerifiedTokens {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Caller, u64)>>,
}

/// Tokens kept at most; when full, expired ones go, and if none has, all of them.
const VERIFIED_TOKENS: usize = 10_000;
/// How long a verification is trusted, at most.
const REVERIFY_AFTER_SECS: u64 = 60;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Caller> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (caller, until) = entries.get(token)?;
        (unix_now() < *until).then(|| caller.clone())
    }

    fn keep(&self, token: &str, caller: &Caller, exp: u64) {
        let now = unix_now();
        let until = exp.min(now + REVERIFY_AFTER_SECS);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= VERIFIED_TOKENS {
            entries.retain(|_, (_, until)| now < *until);
            if entries.len() >= VERIFIED_TOKENS {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), (caller.clone(), until));
    }
}

enum Keys {
    /// One key, one algorithm.
    Fixed(Arc<VerifyingKey>),
    /// The issuer's published set, chosen by the token's `kid`.
    Published(Jwks),
}

impl Auth {
    pub fn hs256(secret: &[u8]) -> Self {
        Self::fixed(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    pub fn rs256(public_key_pem: &[u8]) -> anyhow::Result<Self> {
        Ok(Self::fixed(
            DecodingKey::from_rsa_pem(public_key_pem)?,
            Algorithm::RS256,
        ))
    }

    pub fn jwks(keys: Jwks) -> Self {
        Auth {
            keys: Keys::Published(keys),
            verified: VerifiedTokens::default(),
        }
    }

    fn fixed(key: DecodingKey, algorithm: Algorithm) -> Self {
        Auth {
            keys: Keys::Fixed(Arc::new(VerifyingKey {
                key,
                validation: Validation::new(algorithm),
            })),
            verified: VerifiedTokens::default(),
        }
    }

    /// The key that must have signed `token`.
    async fn key_for(&self, token: &str) -> Result<Arc<VerifyingKey>, ApiError> {
        match &self.keys {
            Keys::Fixed(key) => Ok(key.clone()),
            Keys::Published(jwks) => {
                let kid = jsonwebtoken::decode_header(token)
                    .ok()
                    .and_then(|header| header.kid)
                    .ok_or(ApiError::Unauthorized("the token is not valid"))?;
                jwks.key(&kid)
                    .await
                    .map_err(|e| ApiError::Unavailable {
                        code: "token_keys_unavailable",
                        public: "the token issuer's signing keys cannot be fetched".into(),
                        detail: e.to_string(),
                    })?
                    .ok_or(ApiError::Unauthorized("the token is not valid"))
            }
        }
    }

    /// The caller a bearer token speaks for. Each key verifies exactly one algorithm, so
    /// `alg: none` and algorithm-confusion tokens are refused.
    pub async fn caller(&self, token: &str) -> Result<Caller, ApiError> {
        if let Some(caller) = self.verified.get(token) {
            return Ok(caller);
        }
        let key = self.key_for(token).await?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized("the token has expired"),
                _ => ApiError::Unauthorized("the token is not valid"),
            },
        )?;
        let claims = data.claims;
        let caller = Caller {
            admin: claims.admin(),
            customer: Customer {
                email: claims.email.clone(),
                full_name: claims.name.clone(),
            },
            user_id: claims.sub,
        };
        self.verified.keep(token, &caller, claims.exp);
        Ok(caller)
    }
}

/// Mints an HS256 token, for development (`orderflow token`) and tests.
pub fn mint(secret: &[u8], claims: &Claims) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )?)
}

/// Any authenticated caller.
pub struct AuthUser(pub Caller);

/// An authenticated caller with the admin role.
pub struct AdminUser(pub Caller);

/// The bearer token of a request.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "an Authorization: Bearer <token> header is required",
        ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ))?;
    Ok(token.trim())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .auth
            .caller(bearer(&parts.headers)?)
            .await
            .map(AuthUser)
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser(caller) = AuthUser::from_request_parts(parts, state).await?;
        if caller.admin {
            Ok(AdminUser(caller))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut c = serde_json::json!({ "sub": "u1", "exp": chrono::Utc::now().timestamp() + 600 });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    }

    fn hs(secret: &[u8], claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn verified_tokens_count_only_while_valid_and_stay_bounded() {
        let verified = VerifiedTokens::default();
        let caller = Caller {
            user_id: "u1".into(),
            admin: false,
            customer: Customer::default(),
        };
        verified.keep("expired", &caller, unix_now() - 1);
        assert_eq!(verified.get("expired"), None);
        verified.keep("valid", &caller, unix_now() + 3600);
        assert_eq!(verified.get("valid"), Some(caller.clone()));
        assert_eq!(verified.get("unknown"), None);
        for i in 0..VERIFIED_TOKENS + 10 {
            verified.keep(&format!("t{i}"), &caller, unix_now() + 3600);
        }
        assert!(verified.entries.lock().unwrap().len() <= VERIFIED_TOKENS);
    }

    #[tokio::test]
    async fn admin_claims_in_their_usual_spellings() {
        let auth = Auth::hs256(b"0123456789abcdef");
        for (extra, admin) in [
            (serde_json::json!({}), false),
            (serde_json::json!({"role": "user"}), false),
            (serde_json::json!({"role": "admin"}), true),
            (serde_json::json!({"roles": ["staff", "admin"]}), true),
            (serde_json::json!({"is_admin": true}), true),
        ] {
            let caller = auth
                .caller(&hs(b"0123456789abcdef", &claims(extra.clone())))
                .await
                .unwrap();
            assert_eq!(
                (caller.user_id.as_str(), caller.admin),
                ("u1", admin),
                "{extra}"
            );
        }
    }

    #[tokio::test]
    async fn rs256_tokens_and_algorithm_confusion() {
        let private = std::fs::read(format!("{KEYS}/test-rs256.pem")).unwrap();
        let public = std::fs::read(format!("{KEYS}/test-rs256.pub.pem")).unwrap();
        let auth = Auth::rs256(&public).unwrap();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims(serde_json::json!({"role": "admin"})),
            &EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap();
        assert!(auth.caller(&token).await.unwrap().admin);
        // An HS256 token "signed" with the public key must not pass as RS256.
        assert!(
            auth.caller(&hs(&public, &claims(serde_json::json!({}))))
                .await
                .is_err()
        );
        // Nor one signed by someone else's secret.
        assert!(
            auth.caller(&hs(
                b"another secret entirely",
                &claims(serde_json::json!({}))
            ))
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn expired_and_unsigned_tokens_are_refused() {
        let auth = Auth::hs256(b"0123456789abcdef");
        let expired = hs(
            b"0123456789abcdef",
            &claims(serde_json::json!({"exp": chrono::Utc::now().timestamp() - 600})),
        );
        assert!(matches!(
            auth.caller(&expired).await,
            Err(ApiError::Unauthorized("the token has expired"))
        ));
        assert!(
            auth.caller("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6OTk5OTk5OTk5OX0.")
                .await
                .is_err()
        );
    }
}
