//! `Idempotency-Key` on POST: the same key with the same request replays the first response, with a
//! different request answers 422, and while the first is still running answers 409. Keys are per user and
//! remembered 24 h.
//!
//! A middleware rather than a wrapper each handler calls: the contract says "any POST", and a middleware
//! covers the routes later issues add without anyone remembering to opt in. It authenticates through the
//! domain's [`Identify`] (which caches the caller in the request, so the handler does not authenticate or
//! count the rate limit twice); unauthenticated POSTs ignore the header.

mod seal;
pub mod store;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use sha2::{Digest, Sha256};
pub use store::prune;

use super::ApiError;
use super::caller::{Caller, CallerKind, Identify, SessionOnly};
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed response.
pub const REPLAYED_HEADER: &str = "idempotency-replayed";
/// How long the first request holds the key before a retry with the same body may take over (a crashed
/// replica must not block the key for 24 h).
const LOCK: chrono::Duration = chrono::Duration::seconds(120);

/// Stored responses are small JSON envelopes; anything larger is not worth keeping.
const MAX_STORED_BODY: usize = 256 * 1024;

/// What the key says about this request.
enum Outcome {
    Run,
    Replay(StatusCode, Vec<u8>),
}

/// The middleware (`from_fn(idempotency::guard::<Who>)`, `Who` authenticating the caller).
pub async fn guard<Who: Identify>(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw_key = req.headers().get(HEADER).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(raw_key), Some(state), true) = (raw_key, state, req.method() == Method::POST) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let caller = match Who::identify(req.request()).await {
        Ok(caller) => caller,
        Err(err @ ApiError::RateLimited { .. }) => return Ok(req.error_response(err)),
        // No caller: the header means nothing here; the handler answers 401 if it needs a caller.
        Err(_) => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    };
    if caller.kind == CallerKind::ApiKey && req.extensions().contains::<SessionOnly>() {
        // The route accepts no API key: the handler's 401 comes before anything the key could replay.
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let key = match valid_key(&raw_key) {
        Ok(key) => key,
        Err(err) => return Ok(req.error_response(err)),
    };
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(err) => return Ok(req.error_response(err)),
    };
    req.set_payload(Payload::from(body.clone()));
    let hash = request_hash(req.method().as_str(), req.path(), req.query_string(), &body);
    let path = req.path().to_owned();

    match begin(&state, &caller, &key, &path, &hash).await {
        Ok(Outcome::Run) => {}
        Ok(Outcome::Replay(status, body)) => {
            let response = HttpResponse::build(status)
                .content_type("application/json")
                .insert_header((REPLAYED_HEADER, "true"))
                .body(body);
            return Ok(req.into_response(response));
        }
        Err(err) => return Ok(req.error_response(err)),
    }

    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(err) => {
            forget(&state, &caller, &key).await;
            return Err(err);
        }
    };
    finish(&state, &caller, &key, response).await
}

fn valid_key(raw: &header::HeaderValue) -> Result<String, ApiError> {
    let text = raw.to_str().unwrap_or("");
    if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(text.to_owned())
}

/// Method, path, query and body: the same key on another route is a different request (422).
fn request_hash(method: &str, path: &str, query: &str, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"?", query.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

async fn begin(state: &AppState, caller: &Caller, key: &str, path: &str, hash: &[u8]) -> Result<Outcome, ApiError> {
    let now = state.clock.now();
    // The connection is returned before the handler runs, which needs its own.
    let mut conn = state.db.get().await?;
    let claim = store::Claim {
        user: caller.user_id,
        key,
        method: "POST",
        path,
        request_hash: hash,
        locked_until: now + LOCK,
        now,
    };
    if store::claim(&mut conn, &claim).await? {
        return Ok(Outcome::Run);
    }
    // Gone between the two statements means another request is cycling the key: treat as in flight.
    let Some(existing) = store::find(&mut conn, caller.user_id, key).await? else {
        return Err(in_flight());
    };
    if existing.request_hash != hash {
        return Err(ApiError::unprocessable(
            "This Idempotency-Key was already used with a different request; use a new key.",
        ));
    }
    match (existing.response_status, existing.response_body) {
        (Some(status), Some(sealed)) => {
            let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok());
            let status = status.ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored status is invalid")))?;
            Ok(Outcome::Replay(status, seal::open(&state.config, &sealed)?))
        }
        _ => Err(in_flight()),
    }
}

fn in_flight() -> ApiError {
    ApiError::conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
}

/// Stores a finished answer (anything but a server error, which the client should be free to retry).
async fn finish(
    state: &AppState,
    caller: &Caller,
    key: &str,
    response: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let status = response.status();
    if status.is_server_error() {
        forget(state, caller, key).await;
        return Ok(response);
    }
    let (req, res) = response.into_parts();
    let (res, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes_limited(body, MAX_STORED_BODY).await {
        Ok(Ok(bytes)) => bytes,
        // The body is consumed either way; answer 500 rather than a truncated response.
        _ => {
            forget(state, caller, key).await;
            let err = ApiError::internal(anyhow::anyhow!("response body could not be buffered for idempotency"));
            return Ok(ServiceResponse::new(req, actix_web::ResponseError::error_response(&err)));
        }
    };
    let stored = async {
        let sealed = seal::seal(&state.config, &bytes)?;
        let mut conn = state.db.get().await.map_err(|err| anyhow::anyhow!("{err}"))?;
        store::finish(&mut conn, caller.user_id, key, status.as_u16() as i16, &sealed).await?;
        anyhow::Ok(())
    };
    if let Err(error) = stored.await {
        // The change is done; the client gets its answer. A retry then sees 409 until the lock lapses.
        tracing::error!(error = format!("{error:#}"), "idempotent response could not be stored");
    }
    Ok(ServiceResponse::new(req, res.set_body(BoxBody::new(bytes))))
}

async fn forget(state: &AppState, caller: &Caller, key: &str) {
    let released = async {
        let mut conn = state.db.get().await.map_err(|err| anyhow::anyhow!("{err}"))?;
        store::release(&mut conn, caller.user_id, key).await?;
        anyhow::Ok(())
    };
    if let Err(error) = released.await {
        tracing::warn!(error = format!("{error:#}"), "idempotency key could not be released");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_short_visible_ascii() {
        let ok = header::HeaderValue::from_static("order-42");
        assert_eq!(valid_key(&ok).ok().as_deref(), Some("order-42"));
        for bad in ["", "has space", &"x".repeat(256)] {
            let value = header::HeaderValue::from_str(bad).unwrap();
            assert!(valid_key(&value).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_covers_route_and_body() {
        let base = request_hash("POST", "/v1/api-keys", "", b"{}");
        assert_eq!(base, request_hash("POST", "/v1/api-keys", "", b"{}"));
        assert_ne!(base, request_hash("POST", "/v1/other", "", b"{}"));
        assert_ne!(base, request_hash("POST", "/v1/api-keys", "", b"{ }"));
    }
}
