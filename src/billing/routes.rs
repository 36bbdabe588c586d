//! Thin handlers for `/v1/billing/*` and the Square webhook.

use actix_web::web;
use serde::Deserialize;

use super::model::{BillingSubscriptionView, CheckoutInput, CheckoutView, Invoice};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::pagination::Page;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => subscription, checkout, cancel, reactivate, invoices);
}

#[utoipa::path(get, path = "/v1/billing/subscription", tag = "billing",
    description = "The tier in force, its limits and what is used of them, and the account's delivery controls.",
    responses((status = 200, body = Envelope<BillingSubscriptionView>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn subscription(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<BillingSubscriptionView>, ApiError> {
    Ok(ApiResponse::ok(service::summary(&state, user.id).await?))
}

#[utoipa::path(post, path = "/v1/billing/checkout", tag = "billing", request_body = CheckoutInput,
    description = "A Square payment link that subscribes the user to the tier's plan. The tier changes when \
        Square reports the subscription.",
    responses((status = 200, body = Envelope<CheckoutView>), (status = 400), (status = 503)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn checkout(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CheckoutInput>,
) -> Result<ApiResponse<CheckoutView>, ApiError> {
    Ok(ApiResponse::ok(service::checkout(&state, user.id, body.0).await?))
}

#[utoipa::path(post, path = "/v1/billing/cancel", tag = "billing",
    description = "Cancels the paid subscription at the end of the paid period.",
    responses((status = 200, body = Envelope<BillingSubscriptionView>), (status = 422)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<BillingSubscriptionView>, ApiError> {
    Ok(ApiResponse::ok(service::cancel(&state, user.id).await?))
}

#[utoipa::path(post, path = "/v1/billing/reactivate", tag = "billing",
    description = "Undoes a cancellation before the paid period ends: Square's scheduled cancellation is deleted and \
        the subscription renews as before. 422 when nothing is cancelled or the period has already ended.",
    responses((status = 200, body = Envelope<BillingSubscriptionView>), (status = 422), (status = 503)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn reactivate(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<BillingSubscriptionView>, ApiError> {
    Ok(ApiResponse::ok(service::reactivate(&state, user.id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}

#[utoipa::path(get, path = "/v1/billing/invoices", tag = "billing", params(InvoiceQuery),
    description = "Payments as Square reported them, newest first.",
    responses((status = 200, body = Envelope<Vec<Invoice>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn invoices(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<InvoiceQuery>,
) -> Result<ApiResponse<Vec<Invoice>>, ApiError> {
    let mut errors = Vec::new();
    let page = Page::from_query(query.page, query.page_size, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (rows, pagination) = service::invoices(&state, user.id, page).await?;
    Ok(ApiResponse::page(rows, pagination))
}
