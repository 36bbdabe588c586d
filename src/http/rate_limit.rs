//! Which rate limits apply to a request: per user per hour by tier (or a route group's own bucket), per
//! client network on the unauthenticated auth routes, and per account and network on failed logins
//! (`auth::login_limits`). The counters themselves are [`crate::rate_limiter`].

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use futures_util::future::LocalBoxFuture;

use super::ApiError;
use super::client_ip::{client_ip, network_key};
pub use crate::rate_limiter::{Decision, RateLimitInfo, RateLimiter};
use crate::state::AppState;

// Beside the limits rather than the counter: the 429 is an HTTP answer.
impl Decision {
    /// `Err(429)` with `Retry-After` when the hit was over the limit.
    pub fn into_result(self) -> Result<RateLimitInfo, ApiError> {
        if self.allowed { Ok(self.info) } else { Err(ApiError::RateLimited { retry_after_secs: self.info.reset_secs }) }
    }
}

/// A route group's own per-user bucket, in place of the caller's tier limit. The group's scope puts it in
/// the request extensions before any layer authenticates (admin routes: an admin's console is not
/// throttled by the tier of the admin's own account, and their own API use does not eat into it).
#[derive(Clone, Copy, Debug)]
pub struct OwnBucket {
    /// Names the Redis key (`rl:{name}:{user}`).
    pub name: &'static str,
    /// Requests per hour per user, scaled by `RATE_LIMIT_MULTIPLIER` like every limit.
    pub hourly: u64,
}

/// The per-user hourly limit, called by the `AuthUser` extractor once the tier is known. The headers go
/// to the request extensions; the context middleware copies them onto the response, error or not.
pub async fn check_user(
    state: &AppState,
    req: &actix_web::HttpRequest,
    user: uuid::Uuid,
    tier: &str,
) -> Result<(), ApiError> {
    let own = req.extensions().get::<OwnBucket>().copied();
    let (bucket, hourly) = match own {
        Some(own) => (format!("rl:{}:{}", own.name, user.simple()), own.hourly),
        // Unknown tiers get FREE's.
        None => (format!("rl:user:{}", user.simple()), state.config.tier_limits.named(tier).api_requests_per_hour),
    };
    let limit = ((hourly as f64) * state.config.rate_limit_multiplier).round().max(1.0) as u64;
    let decision = state.limiter.hit(&state.redis, &bucket, limit, Duration::from_secs(3600)).await;
    req.extensions_mut().insert(decision.info);
    decision.into_result().map(drop)
}

/// Middleware for the unauthenticated auth routes: one bucket per client network (an IPv4 address or an
/// IPv6 /64) across all of them.
pub async fn per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if let Err(err) = check_ip(&state, req.request()).await {
        return Ok(req.error_response(err));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

/// [`per_ip`] as a registry [`Layer`](super::Layer).
pub fn per_ip_layer(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, actix_web::Error>> {
    Box::pin(per_ip(req, next))
}

/// Counts one hit in the client IP's bucket of the unauthenticated auth routes (the API's and the
/// console's sign-in and sign-up share it).
pub async fn check_ip(state: &AppState, req: &actix_web::HttpRequest) -> Result<(), ApiError> {
    let ip = client_ip(req, &state.config.trusted_proxies).map_or_else(|| "unknown".to_owned(), network_key);
    let limit = u64::from(state.config.rate_limit_auth_per_minute);
    let decision = state.limiter.hit(&state.redis, &format!("rl:ip:{ip}"), limit, Duration::from_secs(60)).await;
    req.extensions_mut().insert(decision.info);
    decision.into_result().map(drop)
}

/// Writes the `X-RateLimit-*` headers (called by the context middleware).
pub fn add_headers(headers: &mut HeaderMap, info: RateLimitInfo) {
    for (name, value) in [
        ("x-ratelimit-limit", info.limit),
        ("x-ratelimit-remaining", info.remaining),
        ("x-ratelimit-reset", info.reset_secs),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_have_the_documented_hourly_limits() {
        let table = reminder_core::tiers::TierTable::default();
        let hourly = |tier| table.named(tier).api_requests_per_hour;
        assert_eq!(hourly("FREE"), 100);
        assert_eq!(hourly("PERSONAL"), 1_000);
        assert_eq!(hourly("PRO"), 10_000);
        assert_eq!(hourly("FAMILY"), 10_000);
        assert_eq!(hourly("SOMETHING"), 100);
    }

    #[test]
    fn a_denied_hit_carries_retry_after() {
        let denied =
            Decision { info: RateLimitInfo { limit: 1, remaining: 0, reset_secs: 42 }, allowed: false, count: 2 };
        assert!(matches!(denied.into_result(), Err(ApiError::RateLimited { retry_after_secs: 42 })));
    }
}
