//! Authentication as extractors: a handler that takes [`AuthUser`] needs a valid bearer
//! token; one that takes [`AdminUser`] needs the admin role. The signature is the rule.

use super::claims::TokenRules;
use super::jwks::{Jwks, VerifyingKey};
use super::{ApiError, AppState};
use crate::domain::UserId;
use crate::orders::{Caller, Customer};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::Arc;

/// The claims orderflow reads: `sub` is the user id; a `role` of "admin" (or "admin" in
/// `roles`, or `is_admin: true`, as other issuers write it) marks an admin. `aud` and `iss`
/// are checked by [`TokenRules`] and not kept.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Read as "" when missing or not a string, so that such a token is refused for having
    /// no subject rather than as malformed.
    #[serde(default, deserialize_with = "subject")]
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
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
    /// A development token's claims (`orderflow token`, the console's sign-in link): `user`,
    /// an admin or a user, valid for `hours` from now.
    pub fn development(user: String, admin: bool, email: Option<String>, hours: u64) -> Claims {
        let now = unix_now();
        Claims {
            sub: user,
            exp: now + hours * 3600,
            iat: Some(now),
            nbf: None,
            role: Some(if admin { "admin" } else { "user" }.to_owned()),
            roles: vec![],
            is_admin: false,
            email,
            name: None,
        }
    }

    fn admin(&self) -> bool {
        self.is_admin
            || self.role.as_deref() == Some("admin")
            || self.roles.iter().any(|r| r == "admin")
    }
}

fn subject<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Subject {
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Subject::deserialize(deserializer)? {
        Subject::Text(sub) => sub,
        Subject::Other(_) => String::new(),
    })
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
/// valid without the skew allowance, and for a minute at most, so a key withdrawn from a
/// JWKS stops counting soon.
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

    /// Remembers the caller of a token valid from `from` (its `nbf` or `iat`, the later)
    /// until `until` (its `exp`). A token valid now only thanks to the skew allowance is not
    /// kept: an entry then never outlives `exp`, nor predates `nbf`, whatever the clock does,
    /// so the cache accepts nothing the full check would refuse.
    fn keep(&self, token: &str, caller: &Caller, from: u64, until: u64) {
        let now = unix_now();
        let until = until.min(now + REVERIFY_AFTER_SECS);
        if from > now || until <= now {
            return;
        }
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
    pub fn hs256(secret: &[u8], rules: &TokenRules) -> Self {
        Self::fixed(DecodingKey::from_secret(secret), Algorithm::HS256, rules)
    }

    pub fn rs256(public_key_pem: &[u8], rules: &TokenRules) -> anyhow::Result<Self> {
        Ok(Self::fixed(
            DecodingKey::from_rsa_pem(public_key_pem)?,
            Algorithm::RS256,
            rules,
        ))
    }

    /// The key set checks its keys' tokens by the rules it was made with ([`Jwks::new`]).
    pub fn jwks(keys: Jwks) -> Self {
        Auth {
            keys: Keys::Published(keys),
            verified: VerifiedTokens::default(),
        }
    }

    fn fixed(key: DecodingKey, algorithm: Algorithm, rules: &TokenRules) -> Self {
        Auth {
            keys: Keys::Fixed(Arc::new(VerifyingKey {
                key,
                validation: rules.validation(algorithm),
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
                    .ok_or(ApiError::Unauthorized(UNKNOWN_KEY))
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
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation)
            .map_err(|e| ApiError::Unauthorized(refusal(e.kind())))?
            .claims;
        // The same skew as jsonwebtoken allows on `exp` and `nbf`.
        if claims
            .iat
            .is_some_and(|iat| iat > unix_now().saturating_add(key.validation.leeway))
        {
            return Err(ApiError::Unauthorized("the token was issued in the future"));
        }
        let Some(user_id) = UserId::parse(claims.sub.clone()) else {
            return Err(ApiError::Unauthorized("the token has no subject"));
        };
        let valid_from = claims.nbf.max(claims.iat).unwrap_or(0);
        let caller = Caller {
            admin: claims.admin(),
            customer: Customer {
                email: claims.email.clone(),
                full_name: claims.name.clone(),
            },
            user_id,
            token: token.to_owned(),
        };
        self.verified.keep(token, &caller, valid_from, claims.exp);
        Ok(caller)
    }
}

/// A token whose signature no key of this service verifies (or that names a key it does
/// not have).
const UNKNOWN_KEY: &str = "the token is signed with a key this service does not know";

/// What a client is told about a token jsonwebtoken refused.
fn refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidAudience => "the token is meant for another audience",
        ErrorKind::InvalidIssuer => "the token is from another issuer",
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => "the token names no audience",
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => "the token names no issuer",
        // Well-formed and of the right algorithm, but someone else's signature: most often a
        // development token minted with another secret than the service's.
        ErrorKind::InvalidSignature => UNKNOWN_KEY,
        _ => "the token is not valid",
    }
}

/// Mints an HS256 token of any claims, for development (`orderflow token`) and tests.
pub fn mint(secret: &[u8], claims: &impl Serialize) -> anyhow::Result<String> {
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
fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
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
mod tests;
