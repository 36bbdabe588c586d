//! Sign up, sign in, sign out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Posted, append_cookie, tokened};
use crate::accounts::auth::model::{AuthResult, LoginInput, RegisterInput};
use crate::accounts::auth::{service as auth, tokens};
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{Errors, place};
use crate::console::session::{self, COOKIE, safe_next};
use crate::console::{csrf, render};
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    email: String,
    #[serde(skip_serializing)]
    password: String,
    next: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SignupForm {
    csrf: String,
    email: String,
    display_name: String,
    #[serde(skip_serializing)]
    password: String,
    timezone: String,
    next: String,
}

/// The random value the sign-in and sign-up forms' token is bound to: the cookie's, or a new one.
fn anon_binding(req: &HttpRequest) -> (String, bool) {
    match session::cookie(req, csrf::ANON_COOKIE) {
        Some(value) if value.len() <= 100 => (value.to_owned(), false),
        _ => (tokens::random_token(""), true),
    }
}

pub(super) fn check_anon(req: &HttpRequest, state: &AppState, given: &str) -> Result<(), ConsoleError> {
    let binding = session::cookie(req, csrf::ANON_COOKIE).ok_or(ConsoleError::Forbidden)?;
    if csrf::verify(&state.config, &format!("anon:{binding}"), given) { Ok(()) } else { Err(ConsoleError::Forbidden) }
}

/// Renders a sign-in or sign-up page with a token bound to the visitor's cookie (set when new).
pub(super) fn anon_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    name: &str,
    mut context: serde_json::Value,
) -> HttpResponse {
    let (binding, fresh) = anon_binding(req);
    let flash = super::take_flash(req);
    let next = context["form"]["next"].as_str().filter(|next| *next != "/").map(str::to_owned);
    let google_href = super::google::button_href(state, next.as_deref().unwrap_or("/"));
    let signup_href = match next {
        Some(next) => format!(
            "/signup?{}",
            url::form_urlencoded::Serializer::new(String::new()).append_pair("next", &next).finish()
        ),
        None => "/signup".to_owned(),
    };
    if let serde_json::Value::Object(map) = &mut context {
        map.insert("signup_href".into(), json!(signup_href));
        map.insert("csrf".into(), json!(csrf::token(&state.config, &format!("anon:{binding}"))));
        map.insert("flash".into(), json!(flash));
        map.insert("forgot".into(), json!(crate::accounts::auth::reset::available(state)));
        map.insert("google_href".into(), json!(google_href));
    }
    let mut response = render::page(status, name, context);
    if flash.is_some() {
        append_cookie(&mut response, &session::set_cookie(&state.config, super::FLASH, "", TimeDelta::zero()));
    }
    if fresh {
        append_cookie(
            &mut response,
            &session::set_cookie(&state.config, csrf::ANON_COOKIE, &binding, TimeDelta::days(1)),
        );
    }
    response
}

pub async fn login_form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<NextQuery>) -> HttpResponse {
    let form = LoginForm { next: safe_next(query.next.as_deref()), ..Default::default() };
    anon_page(&req, &state, StatusCode::OK, "login.html", json!({"form": form, "errors": Errors::new()}))
}

pub async fn signup_form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<NextQuery>) -> HttpResponse {
    let form = SignupForm { next: safe_next(query.next.as_deref()), timezone: "UTC".into(), ..Default::default() };
    anon_page(&req, &state, StatusCode::OK, "signup.html", json!({"form": form, "errors": Errors::new()}))
}

/// After sign-in or sign-up: a new console session in the login session just opened, then back to `next`.
pub(super) async fn signed_in(state: &AppState, result: AuthResult, next: &str) -> Result<HttpResponse, ConsoleError> {
    let claims = tokens::verify_access(&state.config, &result.tokens.access_token)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a fresh access token did not verify")))?;
    let token = session::start(state, result.user.id, claims.sid).await?;
    let mut response = render::redirect(&safe_next(Some(next)));
    append_cookie(&mut response, &session::set_cookie(&state.config, COOKIE, &token, session::ABSOLUTE));
    Ok(response)
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    check_anon(&req, &state, &form.csrf)?;
    crate::http::rate_limit::check_ip(&state, &req).await?;
    let input = LoginInput { email: form.email.clone(), password: form.password.clone() };
    match auth::login(&state, input, crate::accounts::auth::routes::client_info(&req, &state)).await {
        Ok(result) => signed_in(&state, result, &form.next).await,
        Err(err) if err.code() == ErrorCode::Unauthorized => {
            let errors = Errors::from([(String::new(), "That email and password do not match an account.".to_owned())]);
            Ok(anon_page(&req, &state, StatusCode::UNAUTHORIZED, "login.html", json!({"form": form, "errors": errors})))
        }
        Err(err) => Err(err.into()),
    }
}

fn signup_field(api_field: &str) -> &'static str {
    match api_field {
        "email" => "email",
        "password" => "password",
        "displayName" => "display_name",
        "timezone" => "timezone",
        _ => "",
    }
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    check_anon(&req, &state, &form.csrf)?;
    crate::http::rate_limit::check_ip(&state, &req).await?;
    let timezone = Some(form.timezone.trim().to_owned()).filter(|zone| !zone.is_empty());
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
        timezone,
    };
    let err = match auth::register(&state, input, crate::accounts::auth::routes::client_info(&req, &state)).await {
        Ok(result) => return signed_in(&state, result, &form.next).await,
        Err(err) => err,
    };
    let mut errors = Errors::new();
    let status = err.code().status();
    match field_errors(&err) {
        Some(found) => place(&mut errors, found, signup_field),
        None if err.code() == ErrorCode::Conflict => {
            errors.insert("email".into(), "An account with this email already exists; sign in instead.".into());
        }
        None => return Err(err.into()),
    }
    Ok(anon_page(&req, &state, status, "signup.html", json!({"form": form, "errors": errors})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenOnly {
    pub csrf: String,
}
tokened!(TokenOnly);

pub async fn logout(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    session::end(&state, &viewer).await?;
    Ok(super::signed_out(&state.config, "You are signed out."))
}
