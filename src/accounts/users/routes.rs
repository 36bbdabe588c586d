//! Thin handlers for `/v1/users/me`.

use actix_web::{HttpResponse, web};

use super::model::{PasswordChange, UserPatch, UserView};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => me, update_me, delete_me, change_password);
}

#[utoipa::path(get, path = "/v1/users/me", tag = "users", responses((status = 200, body = Envelope<UserView>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<UserView>, ApiError> {
    Ok(ApiResponse::ok(service::me(&state, user.id).await?))
}

#[utoipa::path(patch, path = "/v1/users/me", tag = "users", request_body = UserPatch,
    responses((status = 200, body = Envelope<UserView>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn update_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<UserPatch>,
) -> Result<ApiResponse<UserView>, ApiError> {
    Ok(ApiResponse::ok(service::update_me(&state, user.id, body.0).await?))
}

#[utoipa::path(post, path = "/v1/users/me/password", tag = "users", request_body = PasswordChange,
    description = "Changes the password. Every other session is revoked at once; with `revokeApiKeys: true` every API \
        key of the account too (the key making this call included).",
    responses((status = 204), (status = 401)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    service::change_password(&state, user.id, user.session_id, body.0).await?;
    Ok(no_content())
}

#[utoipa::path(delete, path = "/v1/users/me", tag = "users", responses((status = 204)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete_me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    service::delete_me(&state, user.id).await?;
    Ok(no_content())
}
