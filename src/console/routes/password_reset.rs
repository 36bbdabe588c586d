//! Forgotten password (only when this server sends email): ask for a link on `/password/forgot`, then set
//! a new password on the page the link opens. The rules live in [`crate::accounts::auth::reset`]; these
//! pages carry the sign-in page's kind of form token (no session yet).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::{anon_page, check_anon};
use super::redirect_with;
use crate::accounts::auth::reset;
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{Errors, place};
use crate::http::client_ip::{client_ip, network_key};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// The new password, twice; never written back into the page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    csrf: String,
    password: String,
    password_again: String,
}

fn ensure_available(state: &AppState) -> Result<(), ConsoleError> {
    if reset::available(state) { Ok(()) } else { Err(ConsoleError::NotFound) }
}

fn forgot_page(req: &HttpRequest, state: &AppState, form: &ForgotForm, errors: &Errors, sent: bool) -> HttpResponse {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let context = json!({"form": form, "errors": errors, "sent": sent, "minutes": reset::LINK_LIFETIME.num_minutes()});
    anon_page(req, state, status, "password_forgot.html", context)
}

pub async fn forgot_form(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    ensure_available(&state)?;
    Ok(forgot_page(&req, &state, &ForgotForm::default(), &Errors::new(), false))
}

pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_available(&state)?;
    let form = form.into_inner();
    check_anon(&req, &state, &form.csrf)?;
    let network = client_ip(&req, &state.config.trusted_proxies).map_or_else(|| "unknown".to_owned(), network_key);
    match reset::request(&state, &form.email, &network).await {
        // The same page whether or not the address has an account.
        Ok(()) => Ok(forgot_page(&req, &state, &form, &Errors::new(), true)),
        Err(err) => match field_errors(&err) {
            Some(found) => {
                let mut errors = Errors::new();
                place(&mut errors, found, |_| "email");
                Ok(forgot_page(&req, &state, &form, &errors, false))
            }
            None => Err(err.into()),
        },
    }
}

fn reset_page(req: &HttpRequest, state: &AppState, token: &str, errors: &Errors, status: StatusCode) -> HttpResponse {
    let dead = status == StatusCode::GONE;
    anon_page(req, state, status, "password_reset.html", json!({"token": token, "errors": errors, "dead": dead}))
}

pub async fn reset_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_available(&state)?;
    match reset::check(&state, &token).await {
        Ok(()) => Ok(reset_page(&req, &state, &token, &Errors::new(), StatusCode::OK)),
        Err(err) if reset::is_dead_link(&err) => Ok(reset_page(&req, &state, &token, &Errors::new(), StatusCode::GONE)),
        Err(err) => Err(err.into()),
    }
}

pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_available(&state)?;
    let form = form.into_inner();
    check_anon(&req, &state, &form.csrf)?;
    crate::http::rate_limit::check_ip(&state, &req).await?;
    let mut errors = Errors::new();
    if form.password != form.password_again {
        errors.insert("password_again".into(), "The two passwords differ.".into());
        return Ok(reset_page(&req, &state, &token, &errors, StatusCode::BAD_REQUEST));
    }
    match reset::complete(&state, &token, form.password).await {
        Ok(()) => Ok(redirect_with(
            &state.config,
            "/login",
            "Your new password is set, and every session was signed out. Sign in with the new password.",
        )),
        Err(err) if reset::is_dead_link(&err) => Ok(reset_page(&req, &state, &token, &errors, StatusCode::GONE)),
        Err(err) => match field_errors(&err) {
            Some(found) => {
                place(&mut errors, found, |_| "password");
                Ok(reset_page(&req, &state, &token, &errors, StatusCode::BAD_REQUEST))
            }
            None => Err(err.into()),
        },
    }
}
