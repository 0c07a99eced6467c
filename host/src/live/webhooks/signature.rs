//! How a delivery is signed, so that its receiver knows it came from this service and was
//! not replayed later: HMAC-SHA256, keyed with the endpoint's secret, over the delivery's
//! Unix time, a dot, and the body exactly as sent; in the header
//! `Orderflow-Signature: t=<unix seconds>,v1=<64 hex digits>` (the shape Stripe's receivers
//! know). A receiver recomputes it from the raw body and refuses a time too far from its own.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "orderflow-signature";

/// The signature header's value for `body` sent at `unix_seconds`.
pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_hmac_of_the_time_a_dot_and_the_body() {
        // Worked out independently: `printf '1733650000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`.
        assert_eq!(
            sign("whsec_test", 1_733_650_000, br#"{"a":1}"#),
            "t=1733650000,v1=8c1496937603cb810a6c9e115af9f27575fa2e19d30813f139ba17659a1ba171"
        );
    }
}
