//! Optional Redis. It accelerates (dispatch stream, rate-limit counters) but owns nothing: every caller
//! has a Postgres or in-process fallback, so Redis may be absent, down, or come back empty at any time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_redis::{Connection, Pool, Runtime, Timeouts};
use secrecy::ExposeSecret;

use crate::config::Config;

/// Redis health as `/health` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisStatus {
    Ok,
    Down,
    Disabled,
}

impl RedisStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisStatus::Ok => "ok",
            RedisStatus::Down => "down",
            RedisStatus::Disabled => "disabled",
        }
    }
}

/// A lazily connecting, self-healing Redis handle. Connections are made on demand, so a Redis that comes
/// back is used again without a restart.
pub struct RedisClient {
    pool: Option<Pool>,
    prefix: String,
    /// Logged once per outage rather than once per request.
    down: AtomicBool,
}

impl RedisClient {
    /// Builds the handle; never connects, so start-up does not depend on Redis.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Self::with_prefix(config, config.redis_key_prefix.clone())
    }

    /// Same as [`RedisClient::new`] with another key prefix (tests isolate themselves this way).
    pub fn with_prefix(config: &Config, prefix: String) -> anyhow::Result<Self> {
        let pool = match &config.redis_url {
            None => None,
            Some(url) => {
                let timeout = Some(Duration::from_millis(750));
                let pool = deadpool_redis::Config::from_url(url.expose_secret())
                    .builder()?
                    .max_size(32)
                    .timeouts(Timeouts { wait: timeout, create: timeout, recycle: timeout })
                    .runtime(Runtime::Tokio1)
                    .build()?;
                Some(pool)
            }
        };
        Ok(RedisClient { pool, prefix, down: AtomicBool::new(false) })
    }

    /// True when `REDIS_URL` is configured.
    pub fn is_configured(&self) -> bool {
        self.pool.is_some()
    }

    /// The namespaced key for `suffix`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }

    /// A connection, or None when Redis is not configured or unreachable (callers fall back).
    pub async fn conn(&self) -> Option<Connection> {
        let pool = self.pool.as_ref()?;
        match pool.get().await {
            Ok(conn) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is reachable again");
                }
                Some(conn)
            }
            Err(err) => {
                self.mark_down(&err.to_string());
                None
            }
        }
    }

    /// Records an outage seen by a caller whose command failed on an existing connection.
    pub fn mark_down(&self, why: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %why, "redis is unreachable; falling back to postgres and in-process limits");
        }
    }

    /// PINGs Redis for `/health`.
    pub async fn status(&self) -> RedisStatus {
        if self.pool.is_none() {
            return RedisStatus::Disabled;
        }
        let Some(mut conn) = self.conn().await else { return RedisStatus::Down };
        let ping = tokio::time::timeout(
            Duration::from_millis(750),
            deadpool_redis::redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await;
        match ping {
            Ok(Ok(_)) => RedisStatus::Ok,
            Ok(Err(err)) => {
                self.mark_down(&err.to_string());
                RedisStatus::Down
            }
            Err(_) => {
                self.mark_down("ping timed out");
                RedisStatus::Down
            }
        }
    }
}
