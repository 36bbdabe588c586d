//! Billing: the plan in force, usage against its quotas, upgrading through Square's checkout, cancelling and
//! taking the cancellation back (the services behind `/v1/billing/*`); and the page Square's checkout sends the buyer back to (the payment
//! itself reaches us separately, by Square's signed webhook).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::tiers::{self, Tier};
use serde::Deserialize;
use serde_json::json;

use super::account::TokenOnly;
use super::{Posted, page, redirect_with, tokened};
use crate::billing::model::CheckoutInput;
use crate::billing::service as billing;
/// The path Square's checkout returns to (`billing::square` builds the redirect from it).
pub use crate::billing::square::RETURN_PATH;
use crate::billing::square::Square;
use crate::console::error::ConsoleError;
use crate::console::session::Viewer;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

async fn billing_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    checkout_url: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let summary = billing::summary(state, viewer.user_id).await?;
    let sold = state.config.square_access_token.is_some() && state.config.square_location_id.is_some();
    let plans: Vec<_> = tiers::ALL
        .into_iter()
        .filter(|tier| *tier != Tier::Free)
        .map(|tier| {
            let limits = state.config.tier_limits.get(tier);
            json!({"tier": tier.as_str(), "limits": limits, "current": tier == summary.tier,
                   "price": format!("{}.{:02}", limits.price_cents / 100, limits.price_cents % 100),
                   "buyable": sold && Square::plan_of(&state.config, tier).is_some()})
        })
        .collect();
    let context =
        json!({"s": summary, "plans": plans, "checkoutUrl": checkout_url, "free": summary.tier == Tier::Free});
    Ok(page(req, &state.config, viewer, "billing", "billing.html", StatusCode::OK, context))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    billing_page(&req, &state, &viewer, None).await
}

/// A refusal the person can act on goes back to the billing page as a message; the rest is an error page.
fn refused(state: &AppState, err: ApiError) -> Result<HttpResponse, ConsoleError> {
    match err {
        ApiError::Client {
            code: ErrorCode::UnprocessableEntity | ErrorCode::ServiceUnavailable | ErrorCode::ValidationError,
            message,
            ..
        } => Ok(redirect_with(&state.config, "/billing", &message)),
        err => Err(err.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CheckoutForm {
    csrf: String,
    tier: String,
}
tokened!(CheckoutForm);

/// Opens a Square checkout and shows a link to it: a form may not redirect to another site under our
/// `form-action 'self'` policy, and a link works with JavaScript off.
pub async fn checkout(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<CheckoutForm>,
) -> Result<HttpResponse, ConsoleError> {
    match billing::checkout(&state, viewer.user_id, CheckoutInput { tier: form.tier.clone() }).await {
        Ok(view) => billing_page(&req, &state, &viewer, Some(view.checkout_url)).await,
        Err(err) => refused(&state, err),
    }
}

pub async fn cancel(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    match billing::cancel(&state, viewer.user_id).await {
        Ok(_) => Ok(redirect_with(&state.config, "/billing", "Cancelled. Your plan stays until the paid period ends.")),
        Err(err) => refused(&state, err),
    }
}

/// Undoes a cancellation while the paid period lasts.
pub async fn reactivate(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    match billing::reactivate(&state, viewer.user_id).await {
        Ok(_) => Ok(redirect_with(&state.config, "/billing", "Your subscription continues and renews as before.")),
        Err(err) => refused(&state, err),
    }
}

pub async fn returned(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ConsoleError> {
    let summary = billing::summary(&state, viewer.user_id).await?;
    let context = json!({"tier": summary.tier.as_str(), "status": summary.status});
    Ok(page(&req, &state.config, &viewer, "billing", "billing_return.html", StatusCode::OK, context))
}
