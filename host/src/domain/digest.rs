//! The identity of a plugin version: the SHA-256 of its bytes. Orders record it, the API
//! shows it, the stores key versions by it; its text form is `sha256:<64 hex digits>`,
//! parsed once where it enters (a request, a stored document) and never handled as a string
//! inside.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// The SHA-256 of a component's bytes: the identity of a plugin version.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// `sha256:<64 hex digits>`, as recorded in orders and shown by the API.
    pub fn full(&self) -> String {
        format!("sha256:{}", self.hex())
    }

    /// Reads `sha256:<64 hex digits>` (or the 64 digits alone), as [`Digest::full`] prints it.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text).as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Digest(bytes))
    }

    /// The first 12 hex digits, as shown in logs.
    pub fn short(&self) -> String {
        self.hex()[..12].to_owned()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.short())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> Self {
        d.full()
    }
}

impl std::str::FromStr for Digest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Digest::parse(text)
            .ok_or_else(|| format!("`{text}` is not a digest: sha256:<64 hex digits>"))
    }
}

impl TryFrom<String> for Digest {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl utoipa::PartialSchema for Digest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^sha256:[0-9a-f]{64}$"))
            .examples([serde_json::json!(
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            )])
            .into()
    }
}

impl utoipa::ToSchema for Digest {}

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn digests_print_as_standard_sha256_hex() {
        let abc = Digest::of(b"abc");
        assert_eq!(
            abc.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(abc.full(), format!("sha256:{}", abc.hex()));
        assert_eq!(abc.to_string(), "sha256:ba7816bf8f01");
        assert_eq!(Digest::parse(&abc.full()), Some(abc.clone()));
        assert_eq!(Digest::parse(&abc.hex()), Some(abc.clone()));
        assert_eq!(Digest::parse("sha256:ba7816bf"), None);
        assert_eq!(Digest::parse(&abc.full().replace('b', "g")), None);
    }
}
