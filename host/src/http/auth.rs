//! Authentication as extractors: a handler that takes [`AuthUser`] needs a valid bearer
//! token; one that takes [`AdminUser`] needs the admin role. The signature is the rule.

use super::claims::TokenRules;
use super::jwks::{Jwks, VerifyingKey};
use super::{ApiError, AppState};
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
        if claims.sub.trim().is_empty() {
            return Err(ApiError::Unauthorized("the token has no subject"));
        }
        let valid_from = claims.nbf.max(claims.iat).unwrap_or(0);
        let caller = Caller {
            admin: claims.admin(),
            customer: Customer {
                email: claims.email.clone(),
                full_name: claims.name.clone(),
            },
            user_id: claims.sub,
            token: token.to_owned(),
        };
        self.verified.keep(token, &caller, valid_from, claims.exp);
        Ok(caller)
    }
}

/// What a client is told about a token jsonwebtoken refused.
fn refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidAudience => "the token is meant for another audience",
        ErrorKind::InvalidIssuer => "the token is from another issuer",
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => "the token names no audience",
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => "the token names no issuer",
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
mod tests {
    use super::*;

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

    const SECRET: &[u8] = b"0123456789abcdef";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// A valid token's claims, with `extra` put in (a null removes the claim).
    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut c = serde_json::json!({ "sub": "u1", "exp": now() + 600 });
        let fields = c.as_object_mut().unwrap();
        for (name, value) in extra.as_object().unwrap() {
            if value.is_null() {
                fields.remove(name);
            } else {
                fields.insert(name.clone(), value.clone());
            }
        }
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
            token: "valid".into(),
        };
        let now = unix_now();
        verified.keep("expired", &caller, 0, now - 1);
        assert_eq!(verified.get("expired"), None);
        verified.keep("not yet valid", &caller, now + 2, now + 3600);
        assert_eq!(verified.get("not yet valid"), None);
        verified.keep("valid", &caller, now, now + 3600);
        assert_eq!(verified.get("valid"), Some(caller.clone()));
        assert_eq!(verified.get("unknown"), None);
        for i in 0..VERIFIED_TOKENS + 10 {
            verified.keep(&format!("t{i}"), &caller, 0, now + 3600);
        }
        assert!(verified.entries.lock().unwrap().len() <= VERIFIED_TOKENS);
    }

    #[tokio::test]
    async fn admin_claims_in_their_usual_spellings() {
        let auth = Auth::hs256(SECRET, &TokenRules::default());
        for (extra, admin) in [
            (serde_json::json!({}), false),
            (serde_json::json!({"role": "user"}), false),
            (serde_json::json!({"role": "admin"}), true),
            (serde_json::json!({"roles": ["staff", "admin"]}), true),
            (serde_json::json!({"is_admin": true}), true),
        ] {
            let caller = auth
                .caller(&hs(SECRET, &claims(extra.clone())))
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
        let auth = Auth::rs256(&public, &TokenRules::default()).unwrap();
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
        let auth = Auth::hs256(SECRET, &TokenRules::default());
        let expired = hs(
            b"0123456789abcdef",
            &claims(serde_json::json!({"exp": now() - 600})),
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

    /// Ok, or the message a token is refused with.
    async fn verdict(auth: &Auth, token: &str) -> Result<(), &'static str> {
        match auth.caller(token).await {
            Ok(_) => Ok(()),
            Err(ApiError::Unauthorized(message)) => Err(message),
            Err(other) => panic!("{other}"),
        }
    }

    /// Checks what HS256 tokens with each case's claims get from a service with `rules`.
    async fn expect(rules: &TokenRules, cases: &[(serde_json::Value, Result<(), &str>)]) {
        let auth = Auth::hs256(SECRET, rules);
        for (extra, expected) in cases {
            let token = hs(SECRET, &claims(extra.clone()));
            assert_eq!(verdict(&auth, &token).await, *expected, "{extra}");
        }
    }

    fn strict() -> TokenRules {
        TokenRules {
            audience: vec!["orderflow".into()],
            issuer: vec!["https://users.example".into()],
            ..TokenRules::default()
        }
    }

    #[tokio::test]
    async fn nbf_counts_from_the_skew_before_it() {
        let future = Err("the token is not valid yet");
        expect(
            &TokenRules::default(),
            &[
                (serde_json::json!({"nbf": now() - 3600}), Ok(())),
                (serde_json::json!({"nbf": now() + 2}), Ok(())),
                (serde_json::json!({"nbf": now() + 60}), future),
                (serde_json::json!({"nbf": now() + 3600}), future),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn iat_may_be_ahead_by_the_skew_only() {
        let future = Err("the token was issued in the future");
        expect(
            &TokenRules::default(),
            &[
                (serde_json::json!({"iat": now() - 3600}), Ok(())),
                (serde_json::json!({"iat": now() + 2}), Ok(())),
                (serde_json::json!({"iat": now() + 60}), future),
                (serde_json::json!({"iat": now() + 86_400}), future),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn exp_has_the_skew_and_no_more() {
        expect(
            &TokenRules::default(),
            &[
                (serde_json::json!({"exp": now() - 2}), Ok(())),
                (
                    serde_json::json!({"exp": now() - 60}),
                    Err("the token has expired"),
                ),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn the_skew_is_the_configured_one() {
        let none = TokenRules {
            leeway_secs: 0,
            ..TokenRules::default()
        };
        expect(
            &none,
            &[
                (
                    serde_json::json!({"nbf": now() + 2}),
                    Err("the token is not valid yet"),
                ),
                (
                    serde_json::json!({"iat": now() + 2}),
                    Err("the token was issued in the future"),
                ),
                (
                    serde_json::json!({"exp": now() - 2}),
                    Err("the token has expired"),
                ),
            ],
        )
        .await;
        let two_minutes = TokenRules {
            leeway_secs: 120,
            ..TokenRules::default()
        };
        expect(
            &two_minutes,
            &[
                (serde_json::json!({"nbf": now() + 60}), Ok(())),
                (serde_json::json!({"iat": now() + 60}), Ok(())),
                (serde_json::json!({"exp": now() - 60}), Ok(())),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn a_token_needs_a_subject() {
        let none = Err("the token has no subject");
        expect(
            &TokenRules::default(),
            &[
                (serde_json::json!({"sub": ""}), none),
                (serde_json::json!({"sub": "  "}), none),
                (serde_json::json!({"sub": 42}), none),
                (serde_json::json!({"sub": null}), none),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn aud_is_checked_only_when_an_audience_is_set() {
        let unset = [
            (serde_json::json!({"aud": "billing"}), Ok(())),
            (serde_json::json!({"aud": ["billing", "search"]}), Ok(())),
        ];
        expect(&TokenRules::default(), &unset).await;
        // An empty value, as a compose file writes it, is no audience.
        let empty = TokenRules {
            audience: vec![String::new()],
            ..TokenRules::default()
        };
        expect(&empty, &unset).await;
        let other = Err("the token is meant for another audience");
        expect(
            &strict(),
            &[
                (
                    serde_json::json!({"aud": "orderflow", "iss": "https://users.example"}),
                    Ok(()),
                ),
                (
                    serde_json::json!({"aud": ["billing", "orderflow"], "iss": "https://users.example"}),
                    Ok(()),
                ),
                (
                    serde_json::json!({"aud": "billing", "iss": "https://users.example"}),
                    other,
                ),
                (
                    serde_json::json!({"aud": ["billing"], "iss": "https://users.example"}),
                    other,
                ),
                (
                    serde_json::json!({"aud": [], "iss": "https://users.example"}),
                    other,
                ),
                (
                    serde_json::json!({"iss": "https://users.example"}),
                    Err("the token names no audience"),
                ),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn iss_is_checked_only_when_an_issuer_is_set() {
        expect(
            &TokenRules::default(),
            &[(serde_json::json!({"iss": "whoever"}), Ok(()))],
        )
        .await;
        expect(
            &strict(),
            &[
                (
                    serde_json::json!({"aud": "orderflow", "iss": "https://elsewhere.example"}),
                    Err("the token is from another issuer"),
                ),
                (
                    serde_json::json!({"aud": "orderflow"}),
                    Err("the token names no issuer"),
                ),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn rs256_keys_check_the_same_rules() {
        let private = std::fs::read(format!("{KEYS}/test-rs256.pem")).unwrap();
        let public = std::fs::read(format!("{KEYS}/test-rs256.pub.pem")).unwrap();
        let auth = Auth::rs256(&public, &strict()).unwrap();
        let sign = |extra: &serde_json::Value| {
            let mut all = serde_json::json!({"aud": "orderflow", "iss": "https://users.example"});
            all.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            jsonwebtoken::encode(
                &Header::new(Algorithm::RS256),
                &claims(all),
                &EncodingKey::from_rsa_pem(&private).unwrap(),
            )
            .unwrap()
        };
        for (extra, expected) in [
            (serde_json::json!({}), Ok(())),
            (
                serde_json::json!({"nbf": now() + 60}),
                Err("the token is not valid yet"),
            ),
            (
                serde_json::json!({"iat": now() + 60}),
                Err("the token was issued in the future"),
            ),
            (
                serde_json::json!({"sub": ""}),
                Err("the token has no subject"),
            ),
            (
                serde_json::json!({"aud": "billing"}),
                Err("the token is meant for another audience"),
            ),
        ] {
            assert_eq!(verdict(&auth, &sign(&extra)).await, expected, "{extra}");
        }
    }

    #[tokio::test]
    async fn a_token_accepted_thanks_to_the_skew_is_checked_again_next_time() {
        let auth = Auth::hs256(SECRET, &TokenRules::default());
        let early = hs(SECRET, &claims(serde_json::json!({"nbf": now() + 2})));
        assert_eq!(verdict(&auth, &early).await, Ok(()));
        assert_eq!(auth.verified.get(&early), None);
        let valid = hs(SECRET, &claims(serde_json::json!({"iat": now()})));
        assert_eq!(verdict(&auth, &valid).await, Ok(()));
        assert!(auth.verified.get(&valid).is_some());
    }
}
