//! The request context middleware: request id (accepted or generated, echoed, in every log line), security
//! headers, request metrics, and the rule that every error body is our JSON envelope, whoever made it.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use super::error::{ErrorCode, envelope_response};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header carrying the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served on this task, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// A client-supplied id is kept only if it is short and plain, so it cannot inject into logs or headers.
fn accepted_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then(|| value.to_owned())
}

/// Routes whose last path segment is a secret (hook tokens, the inbound email secret, signed links).
const SECRET_PATHS: [&str; 7] = [
    "/v1/hooks/",
    "/password/reset/",
    "/v1/webhooks/email/inbound/",
    "/contacts/invitation/",
    "/contacts/opt-out/",
    "/contacts/got-it/",
    "/a/",
];

/// The path as logs may show it: a secret segment is replaced, so tokens never reach a log line.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|prefix| path.starts_with(**prefix) && path.len() > prefix.len()) {
        Some(prefix) => format!("{prefix}[redacted]").into(),
        None => path.into(),
    }
}

/// The middleware itself (`actix_web::middleware::from_fn(request_context)`).
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = accepted_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %req.method(),
        path = %loggable_path(req.path()),
    );
    let started = Instant::now();
    let _in_flight = req.app_data::<actix_web::web::Data<crate::state::AppState>>().map(|state| InFlight::enter(state));
    let method = req.method().to_string();
    let is_docs = req.path().starts_with("/v1/docs");

    let outcome = match super::bad_bytes::problem(&req) {
        // Refused before routing, so no handler or store ever sees the bytes.
        Some(message) => REQUEST_ID.sync_scope(request_id.clone(), || {
            span.in_scope(|| tracing::info!(message, "request refused: bad bytes"));
            Ok(req.into_response(actix_web::ResponseError::error_response(&super::ApiError::bad_request(message))))
        }),
        None => REQUEST_ID
            .scope(request_id.clone(), next.call(req).instrument(span.clone()))
            .await
            .map(ServiceResponse::map_into_boxed_body),
    };
    let mut response = match outcome {
        Ok(res) => REQUEST_ID.sync_scope(request_id.clone(), || normalise_error(res)),
        // Errors that escaped a middleware as `Err` still become an envelope, never actix's text/plain.
        Err(err) => {
            let status = err.as_response_error().status_code();
            if status.is_server_error() {
                span.in_scope(|| tracing::error!(error = %err, "request failed before reaching a handler"));
            }
            let code = ErrorCode::for_status(status);
            return Err(super::ApiError::new(code, code.default_message()).into());
        }
    };

    let limits = response.request().extensions().get::<super::rate_limit::RateLimitInfo>().copied();
    let headers = response.headers_mut();
    if let Some(info) = limits {
        super::rate_limit::add_headers(headers, info);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The console sets its own (immutable assets; same-origin referrers between its pages).
    if !is_docs && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }

    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    super::metrics::record_request(&method, &route, response.status().as_u16(), started.elapsed());
    Ok(response)
}

/// Marks a response as an HTML page for a person (the console, action links), so an error status keeps its
/// page rather than becoming the JSON envelope.
#[derive(Debug, Clone, Copy)]
pub struct HtmlPage;

/// Replaces any error body that is not already JSON with the envelope for its status. The HTML pages of
/// action links and of the console stay HTML: a person opened them in a browser.
fn normalise_error(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_page = content_type.starts_with("text/html") && res.response().extensions().get::<HtmlPage>().is_some();
    if content_type.starts_with("application/json") || is_page {
        return res;
    }
    let code = ErrorCode::for_status(status);
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut replacement = envelope_response(code, code.default_message(), &[]);
    *replacement.status_mut() = status;
    if let Some(value) = retry_after {
        replacement.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if let Some(value) = allow {
        replacement.headers_mut().insert(header::ALLOW, value);
    }
    res.into_response(replacement)
}

/// Counts a request as in flight until dropped, so shutdown can wait for it.
struct InFlight(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl InFlight {
    fn enter(state: &crate::state::AppState) -> InFlight {
        state.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlight(state.in_flight.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_path_segments_are_not_logged() {
        assert_eq!(super::loggable_path("/v1/hooks/erh_abc"), "/v1/hooks/[redacted]");
        assert_eq!(super::loggable_path("/v1/webhooks/email/inbound/s3cret"), "/v1/webhooks/email/inbound/[redacted]");
        assert_eq!(super::loggable_path("/v1/reminders/1"), "/v1/reminders/1");
    }
}
