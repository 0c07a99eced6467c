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
        user_id: UserId::parse("u1").unwrap(),
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

/// A signature no key of the service verifies is told apart from an expired or malformed
/// token: a development token minted with another secret is the usual case.
#[tokio::test]
async fn a_token_signed_with_another_key_says_so() {
    let auth = Auth::hs256(SECRET, &TokenRules::default());
    let other = b"the secret of another data directory";
    let unknown = Err("the token is signed with a key this service does not know");
    assert_eq!(
        verdict(&auth, &hs(other, &claims(serde_json::json!({})))).await,
        unknown
    );
    // Even expired: the signature is what is wrong with it first.
    let expired = claims(serde_json::json!({"exp": now() - 600}));
    assert_eq!(verdict(&auth, &hs(other, &expired)).await, unknown);
    assert_eq!(
        verdict(&auth, &hs(SECRET, &expired)).await,
        Err("the token has expired")
    );
    let no_expiry = hs(SECRET, &serde_json::json!({"sub": "u1"}));
    for malformed in ["not.a.token", "abc", &no_expiry] {
        assert_eq!(
            verdict(&auth, malformed).await,
            Err("the token is not valid"),
            "{malformed}"
        );
    }
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
