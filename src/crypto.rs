//! Secrets at rest (AES-256-GCM with the row id as associated data), HMAC helpers, constant-time compare.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// Encrypts `plaintext` bound to `row` (a ciphertext copied to another row does not decrypt).
/// Output: nonce || ciphertext+tag.
pub fn encrypt(key: &[u8; 32], row: Uuid, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: row.as_bytes() })
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts what [`encrypt`] produced for the same `row`.
pub fn decrypt(key: &[u8; 32], row: Uuid, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(sealed.len() > NONCE_LEN, "ciphertext too short");
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into()?;
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: body, aad: row.as_bytes() })
        .map_err(|_| anyhow::anyhow!("decryption failed (wrong key or row)"))
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Bytes of HMAC kept in a [`seal_id`] token: 64 bits, enough against forgery by guessing.
const SEAL_TAG_BYTES: usize = 8;

fn seal_tag(key: &[u8], purpose: &str, id: Uuid) -> Vec<u8> {
    let mut mac = hmac_sha256(&hmac_sha256(key, purpose.as_bytes()), id.as_bytes());
    mac.truncate(SEAL_TAG_BYTES);
    mac
}

/// A token naming `id` for one `purpose`: the id in hex and 64 bits of HMAC, all lower case so it survives
/// mail systems that change the case of addresses and links.
pub fn seal_id(key: &[u8], purpose: &str, id: Uuid) -> String {
    format!("{}{}", id.simple(), hex::encode(seal_tag(key, purpose, id)))
}

/// The id named by a token from [`seal_id`] (without checking it: look the row up, then [`open_id`]).
pub fn sealed_id(token: &str) -> Option<Uuid> {
    let token = token.to_ascii_lowercase();
    (token.len() == 32 + 2 * SEAL_TAG_BYTES && token.is_ascii()).then(|| Uuid::parse_str(&token[..32]).ok())?
}

/// The id a genuine [`seal_id`] token for `purpose` names; None for anything else.
pub fn open_id(key: &[u8], purpose: &str, token: &str) -> Option<Uuid> {
    let id = sealed_id(token)?;
    let given = hex::decode(&token.to_ascii_lowercase()[32..]).ok()?;
    constant_time_eq(&given, &seal_tag(key, purpose, id)).then_some(id)
}

/// A key for one `purpose` (action links, reply addresses, …) derived from the master key, so a token of one
/// kind can never pass as another and no purpose ever uses the master key itself.
pub fn derive_key(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(&hmac_sha256(master, format!("escalating-reminders/{purpose}").as_bytes()));
    key
}

/// Compares secrets without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_bound_to_its_row() {
        let key = [7u8; 32];
        let row = Uuid::new_v4();
        let sealed = encrypt(&key, row, b"whsec_secret").unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"whsec_secret"));
        assert_eq!(decrypt(&key, row, &sealed).unwrap(), b"whsec_secret");
        assert!(decrypt(&key, Uuid::new_v4(), &sealed).is_err(), "moved to another row");
        assert!(decrypt(&[8u8; 32], row, &sealed).is_err(), "another key");
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab")
        );
    }
}
