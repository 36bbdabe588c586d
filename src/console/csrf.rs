//! Synchronizer tokens: a form's token is an HMAC of what it is bound to (the console session, or before
//! sign-in a random cookie), so it needs no storage, cannot be guessed, and dies with its session.

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Config;

/// Cookie holding the random binding of the sign-in and sign-up forms.
pub const ANON_COOKIE: &str = "er_csrf";

/// The token for `binding` (`session:<id>` or `anon:<cookie value>`).
pub fn token(config: &Config, binding: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(config.jwt_secret.expose_secret().as_bytes()) else {
        return String::new();
    };
    mac.update(b"console-csrf\0");
    mac.update(binding.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Constant-time check of a submitted token; an empty one never matches.
pub fn verify(config: &Config, binding: &str, given: &str) -> bool {
    let expected = token(config, binding);
    !given.is_empty() && !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}
