//! What every role shares: configuration, pools, clients, the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, Roles};
use crate::db::DbPool;
use crate::redis_client::RedisClient;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DbPool,
    pub redis: Arc<RedisClient>,
    /// Sends every email (notifications and account notices): SMTP, SendGrid's relay or the outbox.
    pub mailer: Arc<crate::mailer::Mailer>,
    /// Rate-limit counters (Redis, or in-process while Redis is away).
    pub limiter: Arc<crate::rate_limiter::RateLimiter>,
    pub roles: Roles,
    pub clock: crate::clock::Clock,
    /// Set once migrations are known to be applied (`/health/ready`).
    pub migrated: Arc<AtomicBool>,
    /// Requests being served right now; shutdown waits for this to reach zero.
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl AppState {
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    pub fn set_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }
}
