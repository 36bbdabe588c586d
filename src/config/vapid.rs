//! Web Push's VAPID identity (RFC 8292): the P-256 key pair push services check our requests against, and
//! the contact they may write to. Browsers bind each subscription to the public key, so a changed key ends
//! every browser subscription: development generates one with a warning, as it does other secrets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::parse::ConfigError;

#[derive(Debug)]
pub struct VapidConfig {
    /// The private scalar (32 bytes).
    pub private_key: SecretBox<[u8; 32]>,
    /// The uncompressed public point, base64url without padding: the browser's `applicationServerKey` and
    /// the `k=` of every request.
    pub public_key: String,
    /// `mailto:` or `https:` contact for push services (Apple refuses requests without one).
    pub subject: String,
}

/// Reads `VAPID_PRIVATE_KEY`, `VAPID_PUBLIC_KEY` (optional; checked against the private key when given)
/// and `VAPID_SUBJECT` (defaults to `mailto:` and the sender address). Without a private key: a generated
/// pair when `generate`, else None (push is off).
pub(super) fn read(
    private: Option<SecretString>,
    public: Option<String>,
    subject: Option<String>,
    email_from: &str,
    generate: bool,
) -> Result<Option<VapidConfig>, ConfigError> {
    let secret = match private {
        Some(text) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(text.expose_secret().trim().trim_end_matches('='))
                .map_err(|_| ConfigError::new("VAPID_PRIVATE_KEY", "must be base64url"))?;
            p256::SecretKey::from_slice(&bytes)
                .map_err(|_| ConfigError::new("VAPID_PRIVATE_KEY", "must be a 32-byte P-256 private key"))?
        }
        None if public.is_some() => {
            return Err(ConfigError::new("VAPID_PRIVATE_KEY", "is required when VAPID_PUBLIC_KEY is set"));
        }
        None if generate => generated(),
        None => return Ok(None),
    };
    let public_key = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
    if let Some(given) = public
        && given.trim().trim_end_matches('=') != public_key
    {
        return Err(ConfigError::new("VAPID_PUBLIC_KEY", "is not the public key of VAPID_PRIVATE_KEY"));
    }
    let subject = match subject {
        Some(subject) if subject.starts_with("mailto:") || subject.starts_with("https://") => subject,
        Some(_) => return Err(ConfigError::new("VAPID_SUBJECT", "must be a mailto: or https: URL")),
        None => format!("mailto:{}", bare_address(email_from)),
    };
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&secret.to_bytes());
    Ok(Some(VapidConfig { private_key: SecretBox::new(Box::new(scalar)), public_key, subject }))
}

fn generated() -> p256::SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Fails only for zero or a value past the group order: about one draw in 2^32.
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// `reminders@example.com` out of `Escalating Reminders <reminders@example.com>`.
fn bare_address(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => &mailbox[open + 1..close],
        _ => mailbox.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_key_pair_is_checked_and_the_subject_defaults_to_the_sender() {
        let pair = read(None, None, None, "Reminders <r@example.com>", true).unwrap().unwrap();
        let private = SecretString::from(URL_SAFE_NO_PAD.encode(pair.private_key.expose_secret()));
        let again = read(Some(private.clone()), Some(pair.public_key.clone()), None, "x", false).unwrap().unwrap();
        assert_eq!(again.public_key, pair.public_key);
        assert_eq!(pair.subject, "mailto:r@example.com");
        let other = read(None, None, None, "x", true).unwrap().unwrap().public_key;
        let err = read(Some(private.clone()), Some(other), None, "x", false).unwrap_err();
        assert_eq!(err.variable, "VAPID_PUBLIC_KEY");
        let err = read(Some(private), None, Some("admin@example.com".into()), "x", false).unwrap_err();
        assert_eq!(err.variable, "VAPID_SUBJECT");
        assert_eq!(read(Some("short".into()), None, None, "x", false).unwrap_err().variable, "VAPID_PRIVATE_KEY");
        assert!(read(None, None, None, "x", false).unwrap().is_none(), "production without keys: push is off");
    }
}
