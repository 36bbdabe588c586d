//! Stored responses are sealed with AES-256-GCM (`ENCRYPTION_KEY`): a replayed response may carry a
//! secret shown once (a new API key), and that must not sit in the table in clear for 24 hours.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use secrecy::ExposeSecret;

use crate::config::Config;

const NONCE_LEN: usize = 12;

fn cipher(config: &Config) -> anyhow::Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(config.encryption_key.expose_secret())
        .map_err(|_| anyhow::anyhow!("ENCRYPTION_KEY has the wrong length"))
}

/// `nonce || ciphertext+tag`.
pub fn seal(config: &Config, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(config)?
        .encrypt(&Nonce::from(nonce), plain)
        .map_err(|_| anyhow::anyhow!("sealing an idempotent response failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The plain bytes, or an error when the data was altered or sealed with another key.
pub fn open(config: &Config, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or_else(|| anyhow::anyhow!("sealed data too short"))?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into()?;
    cipher(config)?
        .decrypt(&Nonce::from(nonce), body)
        .map_err(|_| anyhow::anyhow!("a stored idempotent response could not be opened"))
}
