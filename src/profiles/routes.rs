//! Thin handlers for `/v1/escalation-profiles`.

use actix_web::{HttpResponse, web};
use reminder_core::ids::ProfileId;
use serde::Deserialize;

use super::model::{ProfileInput, ProfilePatch, ProfileView};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::pagination::Page;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => list, create, get, update, delete);
}

/// `?page=&pageSize=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}

#[utoipa::path(get, path = "/v1/escalation-profiles", tag = "escalation-profiles", operation_id = "profiles_list", params(ListQuery),
    description = "The caller's profiles and the shared presets. A tier's `delayMinutes` counts from the moment the reminder fired.",
    responses((status = 200, body = Envelope<Vec<ProfileView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<ApiResponse<Vec<ProfileView>>, ApiError> {
    let mut errors = Vec::new();
    let page = Page::from_query(query.page, query.page_size, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.db.get().await?;
    let (views, pagination) = service::list(&mut conn, user.id, page).await?;
    Ok(ApiResponse::page(views, pagination))
}

#[utoipa::path(post, path = "/v1/escalation-profiles", tag = "escalation-profiles", operation_id = "profiles_create", request_body = ProfileInput,
    description = "Creates a profile. Tiers are numbered 1..n; each tier's `delayMinutes` counts from the moment the \
        reminder fired (not from the previous tier) and must not decrease.",
    responses((status = 201, body = Envelope<ProfileView>), (status = 400)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ProfileInput>,
) -> Result<ApiResponse<ProfileView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::created(service::create(&mut conn, user.id, body.0).await?))
}

#[utoipa::path(get, path = "/v1/escalation-profiles/{id}", tag = "escalation-profiles", operation_id = "profiles_get", params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Envelope<ProfileView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ProfileId>,
) -> Result<ApiResponse<ProfileView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(service::get(&mut conn, user.id, *id).await?))
}

#[utoipa::path(patch, path = "/v1/escalation-profiles/{id}", tag = "escalation-profiles", operation_id = "profiles_update", params(("id" = Uuid, Path, description = "The resource id")), request_body = ProfilePatch,
    description = "Changes a profile. Presets → 403; a stale `version` → 409. A tier's `delayMinutes` counts from the \
        moment the reminder fired.",
    responses((status = 200, body = Envelope<ProfileView>), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ProfileId>,
    body: Json<ProfilePatch>,
) -> Result<ApiResponse<ProfileView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(service::update(&mut conn, user.id, *id, body.0).await?))
}

#[utoipa::path(delete, path = "/v1/escalation-profiles/{id}", tag = "escalation-profiles", operation_id = "profiles_delete", params(("id" = Uuid, Path, description = "The resource id")),
    description = "Deletes a profile. Presets → 403; a profile any reminder uses → 409.",
    responses((status = 204), (status = 403), (status = 404), (status = 409)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<ProfileId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    service::delete(&mut conn, user.id, *id).await?;
    Ok(no_content())
}
