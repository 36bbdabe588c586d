//! Thin handlers for `/v1/marketplace/agents`: a developer's own agent types. 404 while
//! `FEATURE_MARKETPLACE` is off.

use actix_web::web;
use uuid::Uuid;

use super::model::{AgentView, AgentWithSecret, Manifest, ManifestPatch};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => register, list, get, update);
}

#[utoipa::path(post, path = "/v1/marketplace/agents", tag = "marketplace", operation_id = "marketplace_register",
    request_body = Manifest,
    description = "Registers an agent type for review. Its signing secret (`whsec_…`) is in this response only: it \
        signs the deliveries we POST to `callbackUrl` and the commands the agent sends us. 404 unless \
        FEATURE_MARKETPLACE is on.",
    responses((status = 201, body = Envelope<AgentWithSecret>), (status = 400), (status = 404), (status = 409)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn register(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<Manifest>,
) -> Result<ApiResponse<AgentWithSecret>, ApiError> {
    Ok(ApiResponse::created(service::register(&state, &user, body.0).await?))
}

#[utoipa::path(get, path = "/v1/marketplace/agents", tag = "marketplace", operation_id = "marketplace_list",
    description = "The caller's agent types with their review status, limits and failure count.",
    responses((status = 200, body = Envelope<Vec<AgentView>>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<AgentView>>, ApiError> {
    Ok(ApiResponse::ok(service::list(&state, &user).await?))
}

#[utoipa::path(get, path = "/v1/marketplace/agents/{id}", tag = "marketplace", operation_id = "marketplace_get",
    params(("id" = Uuid, Path, description = "The agent type's id")),
    description = "One of the caller's agent types; a suspended one says why.",
    responses((status = 200, body = Envelope<AgentView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<AgentView>, ApiError> {
    Ok(ApiResponse::ok(service::get(&state, &user, *id).await?))
}

#[utoipa::path(patch, path = "/v1/marketplace/agents/{id}", tag = "marketplace", operation_id = "marketplace_update",
    params(("id" = Uuid, Path, description = "The agent type's id")), request_body = ManifestPatch,
    description = "Changes an agent type. A new callback URL or schema, or asking a suspended type to be reactivated, \
        sends it back to review; a rotated secret is in this response only.",
    responses((status = 200, body = Envelope<AgentWithSecret>), (status = 400), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ManifestPatch>,
) -> Result<ApiResponse<AgentWithSecret>, ApiError> {
    Ok(ApiResponse::ok(service::update(&state, &user, *id, body.0).await?))
}
