//! The HTTP surface: app factory, envelopes, errors, extractors, health, metrics and the server loop.

mod context;
pub mod envelope;
pub mod error;
mod health;
pub mod json;
pub mod metrics;
mod server;

use actix_web::web;

pub use envelope::{ApiResponse, Meta};
pub use error::{ApiError, ErrorCode, FieldError};
pub use json::Json;
pub use server::{app, serve};

/// Largest accepted request body (API contract: 256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Routes that need no authentication and sit outside `/v1`.
fn configure_meta(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/health/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics::render));
}
