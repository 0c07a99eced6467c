//! What a token's claims must satisfy besides its signature, shared by every key source
//! ([`super::auth::Auth`]'s fixed keys and [`super::jwks::Jwks`]).

use jsonwebtoken::{Algorithm, Validation};

/// The clock skew allowed by default: enough for servers kept in time by NTP, far less than
/// jsonwebtoken's own default of a minute.
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// What a token's claims must satisfy besides its signature. Every key source (HS256 secret,
/// RS256 key file, JWKS) checks tokens with the [`Validation`] built here, so they cannot
/// disagree.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenRules {
    /// Clock skew allowed between the issuer and this service, in seconds: a token counts
    /// until `exp` plus this, from `nbf` less this, and may be issued (`iat`) this far ahead.
    #[arg(long = "jwt-leeway-secs", env = "JWT_LEEWAY_SECS", default_value_t = DEFAULT_LEEWAY_SECS)]
    pub leeway_secs: u64,
    /// The audiences this service answers to, comma-separated: set, a token's `aud` (a string
    /// or an array) must name one of them; unset, `aud` is not looked at.
    #[arg(long = "jwt-audience", env = "JWT_AUDIENCE", value_delimiter = ',')]
    pub audience: Vec<String>,
    /// The issuers trusted, comma-separated: set, a token's `iss` must be one of them.
    #[arg(long = "jwt-issuer", env = "JWT_ISSUER", value_delimiter = ',')]
    pub issuer: Vec<String>,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules {
            leeway_secs: DEFAULT_LEEWAY_SECS,
            audience: vec![],
            issuer: vec![],
        }
    }
}

impl TokenRules {
    /// The checks for tokens signed by a key of `algorithm`, pinned to it. Besides these,
    /// [`Auth::caller`] refuses an `iat` beyond the skew and an empty `sub`, which
    /// jsonwebtoken does not look at.
    pub(crate) fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        let audience = named(&self.audience);
        if audience.is_empty() {
            // jsonwebtoken refuses every token carrying an `aud` when no audience is set;
            // issuers name their clients there, and without JWT_AUDIENCE none is ours to check.
            validation.validate_aud = false;
        } else {
            validation.set_audience(&audience);
            // Otherwise a token without `aud` would pass: jsonwebtoken checks only what is there.
            validation.required_spec_claims.insert("aud".into());
        }
        let issuer = named(&self.issuer);
        if !issuer.is_empty() {
            validation.set_issuer(&issuer);
            validation.required_spec_claims.insert("iss".into());
        }
        validation
    }
}

/// The names of a comma-separated setting; `JWT_AUDIENCE=` in a compose file means unset.
fn named(values: &[String]) -> Vec<&str> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}
