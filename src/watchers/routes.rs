//! Thin handlers: email watcher rules (`/v1/watchers`) and the inbound email webhook.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::email_watchers as service;
use super::inbound::{self, InboundOutcome};
use super::rules::{WatcherInput, WatcherView};
use super::sample::{self, SampleMessage, SampleResult};
use crate::accounts::auth::AuthUser;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    // `rotate_address` before `get`: `/v1/watchers/{id}` would otherwise take `rotate-address` as an id.
    routes!(r => list, create, rotate_address, get, delete, test, inbound_without_secret, inbound_email);
}

#[utoipa::path(post, path = "/v1/watchers", tag = "evidence", operation_id = "watchers_create", request_body = WatcherInput,
    description = "Creates an email watcher: mail sent to the answer's `inboundAddress` that matches every condition given \
        completes or acknowledges the reminder. At most 100 per user.",
    responses((status = 201, body = Envelope<WatcherView>), (status = 403)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<WatcherInput>,
) -> Result<ApiResponse<WatcherView>, ApiError> {
    Ok(ApiResponse::created(service::create(&state, user.id, body.0).await?))
}

#[utoipa::path(get, path = "/v1/watchers", tag = "evidence", operation_id = "watchers_list",
    responses((status = 200, body = Envelope<Vec<WatcherView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<WatcherView>>, ApiError> {
    Ok(ApiResponse::ok(service::list(&state, user.id).await?))
}

#[utoipa::path(get, path = "/v1/watchers/{id}", tag = "evidence", operation_id = "watchers_get",
    params(("id" = Uuid, Path, description = "The watcher id")),
    responses((status = 200, body = Envelope<WatcherView>), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<ApiResponse<WatcherView>, ApiError> {
    Ok(ApiResponse::ok(service::get(&state, user.id, *id).await?))
}

/// The user's watcher address after a rotation.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WatchAddressView {
    /// Forward matching mail to this address from now on; the previous one is ignored.
    pub inbound_address: String,
}

#[utoipa::path(post, path = "/v1/watchers/rotate-address", tag = "evidence", operation_id = "watchers_rotate_address",
    description = "Gives the user's watcher address (the `inboundAddress` of every watcher) a new token. Mail to the old \
        address is ignored from now on, so a leaked address stops working; update your forwarding rules.",
    responses((status = 200, body = Envelope<WatchAddressView>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn rotate_address(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<WatchAddressView>, ApiError> {
    Ok(ApiResponse::ok(WatchAddressView { inbound_address: service::rotate_address(&state, user.id).await? }))
}

#[utoipa::path(delete, path = "/v1/watchers/{id}", tag = "evidence", operation_id = "watchers_delete",
    params(("id" = Uuid, Path, description = "The watcher id")),
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(state: web::Data<AppState>, user: AuthUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    service::delete(&state, user.id, *id).await?;
    Ok(no_content())
}

#[utoipa::path(post, path = "/v1/watchers/{id}/test", tag = "evidence", operation_id = "watchers_test",
    params(("id" = Uuid, Path, description = "The watcher id")), request_body = SampleMessage,
    description = "Runs a sample message against the watcher's conditions and answers which hold and whether the \
        watcher would act. Nothing is recorded or completed. A real email's sender must also pass SPF or DKIM, which \
        a sample cannot show.",
    responses((status = 200, body = Envelope<SampleResult>), (status = 400), (status = 404)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn test(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SampleMessage>,
) -> Result<ApiResponse<SampleResult>, ApiError> {
    Ok(ApiResponse::ok(sample::run(&state, user.id, *id, body.0).await?))
}

fn forged() -> ApiError {
    ApiError::unauthorized("The inbound email secret is missing or wrong.")
}

#[utoipa::path(post, path = "/v1/webhooks/email/inbound", tag = "evidence", operation_id = "inbound_email_without_secret",
    description = "Always 401: the inbound email webhook is `/v1/webhooks/email/inbound/{secret}`.",
    responses((status = 401)))]
pub async fn inbound_without_secret() -> Result<HttpResponse, ApiError> {
    Err(forged())
}

#[utoipa::path(post, path = "/v1/webhooks/email/inbound/{secret}", tag = "evidence", operation_id = "inbound_email",
    params(("secret" = String, Path, description = "INBOUND_EMAIL_SECRET")),
    request_body(content = Object, content_type = "multipart/form-data", description = "SendGrid Inbound Parse fields: from, to, cc, subject, text, html, headers, envelope, SPF, dkim"),
    description = "SendGrid Inbound Parse. Mail to a user's watcher address is matched against that user's rules; when the \
        post carries SendGrid's `SPF`/`dkim` verdicts, a rule on the sender matches only if they vouch for the From \
        domain. A reply to a notification acts on its episode (`done`, `ack`, `snooze <time>` on the first line; a \
        trusted contact's only `got it`); the subject or first line `unsubscribe` stops that recipient's emails. A \
        wrong or missing secret → 401 and nothing changes; a post over 1 MiB → 413.",
    responses((status = 200, body = Envelope<InboundOutcome>), (status = 401), (status = 413)))]
pub async fn inbound_email(
    state: web::Data<AppState>,
    secret: web::Path<String>,
    form: Multipart,
) -> Result<ApiResponse<InboundOutcome>, ApiError> {
    let expected = state.config.inbound_email_secret.as_ref().ok_or_else(forged)?;
    if !crate::crypto::constant_time_eq(secret.as_bytes(), expected.expose_secret().as_bytes()) {
        return Err(forged());
    }
    // The size limit is counted while reading (Content-Length may be absent or wrong); answering before the
    // body is read would cut the connection under the sender instead of giving it a readable 413.
    let email = inbound::read(form).await?;
    Ok(ApiResponse::ok(inbound::process(&state, &email).await?))
}
