//! Thin handlers for `/v1/trusted-contacts` (404 while `FEATURE_SOCIAL_ESCALATION` is off).

use actix_web::{HttpResponse, web};
use reminder_core::ids::ContactId;

use super::ensure_enabled;
use super::service::{self, ContactInput, ContactPatch};
use super::store::ContactView;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, get, update, delete);
    super::consent::configure(r);
}

#[utoipa::path(post, path = "/v1/trusted-contacts", tag = "contacts", operation_id = "contacts_create", request_body = ContactInput,
    description = "Adds a contact and emails them an invitation; they are reached only after accepting. The tier \
        limits how many (FREE 0, PERSONAL 2, PRO 10, FAMILY 20; 403 beyond).",
    responses((status = 201, body = Envelope<ContactView>), (status = 403), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ContactInput>,
) -> Result<ApiResponse<ContactView>, ApiError> {
    ensure_enabled(&state)?;
    Ok(ApiResponse::created(service::create(&state, user.id, body.0).await?))
}

#[utoipa::path(get, path = "/v1/trusted-contacts", tag = "contacts", operation_id = "contacts_list",
    responses((status = 200, body = Envelope<Vec<ContactView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<ContactView>>, ApiError> {
    ensure_enabled(&state)?;
    Ok(ApiResponse::ok(service::list(&state, user.id).await?))
}

#[utoipa::path(get, path = "/v1/trusted-contacts/{id}", tag = "contacts", operation_id = "contacts_get",
    params(("id" = Uuid, Path, description = "The contact id")),
    responses((status = 200, body = Envelope<ContactView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ContactId>,
) -> Result<ApiResponse<ContactView>, ApiError> {
    ensure_enabled(&state)?;
    Ok(ApiResponse::ok(service::get(&state, user.id, *id).await?))
}

#[utoipa::path(patch, path = "/v1/trusted-contacts/{id}", tag = "contacts", operation_id = "contacts_update",
    params(("id" = Uuid, Path, description = "The contact id")), request_body = ContactPatch,
    description = "A new email or phone resets consent to pending and sends a new invitation.",
    responses((status = 200, body = Envelope<ContactView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ContactId>,
    body: Json<ContactPatch>,
) -> Result<ApiResponse<ContactView>, ApiError> {
    ensure_enabled(&state)?;
    Ok(ApiResponse::ok(service::update(&state, user.id, *id, body.0).await?))
}

#[utoipa::path(delete, path = "/v1/trusted-contacts/{id}", tag = "contacts", operation_id = "contacts_delete",
    params(("id" = Uuid, Path, description = "The contact id")),
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ContactId>,
) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    service::delete(&state, user.id, *id).await?;
    Ok(no_content())
}
