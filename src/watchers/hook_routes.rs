//! Thin handlers: the owner's hook management under `/v1/reminders/{id}/completion-hooks`, and the public
//! `POST /v1/hooks/{token}` that devices and jobs call.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::ReminderId;
use uuid::Uuid;

use super::hooks::{self, HookCall, HookResult, HookView, HookWithUrl, NewHook};
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::json::parse_body;
use crate::http::{ApiError, ApiResponse, ErrorCode, Routes, routes};
use crate::state::AppState;

/// A hook call is a tiny JSON object, if anything.
const HOOK_BODY_MAX: usize = 4096;
/// Calls per minute per hook, and per client IP across all hooks (before `RATE_LIMIT_MULTIPLIER`).
const PER_HOOK_PER_MINUTE: f64 = 30.0;
const PER_IP_PER_MINUTE: f64 = 120.0;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, revoke, rotate, call);
}

#[utoipa::path(post, path = "/v1/reminders/{id}/completion-hooks", tag = "evidence", operation_id = "hooks_create",
    params(("id" = Uuid, Path, description = "The reminder id")), request_body = NewHook,
    description = "Creates a secret URL that acts on the reminder's current occurrence. The URL is in this response only.",
    responses((status = 201, body = Envelope<HookWithUrl>), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: web::Bytes,
) -> Result<ApiResponse<HookWithUrl>, ApiError> {
    let input = if body.iter().all(u8::is_ascii_whitespace) { NewHook::default() } else { parse_body(&body)? };
    Ok(ApiResponse::created(hooks::create(&state, user.id, *id, input).await?))
}

#[utoipa::path(get, path = "/v1/reminders/{id}/completion-hooks", tag = "evidence", operation_id = "hooks_list",
    params(("id" = Uuid, Path, description = "The reminder id")),
    responses((status = 200, body = Envelope<Vec<HookView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
) -> Result<ApiResponse<Vec<HookView>>, ApiError> {
    Ok(ApiResponse::ok(hooks::list(&state, user.id, Some(*id)).await?))
}

#[utoipa::path(post, path = "/v1/reminders/{id}/completion-hooks/{hookId}/rotate", tag = "evidence", operation_id = "hooks_rotate",
    params(("id" = Uuid, Path, description = "The reminder id"), ("hookId" = Uuid, Path, description = "The hook id")),
    description = "Gives the hook a new URL (in this response only); the old one stops working at once.",
    responses((status = 200, body = Envelope<HookWithUrl>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn rotate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(ReminderId, Uuid)>,
) -> Result<ApiResponse<HookWithUrl>, ApiError> {
    let (reminder, hook) = path.into_inner();
    Ok(ApiResponse::ok(hooks::rotate(&state, user.id, reminder, hook).await?))
}

#[utoipa::path(delete, path = "/v1/reminders/{id}/completion-hooks/{hookId}", tag = "evidence", operation_id = "hooks_revoke",
    params(("id" = Uuid, Path, description = "The reminder id"), ("hookId" = Uuid, Path, description = "The hook id")),
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn revoke(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(ReminderId, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (reminder, hook) = path.into_inner();
    hooks::revoke(&state, user.id, reminder, hook).await?;
    Ok(no_content())
}

async fn limit(state: &AppState, key: String, per_minute: f64) -> Result<(), ApiError> {
    let limit = (per_minute * state.config.rate_limit_multiplier).round().max(1.0) as u64;
    state.limiter.hit(&state.redis, &key, limit, Duration::from_secs(60)).await.into_result().map(drop)
}

#[utoipa::path(post, path = "/v1/hooks/{token}", tag = "evidence", operation_id = "hooks_call",
    params(("token" = String, Path, description = "The hook's secret token")), request_body(content = HookCall, description = "Optional"),
    description = "Acknowledges, completes or snoozes the current occurrence of the hook's reminder, once per occurrence: \
        a repeat answers `acted: false` and changes nothing. Unknown, revoked and rotated-out tokens answer 404.",
    responses((status = 200, body = Envelope<HookResult>), (status = 404), (status = 413), (status = 422)))]
pub async fn call(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<ApiResponse<HookResult>, ApiError> {
    let ip = crate::http::client_ip::client_ip(&req, &state.config.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    limit(&state, format!("rl:hookip:{ip}"), PER_IP_PER_MINUTE).await?;
    if body.len() > HOOK_BODY_MAX {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "A hook call body is at most 4 KiB."));
    }
    let hook = hooks::find_by_token(&state, &token).await?;
    limit(&state, format!("rl:hook:{}", hook.id.simple()), PER_HOOK_PER_MINUTE).await?;
    let call = if body.iter().all(u8::is_ascii_whitespace) { HookCall::default() } else { parse_body(&body)? };
    Ok(ApiResponse::ok(hooks::invoke(&state, hook, call).await?))
}
