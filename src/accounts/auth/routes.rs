//! Thin handlers for `/v1/auth/*`.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::email_verification::{self, EmailVerifiedView, VerifyEmailInput};
use super::model::{AuthResult, LoginInput, RefreshInput, RegisterInput, SessionView, TokenPair};
use super::service::{self, ClientInfo};
use super::{AuthUser, api_keys};
use crate::http::client_ip::{client_ip, network_key};
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, rate_limit, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    // The unauthenticated routes share one per-IP bucket; authenticated ones are limited per user.
    r.layered(rate_limit::per_ip_layer, |r| routes!(r => register, login, refresh, logout, verify_email));
    routes!(r => sessions, revoke_session, api_keys::list, api_keys::create, api_keys::revoke, resend_verification);
}

/// Who is signing in or up, from where (the API and the console).
pub fn client_info(req: &HttpRequest, state: &AppState) -> ClientInfo {
    let ip = client_ip(req, &state.config.trusted_proxies);
    ClientInfo {
        user_agent: req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
        ip: ip.map(|ip| ip.to_string()),
        network: ip.map_or_else(|| "unknown".to_owned(), network_key),
    }
}

#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterInput, responses(
    (status = 201, body = Envelope<AuthResult>), (status = 400, description = "Invalid fields"), (status = 409, description = "Email taken")))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RegisterInput>,
) -> Result<ApiResponse<AuthResult>, ApiError> {
    let client = client_info(&req, &state);
    Ok(ApiResponse::created(service::register(&state, body.0, client).await?))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginInput, responses(
    (status = 200, body = Envelope<AuthResult>), (status = 401, description = "Wrong email or password")))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginInput>,
) -> Result<ApiResponse<AuthResult>, ApiError> {
    let client = client_info(&req, &state);
    Ok(ApiResponse::ok(service::login(&state, body.0, client).await?))
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshInput, responses(
    (status = 200, body = Envelope<TokenPair>), (status = 401, description = "Invalid, expired or reused token")))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshInput>) -> Result<ApiResponse<TokenPair>, ApiError> {
    Ok(ApiResponse::ok(service::refresh(&state, body.0).await?))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshInput, responses((status = 204)))]
pub async fn logout(state: web::Data<AppState>, body: Json<RefreshInput>) -> Result<HttpResponse, ApiError> {
    service::logout(&state, body.0).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth", responses((status = 200, body = Envelope<Vec<SessionView>>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn sessions(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<SessionView>>, ApiError> {
    Ok(ApiResponse::ok(service::sessions(&state, user.id, user.session_id).await?))
}

#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "auth", params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    service::revoke_session(&state, user.id, *id).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailInput,
    description = "Confirms the account's email address with the token of the link mailed at sign-up (no sign-in \
        needed: the link may be opened on another device). A link works once and for 48 hours; a newer link ends \
        the older ones. Until the address is confirmed, email channels may only go to it.",
    responses((status = 200, body = Envelope<EmailVerifiedView>),
        (status = 422, description = "The link is unknown, used, expired or superseded")))]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: Json<VerifyEmailInput>,
) -> Result<ApiResponse<EmailVerifiedView>, ApiError> {
    Ok(ApiResponse::ok(email_verification::confirm(&state, &body.0.token).await?))
}

#[utoipa::path(post, path = "/v1/auth/verify-email/resend", tag = "auth",
    description = "Mails a new confirmation link to the account's address (older links stop working). Three an hour.",
    responses((status = 204), (status = 409, description = "The address is already confirmed"), (status = 429)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn resend_verification(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    email_verification::resend(&state, user.id).await?;
    Ok(no_content())
}
