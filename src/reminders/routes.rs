//! Thin handlers for `/v1/reminders`. Changing and archiving one (`PATCH`, `DELETE`) are served by
//! `crate::stopping::routes`: they can end the reminder's open episode, which is escalation's.

use actix_web::web;
use reminder_core::ids::ReminderId;

use super::preview::{self, PreviewView};
use super::service;
use super::views::{ListQuery, ReminderInput, ReminderView};
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, get, preview);
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
    id: web::Path<ReminderId>,
) -> Result<ApiResponse<ReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(service::get(&mut conn, user.id, *id).await?))
}

#[utoipa::path(get, path = "/v1/reminders/{id}/preview", tag = "reminders", operation_id = "reminders_preview", params(("id" = Uuid, Path, description = "The resource id")),
    description = "The timeline of the next occurrence if nobody reacts. Tier delays count from the moment the reminder fired.",
    responses((status = 200, body = Envelope<PreviewView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn preview(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
) -> Result<ApiResponse<PreviewView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(preview::preview(&mut conn, user.id, *id).await?))
}
