//! Fixed-window counters for rate limits, shared by every replica.
//!
//! Counters live in Redis so every replica shares them, one round trip per check (a Lua script does
//! INCR + PTTL + PEXPIRE atomically). When Redis is unset or unreachable an in-process counter takes over:
//! limits then hold per replica instead of globally, which is better than no limit and better than failing.
//!
//! Plain machinery (the application state holds one); which limits apply to a request is
//! `http::rate_limit`'s business.

mod local;

use std::time::Duration;

use deadpool_redis::redis::Script;

use crate::redis_client::RedisClient;

/// Counts for one key and window, as the `X-RateLimit-*` headers report them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitInfo {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

/// The result of counting one hit.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    pub info: RateLimitInfo,
    pub allowed: bool,
    /// Hits in the window so far, this one included (how far past the limit a caller is).
    pub count: u64,
}

/// INCR the counter; give it the window's TTL when it has none (first hit, or a key that lost its TTL).
const SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// Redis-backed counters with an in-process fallback.
pub struct RateLimiter {
    script: Script,
    local: local::LocalWindows,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter { script: Script::new(SCRIPT), local: local::LocalWindows::default() }
    }
}

impl RateLimiter {
    /// Counts one hit on `key` (already namespaced by the caller's choice of suffix) in a window of `window`.
    pub async fn hit(&self, redis: &RedisClient, suffix: &str, limit: u64, window: Duration) -> Decision {
        let key = redis.key(suffix);
        let (count, ttl) = match self.remote(redis, &key, window).await {
            Some(counted) => counted,
            None => self.local.hit(&key, window),
        };
        let info = RateLimitInfo {
            limit,
            remaining: limit.saturating_sub(count),
            reset_secs: ttl.as_millis().div_ceil(1000).max(1) as u64,
        };
        Decision { info, allowed: count <= limit, count }
    }

    /// Forgets the counter of `suffix` (a successful login clears its failures).
    pub async fn reset(&self, redis: &RedisClient, suffix: &str) {
        let key = redis.key(suffix);
        self.local.forget(&key);
        if let Some(mut conn) = redis.conn().await {
            let mut command = deadpool_redis::redis::cmd("DEL");
            command.arg(&key);
            match tokio::time::timeout(REDIS_TIMEOUT, command.query_async::<i64>(&mut conn)).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => redis.mark_down(&err.to_string()),
                Err(_) => redis.mark_down("rate-limit reset timed out"),
            }
        }
    }

    async fn remote(&self, redis: &RedisClient, key: &str, window: Duration) -> Option<(u64, Duration)> {
        let mut conn = redis.conn().await?;
        let window_ms = window.as_millis() as u64;
        let mut invocation = self.script.key(key);
        invocation.arg(window_ms);
        match tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<(i64, i64)>(&mut conn)).await {
            Ok(Ok((count, ttl_ms))) => Some((count.max(0) as u64, Duration::from_millis(ttl_ms.max(0) as u64))),
            Ok(Err(err)) => {
                redis.mark_down(&err.to_string());
                None
            }
            Err(_) => {
                redis.mark_down("rate-limit script timed out");
                None
            }
        }
    }
}

/// A slow Redis must not slow every request: past this the in-process counter answers.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
