//! The people's console: server-rendered pages at `/` for the api role (issue #19).
//!
//! Pages call the same service functions as the REST API; every action is a form that POSTs and redirects,
//! so all of it works without JavaScript. Sign-in is a cookie session stored hashed server-side and tied to
//! a login session (`refresh_sessions`), every form carries a CSRF token bound to the session, and every
//! asset is embedded in the binary under a content-hashed name.

mod chart;
mod csrf;
mod error;
mod forms;
mod render;
pub mod routes;
mod session;
mod timeline;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
pub use error::ConsoleError;

/// Mounts the console's pages and assets (beside the REST API, in the api role's app factory).
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}

/// True when an unmatched request comes from a person's browser: outside `/v1` and accepting HTML.
pub fn wants_page(req: &HttpRequest) -> bool {
    let path = req.path();
    if path == "/v1" || path.starts_with("/v1/") {
        return false;
    }
    accepts_html(req)
}

/// True when the request accepts HTML (a person's browser navigating).
pub fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The HTML 404 page.
pub fn not_found_page() -> HttpResponse {
    render::not_found()
}
