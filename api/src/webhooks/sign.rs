//! Webhook signatures: `LifeFlow-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." +
//! body)>`, the key being the secret's text as returned to the organization.

use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

/// The header naming the delivery (stable per event and endpoint: receivers dedupe on it).
pub const EVENT_ID: &str = "LifeFlow-Event-Id";
/// The header with the send time, in Unix seconds.
pub const TIMESTAMP: &str = "LifeFlow-Timestamp";
/// The header with the signature.
pub const SIGNATURE: &str = "LifeFlow-Signature";

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// The `LifeFlow-Signature` value of a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature("key", 1_700_000_000, br#"{"a":1}"#),
            "v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[test]
    fn secrets_are_fresh_and_long() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 6 + 64);
    }
}
