//! Thin handlers for `/v1/family`, `/v1/reminders/{id}/shares` and `GET /v1/shared-reminders`.

use actix_web::{HttpResponse, web};
use reminder_core::ids::ReminderId;
use uuid::Uuid;

use super::model::{
    AcceptInput, FamilyView, InviteInput, MemberView, MembershipView, ShareView, SharedReminderView, SharesInput,
};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => family, invite, remove, accept, leave, shares, set_shares, shared_reminders);
}

#[utoipa::path(get, path = "/v1/family", tag = "family",
    description = "The caller's family group (invitations and members, and how many the tier allows) and the \
        family the caller belongs to.",
    responses((status = 200, body = Envelope<FamilyView>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn family(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<FamilyView>, ApiError> {
    Ok(ApiResponse::ok(service::view(&state, user.id).await?))
}

#[utoipa::path(post, path = "/v1/family/members", tag = "family", request_body = InviteInput,
    description = "Invites an address into the caller's family and mails it a link that works for 7 days. The \
        tier limits the places, open invitations included (FAMILY 5; other tiers 0: 403). Inviting an open \
        invitation's address again sends a new link.",
    responses((status = 201, body = Envelope<MemberView>), (status = 400), (status = 403),
        (status = 409, description = "The address is already a member")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn invite(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<InviteInput>,
) -> Result<ApiResponse<MemberView>, ApiError> {
    Ok(ApiResponse::created(service::invite(&state, user.id, body.0).await?))
}

#[utoipa::path(delete, path = "/v1/family/members/{id}", tag = "family",
    params(("id" = Uuid, Path, description = "The invitation's id (`MemberView.id`)")),
    description = "Withdraws an invitation or removes a member; every reminder shared with them stops being shared.",
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn remove(state: web::Data<AppState>, user: AuthUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    service::remove(&state, user.id, *id).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/family/accept", tag = "family", request_body = AcceptInput,
    description = "Joins the family of a mailed invitation, with the account of the invited address. One family \
        per person.",
    responses((status = 200, body = Envelope<MembershipView>),
        (status = 403, description = "The invitation is for another address"),
        (status = 409, description = "Already in a family, or the caller's own"),
        (status = 422, description = "Unknown, used, withdrawn or expired")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<AcceptInput>,
) -> Result<ApiResponse<MembershipView>, ApiError> {
    Ok(ApiResponse::ok(service::accept(&state, user.id, &body.0.token).await?))
}

#[utoipa::path(post, path = "/v1/family/leave", tag = "family",
    description = "Leaves the caller's family; its reminders stop being shared with the caller.",
    responses((status = 204), (status = 404, description = "Not in a family")), security(("bearer" = []), ("apiKey" = [])))]
pub async fn leave(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    service::leave(&state, user.id).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1/reminders/{id}/shares", tag = "family",
    params(("id" = Uuid, Path, description = "The reminder id")),
    responses((status = 200, body = Envelope<Vec<ShareView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn shares(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
) -> Result<ApiResponse<Vec<ShareView>>, ApiError> {
    Ok(ApiResponse::ok(service::shares(&state, user.id, *id).await?))
}

#[utoipa::path(put, path = "/v1/reminders/{id}/shares", tag = "family", request_body = SharesInput,
    params(("id" = Uuid, Path, description = "The reminder id")),
    description = "Shares the caller's reminder with exactly these members of the caller's family (an empty list \
        ends every share). Members see it, may acknowledge or complete it, and may be named in its profile's \
        tiers (`familyMemberIds`). It stays the caller's, and counts against the caller's quotas.",
    responses((status = 200, body = Envelope<Vec<ShareView>>), (status = 400, description = "Not a member"),
        (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn set_shares(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ReminderId>,
    body: Json<SharesInput>,
) -> Result<ApiResponse<Vec<ShareView>>, ApiError> {
    Ok(ApiResponse::ok(service::set_shares(&state, user.id, *id, body.0).await?))
}

#[utoipa::path(get, path = "/v1/shared-reminders", tag = "family",
    description = "The reminders shared with the caller by the owner of the caller's family.",
    responses((status = 200, body = Envelope<Vec<SharedReminderView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn shared_reminders(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<Vec<SharedReminderView>>, ApiError> {
    Ok(ApiResponse::ok(service::shared_reminders(&state, user.id).await?))
}
