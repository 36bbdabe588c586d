//! Email verification in the console: the page the mailed link opens (one press confirms; a GET alone
//! changes nothing, so a mail scanner that follows links confirms nobody), and a new link for the signed-in
//! viewer. The rules live in [`crate::accounts::auth::email_verification`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::account::{TokenOnly, anon_page, check_anon};
use super::{Posted, redirect_with};
use crate::accounts::auth::{email_verification, reset};
use crate::console::error::ConsoleError;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    csrf: String,
}

/// `state`: `ready` (the button), `done` or `dead`.
fn verify_page(req: &HttpRequest, state: &AppState, token: &str, outcome: &str, email: Option<&str>) -> HttpResponse {
    let status = if outcome == "dead" { StatusCode::GONE } else { StatusCode::OK };
    anon_page(req, state, status, "verify_email.html", json!({"token": token, "state": outcome, "email": email}))
}

pub async fn confirm_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    match email_verification::check(&state, &token).await {
        Ok(()) => Ok(verify_page(&req, &state, &token, "ready", None)),
        Err(err) if reset::is_dead_link(&err) => Ok(verify_page(&req, &state, &token, "dead", None)),
        Err(err) => Err(err.into()),
    }
}

pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    check_anon(&req, &state, &form.csrf)?;
    crate::http::rate_limit::check_ip(&state, &req).await?;
    match email_verification::confirm(&state, &token).await {
        Ok(done) => Ok(verify_page(&req, &state, &token, "done", Some(&done.email))),
        Err(err) if reset::is_dead_link(&err) => Ok(verify_page(&req, &state, &token, "dead", None)),
        Err(err) => Err(err.into()),
    }
}

/// A new link for the signed-in viewer; the answer comes back to the home page as a message.
pub async fn resend(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let message = match email_verification::resend(&state, viewer.user_id).await {
        Ok(()) => format!("We sent a new link to {}. It works for 48 hours.", viewer.email),
        Err(ApiError::RateLimited { .. }) => "You asked for several links already; try again in an hour.".to_owned(),
        Err(err) if err.code() == ErrorCode::Conflict => "Your email address is already confirmed.".to_owned(),
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, "/", &message))
}
