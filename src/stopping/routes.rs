//! The handlers whose change can end an episode: changing and archiving a reminder, and Square's
//! subscription events (a change of tier applies the new limits). The rest of `/v1/reminders` and
//! `/v1/billing` is served by those domains' own routes.

use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::ReminderId;

use crate::accounts::auth::AuthUser;
use crate::billing::webhook;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::reminders::service::ReminderEdit;
use crate::reminders::views::{ReminderPatch, ReminderView};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => update, archive, square_webhook);
}

#[utoipa::path(patch, path = "/v1/reminders/{id}", tag = "reminders", operation_id = "reminders_update", params(("id" = Uuid, Path, description = "The resource id")), request_body = ReminderPatch,
    responses((status = 200, body = Envelope<ReminderView>), (status = 404), (status = 409)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: Json<ReminderPatch>,
) -> Result<ApiResponse<ReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    let edit = ReminderEdit { owner: user.id, id: *id, patch: body.0, now: state.clock.now() };
    Ok(ApiResponse::ok(super::update_reminder(&mut conn, &state.config.tier_limits, edit).await?))
}

#[utoipa::path(delete, path = "/v1/reminders/{id}", tag = "reminders", operation_id = "reminders_archive", params(("id" = Uuid, Path, description = "The resource id")), description = "Archives the reminder.",
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn archive(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    super::archive_reminder(&mut conn, &state.config.tier_limits, user.id, *id, state.clock.now()).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/webhooks/square", tag = "webhooks",
    description = "Square event notifications, verified by `x-square-hmacsha256-signature` over the notification \
        URL and the raw body; each event id takes effect once.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200), (status = 401)))]
pub async fn square_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signature = req.headers().get("x-square-hmacsha256-signature").and_then(|v| v.to_str().ok());
    webhook::receive(&state, signature, &body, super::apply_tier_limits).await?;
    Ok(HttpResponse::Ok().finish())
}
