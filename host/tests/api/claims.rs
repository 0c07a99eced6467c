//! Which tokens the service takes, claim by claim: the real binary over HTTP, with tokens
//! signed by its shared secret (HS256) and by a key its issuer publishes (RS256 in a JWKS
//! served over a socket by the test's user service), each presented on a user route and on
//! an admin route. Independent of the store, so run on the embedded one only.

use crate::harness::{App, rs256_token_with, token_with, user_service};
use serde_json::{Value, json};

const AUDIENCE: &str = "orderflow";
const ISSUER: &str = "https://users.example";
/// The skew the service allows when JWT_LEEWAY_SECS is unset.
const DEFAULT_LEEWAY: i64 = 5;
/// The skew of the service with an audience and an issuer set, unlike the default.
const STRICT_LEEWAY: i64 = 30;

/// What a service requires of tokens besides its key.
#[derive(Clone, Copy)]
enum Rules {
    /// No JWT_AUDIENCE, JWT_ISSUER nor JWT_LEEWAY_SECS.
    Default,
    /// JWT_AUDIENCE, JWT_ISSUER and JWT_LEEWAY_SECS set.
    Strict,
}

impl Rules {
    fn leeway(self) -> i64 {
        match self {
            Rules::Default => DEFAULT_LEEWAY,
            Rules::Strict => STRICT_LEEWAY,
        }
    }

    fn settings(self) -> Vec<(&'static str, String)> {
        match self {
            Rules::Default => vec![],
            Rules::Strict => vec![
                ("JWT_AUDIENCE", AUDIENCE.into()),
                ("JWT_ISSUER", ISSUER.into()),
                ("JWT_LEEWAY_SECS", STRICT_LEEWAY.to_string()),
            ],
        }
    }

    /// An admin token's claims that pass these rules; `exp`, `nbf` and `iat` are seconds
    /// from when the token is minted.
    fn valid(self) -> Value {
        match self {
            Rules::Default => json!({"sub": "ops", "role": "admin", "exp": 600}),
            Rules::Strict => {
                json!({"sub": "ops", "role": "admin", "exp": 600, "aud": AUDIENCE, "iss": ISSUER})
            }
        }
    }

    /// Each case: its name, the claims it changes in [`Rules::valid`] (null removes one),
    /// and the refusal expected (None: the token is taken).
    fn cases(self) -> Vec<(&'static str, Value, Option<&'static str>)> {
        // Two seconds inside the skew, ten beyond it.
        let (within, beyond) = (self.leeway() - 2, self.leeway() + 10);
        let no_subject = Some("the token has no subject");
        let mut cases = vec![
            ("nbf an hour ago", json!({"nbf": -3600}), None),
            ("nbf ahead within the skew", json!({"nbf": within}), None),
            (
                "nbf ahead beyond the skew",
                json!({"nbf": beyond}),
                Some("the token is not valid yet"),
            ),
            ("iat an hour ago", json!({"iat": -3600}), None),
            ("iat ahead within the skew", json!({"iat": within}), None),
            (
                "iat ahead beyond the skew",
                json!({"iat": beyond}),
                Some("the token was issued in the future"),
            ),
            (
                "exp just past, within the skew",
                json!({"exp": -within}),
                None,
            ),
            (
                "exp past beyond the skew",
                json!({"exp": -beyond}),
                Some("the token has expired"),
            ),
            ("an empty sub", json!({"sub": ""}), no_subject),
            ("a numeric sub", json!({"sub": 42}), no_subject),
            ("no sub", json!({"sub": null}), no_subject),
        ];
        let other_audience = Some("the token is meant for another audience");
        cases.extend(match self {
            Rules::Default => vec![
                ("aud with no audience set", json!({"aud": "billing"}), None),
                (
                    "aud array with no audience set",
                    json!({"aud": ["billing", "search"]}),
                    None,
                ),
                (
                    "iss with no issuer set",
                    json!({"iss": "https://elsewhere.example"}),
                    None,
                ),
            ],
            Rules::Strict => vec![
                (
                    "aud array naming the audience",
                    json!({"aud": ["billing", AUDIENCE]}),
                    None,
                ),
                (
                    "aud another audience",
                    json!({"aud": "billing"}),
                    other_audience,
                ),
                (
                    "aud array without the audience",
                    json!({"aud": ["billing", "search"]}),
                    other_audience,
                ),
                (
                    "no aud",
                    json!({"aud": null}),
                    Some("the token names no audience"),
                ),
                (
                    "iss another issuer",
                    json!({"iss": "https://elsewhere.example"}),
                    Some("the token is from another issuer"),
                ),
                (
                    "no iss",
                    json!({"iss": null}),
                    Some("the token names no issuer"),
                ),
            ],
        });
        cases
    }
}

/// `valid` with `changes` applied, its times made absolute from now.
fn claims(valid: &Value, changes: &Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = valid.as_object().unwrap().clone();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    for time in ["exp", "nbf", "iat"] {
        if let Some(offset) = claims.get(time).and_then(Value::as_i64) {
            claims.insert(time.into(), json!(now + offset));
        }
    }
    Value::Object(claims)
}

/// Runs every case of `rules` against `app`, tokens signed by `sign`.
async fn check(app: &App, rules: Rules, sign: impl Fn(&Value) -> String) {
    for (name, changes, refusal) in rules.cases() {
        // Minted just before use: the cases within the skew have two seconds to spare.
        let token = sign(&claims(&rules.valid(), &changes));
        for path in ["/api/v1/orders/", "/api/v1/orders/admin/stats"] {
            let (status, body) = app.get(path, Some(&token)).await;
            match refusal {
                None => assert_eq!(status, 200, "{name} on {path}: {body}"),
                Some(message) => assert_eq!(
                    (status, body),
                    (
                        401,
                        json!({"error": {"code": "unauthorized", "message": message}})
                    ),
                    "{name} on {path}"
                ),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hs256_tokens_claim_by_claim() {
    for rules in [Rules::Default, Rules::Strict] {
        let app = App::start_with(rules.settings());
        check(&app, rules, token_with).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_tokens_claim_by_claim() {
    let users = user_service(vec![]).await;
    for rules in [Rules::Default, Rules::Strict] {
        let mut settings = rules.settings();
        settings.push(("JWKS_URL", format!("{users}/.well-known/jwks.json")));
        let app = App::start_with(settings);
        check(&app, rules, |claims| rs256_token_with("test-rs256", claims)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_audience_and_issuer_settings_are_unset() {
    let app = App::start_with(vec![
        ("JWT_AUDIENCE", String::new()),
        ("JWT_ISSUER", String::new()),
    ]);
    let token = token_with(&claims(
        &Rules::Default.valid(),
        &json!({"aud": "billing", "iss": "https://elsewhere.example"}),
    ));
    assert_eq!(app.get("/api/v1/orders/", Some(&token)).await.0, 200);
}
