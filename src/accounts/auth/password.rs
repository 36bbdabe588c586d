//! argon2id password hashing (OWASP parameters) on the blocking pool, behind a semaphore so a flood of
//! logins cannot starve other requests of threads.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// At most this many hashes run at once per process (each uses 19 MiB and ~20–50 ms of a core).
const CONCURRENT_HASHES: usize = 4;

fn limiter() -> &'static Semaphore {
    static LIMIT: OnceLock<Semaphore> = OnceLock::new();
    LIMIT.get_or_init(|| Semaphore::new(CONCURRENT_HASHES))
}

fn argon2() -> Argon2<'static> {
    // OWASP: m = 19 456 KiB, t = 2, p = 1. These constants are valid, so `unwrap_or_default` is unreachable.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string.
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = limiter().acquire().await?;
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("password hashing failed: {err}"))
    })
    .await?
}

/// Checks `password` against a stored PHC string. A malformed stored hash verifies as false.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    let _permit = limiter().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        argon2().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(Into::into)
}

/// A hash of a random password, verified against when the email is unknown so that a login for a missing
/// account takes as long as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        argon2().hash_password(uuid::Uuid::new_v4().as_bytes()).map(|h| h.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_owasp_parameters() {
        let stored = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".to_owned(), stored.clone()).await.unwrap());
        assert!(!verify("wrong".to_owned(), stored).await.unwrap());
        assert!(!verify("x".to_owned(), "not a hash".to_owned()).await.unwrap());
    }
}
