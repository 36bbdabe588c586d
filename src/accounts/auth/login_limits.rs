//! Password-guessing limits on `/v1/auth/login`, checked before any hashing.
//!
//! Failures are counted per (account, client network), so a guesser blocks only its own network: the owner
//! signing in from anywhere else gets in at once. Guesses spread over many networks meet a second, per-account
//! count: past it the account admits one attempt per short, growing pause (429 with `Retry-After`) rather than
//! a long lock, so nobody can shut an owner out for long just by knowing their address.

use std::time::Duration;

use crate::http::ApiError;
use crate::state::AppState;

/// Attempts per account from one network before that network gets 429 (the 11th in the window).
const PER_NETWORK: u64 = 10;
/// Attempts per account from all networks before the account slows to one attempt per pause.
const PER_ACCOUNT: u64 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest pause between attempts once an account is slowed.
const MAX_PAUSE_SECS: u64 = 60;

/// Redis keys hold a digest, not the address: Redis is not a place for personal data.
fn account_key(email: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(email.as_bytes());
    hex::encode(&digest[..16])
}

/// The pause after `excess` attempts past [`PER_ACCOUNT`]: 1, 2, 4 … seconds, at most a minute.
fn pause(excess: u64) -> Duration {
    let doubling = 1u64 << excess.saturating_sub(1).min(6);
    Duration::from_secs(doubling.min(MAX_PAUSE_SECS))
}

/// Counts one attempt for `email` from `network` (see `http::client_ip::network_key`). Every attempt counts
/// before the password is looked at, so parallel guesses cannot slip past; a success clears only its own
/// network's count ([`succeeded`]).
pub async fn check(state: &AppState, email: &str, network: &str) -> Result<(), ApiError> {
    let account = account_key(email);
    let limiter = &state.limiter;
    limiter.hit(&state.redis, &format!("rl:login:{account}:{network}"), PER_NETWORK, WINDOW).await.into_result()?;
    let all = limiter.hit(&state.redis, &format!("rl:login-any:{account}"), PER_ACCOUNT, WINDOW).await;
    if all.allowed {
        return Ok(());
    }
    // One attempt per pause: the first hit opens a window of the pause's length, later ones wait it out.
    let slot = pause(all.count - PER_ACCOUNT);
    limiter.hit(&state.redis, &format!("rl:login-slow:{account}"), 1, slot).await.into_result().map(drop)
}

/// Clears the network's failures after a correct password. The account-wide count stays: a guesser must not
/// win back its budget because the owner signed in.
pub async fn succeeded(state: &AppState, email: &str, network: &str) {
    state.limiter.reset(&state.redis, &format!("rl:login:{}:{network}", account_key(email))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_grows_to_a_minute_and_stays_there() {
        let secs: Vec<u64> = (1..=9).map(|excess| pause(excess).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(pause(u64::MAX).as_secs(), 60);
    }
}
