//! The HTTP machinery: envelopes, errors, extractors, the request context, rate limits, idempotency, the
//! audit trail, health, metrics, the route registry and the server loop. It knows no domain: the
//! composition root (`api.rs`) mounts the domains' routes and attaches what they need.

pub mod assets;
pub mod audit;
mod bad_bytes;
pub mod caller;
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
pub mod registry;
mod server;

pub use caller::{Caller, CallerKind, Identify, SessionOnly};
pub use context::{HtmlPage, current_request_id};
pub use envelope::{ApiResponse, Meta};
pub use error::{ApiError, ErrorCode, FieldError, required_text};
pub use json::Json;
pub(crate) use registry::routes;
pub use registry::{Layer, Routes};
pub use server::{AppService, app, serve};

/// Largest accepted request body (API contract: 256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Routes that need no authentication and sit outside `/v1`.
pub fn meta_routes(r: &mut Routes) {
    routes!(r => health::health, health::ready, metrics::render);
}
