//! Thin handlers for `/v1/calendars`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::model::{CalendarInput, CalendarView, EventView, EventsQuery, RuleInput, RuleView};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, get, delete, sync, events, add_rule, delete_rule);
}

#[utoipa::path(get, path = "/v1/calendars", tag = "calendars", operation_id = "calendars_list",
    description = "The caller's connected calendars with their sync status and rules.",
    responses((status = 200, body = Envelope<Vec<CalendarView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<CalendarView>>, ApiError> {
    Ok(ApiResponse::ok(service::list(&state, user.id).await?))
}

#[utoipa::path(post, path = "/v1/calendars", tag = "calendars", operation_id = "calendars_create", request_body = CalendarInput,
    description = "Connects a calendar by its secret ICS address, or a CalDAV collection with a user and app password. \
        The address and credentials are stored encrypted and never shown again. It is fetched within seconds, then \
        hourly (`CALENDAR_SYNC_INTERVAL_SECS`); `status` and `lastError` say how that goes. PERSONAL and above \
        (the tier's `calendars`; FREE: 403).",
    responses((status = 201, body = Envelope<CalendarView>), (status = 400), (status = 403)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CalendarInput>,
) -> Result<ApiResponse<CalendarView>, ApiError> {
    Ok(ApiResponse::created(service::create(&state, user.id, body.0).await?))
}

#[utoipa::path(get, path = "/v1/calendars/{id}", tag = "calendars", operation_id = "calendars_get",
    params(("id" = Uuid, Path, description = "The calendar id")),
    responses((status = 200, body = Envelope<CalendarView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<CalendarView>, ApiError> {
    Ok(ApiResponse::ok(service::get(&state, user.id, *id).await?))
}

#[utoipa::path(delete, path = "/v1/calendars/{id}", tag = "calendars", operation_id = "calendars_delete",
    params(("id" = Uuid, Path, description = "The calendar id")),
    description = "Disconnects the calendar; its events and rules go with it.",
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(state: web::Data<AppState>, user: AuthUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    service::delete(&state, user.id, *id).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/calendars/{id}/sync", tag = "calendars", operation_id = "calendars_sync",
    params(("id" = Uuid, Path, description = "The calendar id")),
    description = "Fetches the calendar again within seconds, whatever its schedule.",
    responses((status = 200, body = Envelope<CalendarView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn sync(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<CalendarView>, ApiError> {
    Ok(ApiResponse::ok(service::sync_now(&state, user.id, *id).await?))
}

#[utoipa::path(get, path = "/v1/calendars/{id}/events", tag = "calendars", operation_id = "calendars_events",
    params(("id" = Uuid, Path, description = "The calendar id"), EventsQuery),
    description = "The calendar's event instances overlapping `from`–`to` (RFC 3339; default: the next 7 days; at most \
        62 days), recurring events expanded, earliest first. Instances are kept from a day back to eight weeks ahead.",
    responses((status = 200, body = Envelope<Vec<EventView>>), (status = 400), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn events(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<EventsQuery>,
) -> Result<ApiResponse<Vec<EventView>>, ApiError> {
    Ok(ApiResponse::ok(service::events(&state, user.id, *id, query.into_inner()).await?))
}

#[utoipa::path(post, path = "/v1/calendars/{id}/rules", tag = "calendars", operation_id = "calendars_add_rule",
    params(("id" = Uuid, Path, description = "The calendar id")), request_body = RuleInput,
    description = "What this calendar's matching events do to reminders when one comes due: `PAUSE_DURING` (fires when \
        the event ends), `SNOOZE_UNTIL_END` (snoozed until it ends), `SKIP_DAY` (that day's occurrence is skipped; the \
        next fires), `ESCALATE_FASTER` (in a free gap before a busy event of an hour or more, every tier's delay \
        shrinks so all are due before it starts). Pause and snooze leave critical reminders alone. At most 50 per \
        calendar.",
    responses((status = 201, body = Envelope<RuleView>), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn add_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<RuleInput>,
) -> Result<ApiResponse<RuleView>, ApiError> {
    Ok(ApiResponse::created(service::add_rule(&state, user.id, *id, body.0).await?))
}

#[utoipa::path(delete, path = "/v1/calendars/{id}/rules/{ruleId}", tag = "calendars", operation_id = "calendars_delete_rule",
    params(("id" = Uuid, Path, description = "The calendar id"), ("ruleId" = Uuid, Path, description = "The rule id")),
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (calendar, rule) = path.into_inner();
    service::delete_rule(&state, user.id, calendar.into(), rule.into()).await?;
    Ok(no_content())
}
