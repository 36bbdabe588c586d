//! Thin handlers for `/v1/reminders`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::preview::{self, PreviewView};
use super::service;
use super::snooze::{self, ActionInput, ActionView, Simple, SnoozeInput, SnoozeView};
use super::views::{ListQuery, ReminderInput, ReminderPatch, ReminderView};
use crate::accounts::auth::AuthUser;
use crate::escalation::episodes::{self, EscalationView};
use crate::http::envelope::Envelope;
use crate::http::envelope::no_content;
use crate::http::json::parse_body;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

/// How many episodes the delivery log shows.
const ESCALATIONS_SHOWN: i64 = 50;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, get, update, archive, snooze, acknowledge, complete, escalations, preview);
}

#[utoipa::path(post, path = "/v1/reminders", tag = "reminders", operation_id = "reminders_create", request_body = ReminderInput,
    description = "Creates a reminder. FREE allows 3 and PERSONAL 20 active reminders (403 beyond).",
    responses((status = 201, body = Envelope<ReminderView>), (status = 400), (status = 403)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ReminderInput>,
) -> Result<ApiResponse<ReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    let zone = service::user_zone(&mut conn, user.id).await?;
    Ok(ApiResponse::created(
        service::create(&mut conn, &state.config.tier_limits, user.id, &zone, body.0, state.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/v1/reminders", tag = "reminders", operation_id = "reminders_list", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<ReminderView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<ApiResponse<Vec<ReminderView>>, ApiError> {
    let mut conn = state.db.get().await?;
    let (views, pagination) = service::list(&mut conn, user.id, query.into_inner()).await?;
    Ok(ApiResponse::page(views, pagination))
}

#[utoipa::path(get, path = "/v1/reminders/{id}", tag = "reminders", operation_id = "reminders_get", params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Envelope<ReminderView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<ReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(service::get(&mut conn, user.id, *id).await?))
}

#[utoipa::path(patch, path = "/v1/reminders/{id}", tag = "reminders", operation_id = "reminders_update", params(("id" = Uuid, Path, description = "The resource id")), request_body = ReminderPatch,
    responses((status = 200, body = Envelope<ReminderView>), (status = 404), (status = 409)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ReminderPatch>,
) -> Result<ApiResponse<ReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(
        service::update(&mut conn, &state.config.tier_limits, user.id, *id, body.0, state.clock.now()).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/reminders/{id}", tag = "reminders", operation_id = "reminders_archive", params(("id" = Uuid, Path, description = "The resource id")), description = "Archives the reminder.",
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn archive(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    service::archive(&mut conn, &state.config.tier_limits, user.id, *id, state.clock.now()).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/reminders/{id}/snooze", tag = "reminders", operation_id = "reminders_snooze", params(("id" = Uuid, Path, description = "The resource id")), request_body = SnoozeInput,
    description = "Snoozes until an instant or a phrase read in the user's zone; a phrase not understood → 422 with examples.",
    responses((status = 200, body = Envelope<SnoozeView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn snooze(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SnoozeInput>,
) -> Result<ApiResponse<SnoozeView>, ApiError> {
    Ok(ApiResponse::ok(snooze::snooze(&state, user.id, *id, body.0).await?))
}

/// The body of acknowledge and complete is optional: an empty body means no note.
fn action_input(body: &web::Bytes) -> Result<ActionInput, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(ActionInput::default()) } else { parse_body(body) }
}

#[utoipa::path(post, path = "/v1/reminders/{id}/acknowledge", tag = "reminders", operation_id = "reminders_acknowledge", params(("id" = Uuid, Path, description = "The resource id")), request_body = ActionInput,
    description = "Pauses escalation of the open episode for the profile's ack window.",
    responses((status = 200, body = Envelope<ActionView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<ApiResponse<ActionView>, ApiError> {
    let input = action_input(&body)?;
    Ok(ApiResponse::ok(snooze::act(&state, user.id, *id, input.note()?, Simple::Acknowledge).await?))
}

#[utoipa::path(post, path = "/v1/reminders/{id}/complete", tag = "reminders", operation_id = "reminders_complete", params(("id" = Uuid, Path, description = "The resource id")), request_body = ActionInput,
    description = "Completes this occurrence; a recurring reminder moves to its next occurrence.",
    responses((status = 200, body = Envelope<ActionView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<ApiResponse<ActionView>, ApiError> {
    let input = action_input(&body)?;
    Ok(ApiResponse::ok(snooze::act(&state, user.id, *id, input.note()?, Simple::Complete).await?))
}

#[utoipa::path(get, path = "/v1/reminders/{id}/escalations", tag = "reminders", operation_id = "reminders_escalations", params(("id" = Uuid, Path, description = "The resource id")),
    description = "Episodes of this reminder, newest first, with their deliveries (the delivery log).",
    responses((status = 200, body = Envelope<Vec<EscalationView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn escalations(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<Vec<EscalationView>>, ApiError> {
    let mut conn = state.db.get().await?;
    crate::reminders::store::find_for(&mut conn, user.id, *id).await?.ok_or_else(service::not_found)?;
    Ok(ApiResponse::ok(episodes::list_for_reminder(&mut conn, user.id, *id, ESCALATIONS_SHOWN).await?))
}

#[utoipa::path(get, path = "/v1/reminders/{id}/preview", tag = "reminders", operation_id = "reminders_preview", params(("id" = Uuid, Path, description = "The resource id")),
    description = "The timeline of the next occurrence if nobody reacts. Tier delays count from the moment the reminder fired.",
    responses((status = 200, body = Envelope<PreviewView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn preview(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<PreviewView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(preview::preview(&mut conn, user.id, *id).await?))
}
