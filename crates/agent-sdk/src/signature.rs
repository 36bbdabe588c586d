//! Standard Webhooks signatures, both ways.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Delivery, Error};

/// How far a request's timestamp may be from the receiver's clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the secret after `whsec_`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| Error::Signature("the secret is not base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| Error::Signature("the secret is empty"))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Verifies our deliveries with your type's secret.
#[derive(Clone)]
pub struct Webhook {
    secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Webhook([REDACTED])")
    }
}

impl Webhook {
    pub fn new(secret: impl Into<String>) -> Self {
        Webhook { secret: secret.into() }
    }

    /// Checks the three headers against `body` (at `now`, Unix seconds) and reads the delivery. During a
    /// secret rotation the signature header may carry several signatures; one matching is enough.
    pub fn verify(&self, id: &str, timestamp: &str, signature: &str, body: &[u8], now: i64) -> Result<Delivery, Error> {
        let timestamp: i64 =
            timestamp.trim().parse().map_err(|_| Error::Signature("webhook-timestamp is not a number"))?;
        if (now - timestamp).abs() > TOLERANCE_SECS {
            return Err(Error::Signature("webhook-timestamp is too far from now"));
        }
        let expected = sign(&self.secret, id, timestamp, body)?;
        let matches = signature.split(' ').any(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(Error::Signature("webhook-signature does not match"));
        }
        Ok(serde_json::from_slice(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature.unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_tampered_old_or_unsigned_delivery_is_refused() {
        let hook = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"type":"reminder.triggered","timestamp":"2026-12-07T10:00:00Z","data":{"deliveryId":"00000000-0000-4000-8000-000000000001","reminderId":null,"title":"t","tier":1}}"#;
        let signed = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m1", 1000, body).unwrap();
        assert!(hook.verify("m1", "1000", &signed, body, 1010).is_ok());
        assert!(hook.verify("m1", "1000", &signed, body, 2000).is_err(), "too old");
        assert!(hook.verify("m2", "1000", &signed, body, 1010).is_err(), "another id");
        assert!(hook.verify("m1", "1000", "v1,AAAA", body, 1010).is_err(), "another signature");
        assert!(hook.verify("m1", "1000", &signed, b"{}", 1010).is_err(), "another body");
    }
}
