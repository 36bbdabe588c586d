//! Thin handlers for what people do to a reminder's escalation: snooze, acknowledge, complete (the one action
//! path in [`super::actions`]), and the episodes of a reminder with their deliveries.

use actix_web::web;
use reminder_core::ids::ReminderId;

use super::episodes::{self, EscalationView};
use super::snooze::{self, ActionInput, ActionView, Simple, SnoozeInput, SnoozeView};
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::json::parse_body;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

/// How many episodes the delivery log shows.
const ESCALATIONS_SHOWN: i64 = 50;

pub fn configure(r: &mut Routes) {
    routes!(r => snooze, acknowledge, complete, escalations);
}

#[utoipa::path(post, path = "/v1/reminders/{id}/snooze", tag = "reminders", operation_id = "reminders_snooze", params(("id" = Uuid, Path, description = "The resource id")), request_body = SnoozeInput,
    description = "Snoozes until an instant or a phrase read in the user's zone; a phrase not understood → 422 with examples.",
    responses((status = 200, body = Envelope<SnoozeView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn snooze(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: Json<SnoozeInput>,
) -> Result<ApiResponse<SnoozeView>, ApiError> {
    Ok(ApiResponse::ok(snooze::snooze(&state, user.id, *id, body.0).await?))
}

/// The body of acknowledge and complete is optional: an empty body means no note.
pub(super) fn action_input(body: &web::Bytes) -> Result<ActionInput, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(ActionInput::default()) } else { parse_body(body) }
}

/// Acknowledge and complete: the body (optional, with a note) read, then the one action path.
async fn act(
    state: &AppState,
    user: &AuthUser,
    id: ReminderId,
    body: &web::Bytes,
    which: Simple,
) -> Result<ApiResponse<ActionView>, ApiError> {
    let input = action_input(body)?;
    Ok(ApiResponse::ok(snooze::act(state, user.id, id, input.note()?, which).await?))
}

#[utoipa::path(post, path = "/v1/reminders/{id}/acknowledge", tag = "reminders", operation_id = "reminders_acknowledge", params(("id" = Uuid, Path, description = "The resource id")), request_body = ActionInput,
    description = "Pauses escalation of the open episode for the profile's ack window.",
    responses((status = 200, body = Envelope<ActionView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: web::Bytes,
) -> Result<ApiResponse<ActionView>, ApiError> {
    act(&state, &user, *id, &body, Simple::Acknowledge).await
}

#[utoipa::path(post, path = "/v1/reminders/{id}/complete", tag = "reminders", operation_id = "reminders_complete", params(("id" = Uuid, Path, description = "The resource id")), request_body = ActionInput,
    description = "Completes this occurrence; a recurring reminder moves to its next occurrence.",
    responses((status = 200, body = Envelope<ActionView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: web::Bytes,
) -> Result<ApiResponse<ActionView>, ApiError> {
    act(&state, &user, *id, &body, Simple::Complete).await
}

#[utoipa::path(get, path = "/v1/reminders/{id}/escalations", tag = "reminders", operation_id = "reminders_escalations", params(("id" = Uuid, Path, description = "The resource id")),
    description = "Episodes of this reminder, newest first, with their deliveries (the delivery log).",
    responses((status = 200, body = Envelope<Vec<EscalationView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn escalations(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
) -> Result<ApiResponse<Vec<EscalationView>>, ApiError> {
    let mut conn = state.db.get().await?;
    crate::reminders::store::find_for(&mut conn, user.id, *id)
        .await?
        .ok_or_else(crate::reminders::service::not_found)?;
    Ok(ApiResponse::ok(episodes::list_for_reminder(&mut conn, user.id, *id, ESCALATIONS_SHOWN).await?))
}
