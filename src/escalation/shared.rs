//! What a family member does to a reminder shared with them: acknowledge or complete it, through the one
//! action path, recorded as `member:<id>` on the episode, in the event log and in the lifecycle events. The
//! share is checked in the action's transaction, so a member who has just been removed cannot act.

use actix_web::web;
use diesel_async::AsyncConnection;
use reminder_core::ids::{ReminderId, UserId};

use super::actions::{self, Actor};
use super::routes::action_input;
use super::snooze::{ActionInput, Simple};
use crate::accounts::auth::AuthUser;
use crate::family::model::SharedReminderView;
use crate::family::{service as family, store as shares};
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => acknowledge, complete);
}

/// Acknowledges or completes a reminder shared with `member` on behalf of its owner.
pub async fn act(
    state: &AppState,
    member: UserId,
    id: ReminderId,
    note: Option<&str>,
    which: Simple,
) -> Result<SharedReminderView, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let owner = shares::owner_sharing(conn, member, id).await?.ok_or_else(|| ApiError::not_found("Reminder"))?;
        let actor = Actor::Member(member);
        match which {
            Simple::Acknowledge => actions::acknowledge(conn, owner, id, actor, note, now).await?,
            Simple::Complete => actions::complete(conn, owner, id, actor, note, now).await?,
        };
        family::shared_reminder_on(conn, member, id).await
    })
    .await
}

async fn handle(
    state: &AppState,
    user: &AuthUser,
    id: ReminderId,
    body: &web::Bytes,
    which: Simple,
) -> Result<ApiResponse<SharedReminderView>, ApiError> {
    let input = action_input(body)?;
    Ok(ApiResponse::ok(act(state, user.id, id, input.note()?, which).await?))
}

#[utoipa::path(post, path = "/v1/shared-reminders/{id}/acknowledge", tag = "family",
    params(("id" = Uuid, Path, description = "The shared reminder's id")), request_body = ActionInput,
    description = "Acknowledges a reminder shared with the caller: its escalation pauses for the ack window, and \
        the episode and event log name the caller (`member:<id>`).",
    responses((status = 200, body = Envelope<SharedReminderView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: web::Bytes,
) -> Result<ApiResponse<SharedReminderView>, ApiError> {
    handle(&state, &user, *id, &body, Simple::Acknowledge).await
}

#[utoipa::path(post, path = "/v1/shared-reminders/{id}/complete", tag = "family",
    params(("id" = Uuid, Path, description = "The shared reminder's id")), request_body = ActionInput,
    description = "Completes this occurrence of a reminder shared with the caller, named as `member:<id>`.",
    responses((status = 200, body = Envelope<SharedReminderView>), (status = 404), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: web::Bytes,
) -> Result<ApiResponse<SharedReminderView>, ApiError> {
    handle(&state, &user, *id, &body, Simple::Complete).await
}
