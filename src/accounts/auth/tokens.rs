//! Access JWTs (HS256, 15 minutes) and opaque refresh tokens stored only as SHA-256 hashes.

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use reminder_core::ids::UserId;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;

pub const ISSUER: &str = "escalating-reminders";
pub const AUDIENCE: &str = "escalating-reminders-api";
/// Access tokens live 15 minutes.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Refresh tokens (and sessions) live 7 days from their last rotation.
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 3600;

/// Claims of an access token. `typ` keeps a token of another kind from being used as an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

/// Issues an access token for `user` in session `session`.
pub fn issue_access(config: &Config, user: UserId, session: Uuid, now: DateTime<Utc>) -> anyhow::Result<String> {
    let claims = AccessClaims {
        sub: user,
        sid: session,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        typ: "access".to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + ACCESS_TTL_SECS,
    };
    let key = EncodingKey::from_secret(config.jwt_secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)?)
}

/// Verifies signature, algorithm (HS256 only: `alg: none` and others are refused), expiry with 5 s leeway,
/// issuer, audience and `typ`.
pub fn verify_access(config: &Config, token: &str) -> Option<AccessClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let key = DecodingKey::from_secret(config.jwt_secret.expose_secret().as_bytes());
    let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation).ok()?;
    (data.claims.typ == "access").then_some(data.claims)
}

/// A new opaque token: `prefix` + 32 random bytes, base64url.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a token; what the database stores.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
