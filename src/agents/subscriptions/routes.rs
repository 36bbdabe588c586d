//! Thin handlers for `/v1/agents/*`.

use actix_web::{HttpResponse, web};
use reminder_core::ids::SubscriptionId;

use super::model::{
    AgentTypeView, PushKeyView, SubscribeInput, SubscriptionPatch, SubscriptionView, SubscriptionWithSecret, TestResult,
};
use super::service;
use super::verification::{self, VerificationView, VerifyInput};
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => catalogue, push_key, list, update, delete, test, verify, resend, subscribe);
}

#[utoipa::path(get, path = "/v1/agents", tag = "agents", operation_id = "agents_catalogue", responses((status = 200, body = Envelope<Vec<AgentTypeView>>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn catalogue(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<Vec<AgentTypeView>>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(service::catalogue(&mut conn, &user, state.config.feature_marketplace).await?))
}

#[utoipa::path(get, path = "/v1/agents/push/public-key", tag = "agents", operation_id = "agents_push_key",
    description = "The server's VAPID public key, the `applicationServerKey` a browser subscribes with before the \
        subscription is posted to `POST /v1/agents/push/subscribe`. 404 when browser push is off.",
    responses((status = 200, body = Envelope<PushKeyView>), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn push_key(state: web::Data<AppState>, _user: AuthUser) -> Result<ApiResponse<PushKeyView>, ApiError> {
    let vapid = state.config.vapid.as_ref().ok_or_else(|| ApiError::not_found("Browser push"))?;
    Ok(ApiResponse::ok(PushKeyView { public_key: vapid.public_key.clone() }))
}

#[utoipa::path(get, path = "/v1/agents/subscriptions", tag = "agents", operation_id = "agents_list", responses((status = 200, body = Envelope<Vec<SubscriptionView>>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<SubscriptionView>>, ApiError> {
    Ok(ApiResponse::ok(service::list(&state, &user).await?))
}

#[utoipa::path(post, path = "/v1/agents/{agentType}/subscribe", tag = "agents", operation_id = "agents_subscribe", params(("agentType" = String, Path, description = "email, sms, webhook, pull or push")), request_body = SubscribeInput,
    description = "Subscribes a channel. A webhook's signing secret (`whsec_…`) is in this response only.",
    responses((status = 201, body = Envelope<SubscriptionWithSecret>), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn subscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    agent_type: web::Path<String>,
    body: Json<SubscribeInput>,
) -> Result<ApiResponse<SubscriptionWithSecret>, ApiError> {
    Ok(ApiResponse::created(service::subscribe(&state, &user, &agent_type, body.0).await?))
}

#[utoipa::path(patch, path = "/v1/agents/subscriptions/{id}", tag = "agents", operation_id = "agents_update", params(("id" = Uuid, Path, description = "The resource id")), request_body = SubscriptionPatch,
    responses((status = 200, body = Envelope<SubscriptionWithSecret>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    body: Json<SubscriptionPatch>,
) -> Result<ApiResponse<SubscriptionWithSecret>, ApiError> {
    Ok(ApiResponse::ok(service::update(&state, &user, *id, body.0).await?))
}

#[utoipa::path(delete, path = "/v1/agents/subscriptions/{id}", tag = "agents", operation_id = "agents_delete", params(("id" = Uuid, Path, description = "The resource id")), responses((status = 204), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<SubscriptionId>,
) -> Result<HttpResponse, ApiError> {
    service::delete(&state, &user, *id).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/agents/subscriptions/{id}/test", tag = "agents", operation_id = "agents_test", params(("id" = Uuid, Path, description = "The resource id")),
    description = "Sends a test notification now through the real channel, under the account's delivery controls and SMS budget, and answers with the outcome. An unverified email or SMS channel is refused (409).",
    responses((status = 200, body = Envelope<TestResult>), (status = 404), (status = 409), (status = 422)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn test(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<SubscriptionId>,
) -> Result<ApiResponse<TestResult>, ApiError> {
    Ok(ApiResponse::ok(service::test(&state, &user, *id).await?))
}

#[utoipa::path(post, path = "/v1/agents/subscriptions/{id}/verify", tag = "agents", operation_id = "agents_verify", params(("id" = Uuid, Path, description = "The resource id")), request_body = VerifyInput,
    description = "Confirms an email or SMS channel with the code sent to it; until then it receives nothing else. A code is valid 30 minutes and allows 5 guesses.",
    responses((status = 200, body = Envelope<SubscriptionView>), (status = 400), (status = 404), (status = 422)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn verify(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<SubscriptionId>,
    body: Json<VerifyInput>,
) -> Result<ApiResponse<SubscriptionView>, ApiError> {
    Ok(ApiResponse::ok(verification::verify(&state, user.id, *id, body.0).await?))
}

#[utoipa::path(post, path = "/v1/agents/subscriptions/{id}/verify/resend", tag = "agents", operation_id = "agents_verify_resend", params(("id" = Uuid, Path, description = "The resource id")),
    description = "Sends a new code to an unverified email or SMS channel (the old one stops working). At most one a minute and 5 a day per address, 10 a day per account.",
    responses((status = 200, body = Envelope<VerificationView>), (status = 404), (status = 409), (status = 422), (status = 429)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn resend(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<SubscriptionId>,
) -> Result<ApiResponse<VerificationView>, ApiError> {
    Ok(ApiResponse::ok(verification::resend(&state, user.id, *id).await?))
}
