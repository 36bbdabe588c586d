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
    /// How `db` was made, to make each HTTP thread a pool of its own ([`AppState::for_http_thread`]).
    pub db_spec: Arc<crate::db::PoolSpec>,
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

    /// This state with a pool of its own of at most `connections`, for one HTTP thread. A connection's I/O
    /// runs on the thread that opened it: with one pool shared by every HTTP thread, a request served on
    /// one thread over a connection opened by another woke that thread for every statement, which cost
    /// about a quarter of the api's CPU per `POST /v1/reminders` on two cores (`benches/api_load.rs`).
    /// Everything else is shared. If the pool cannot be made (it is made the same way as `db`, which
    /// was), the shared one serves.
    pub fn for_http_thread(&self, connections: usize) -> AppState {
        match self.db_spec.build(&self.config, connections) {
            Ok(db) => AppState { db, ..self.clone() },
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "an HTTP thread shares the process's database pool");
                self.clone()
            }
        }
    }
}
