//! The HTTP surface: app factory, envelopes, errors, extractors, health, metrics and the server loop.

pub mod audit;
mod bad_bytes;
pub mod client_ip;
mod context;
pub mod envelope;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod probes;
pub mod rate_limit;
mod server;

use actix_web::web;

pub use context::current_request_id;
pub use envelope::{ApiResponse, Meta};
pub use error::{ApiError, ErrorCode, FieldError};
pub use json::Json;
pub use server::{app, serve};

/// Every route of the API.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    configure_meta(cfg);
    crate::auth::routes::configure(cfg);
    crate::users::routes::configure(cfg);
    crate::reminders::routes::configure(cfg);
    crate::escalation::profiles::routes::configure(cfg);
    crate::agents::subscriptions::routes::configure(cfg);
    crate::notifications::routes::configure(cfg);
    crate::watchers::hook_routes::configure(cfg);
    crate::watchers::routes::configure(cfg);
    crate::contacts::routes::configure(cfg);
    crate::notifications::link_routes::configure(cfg);
    crate::admin::routes::configure(cfg);
    crate::agents::sms::routes::configure(cfg);
    crate::billing::routes::configure(cfg);
}

/// Largest accepted request body (API contract: 256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Routes that need no authentication and sit outside `/v1`.
pub(crate) fn configure_meta(cfg: &mut web::ServiceConfig) {
    // `web::resource` (not `cfg.route`) so a wrong method answers 405 rather than falling through to 404.
    cfg.service(web::resource("/health").get(health::health))
        .service(web::resource("/health/ready").get(health::ready))
        .service(web::resource("/metrics").get(metrics::render));
}
