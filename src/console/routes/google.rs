//! `GET /v1/auth/google` and its callback: the HTTP side of [`crate::accounts::auth::google`].
//!
//! They live with the console because a sign-in begun from a page ends by opening a console session (the
//! callback then redirects to the page to return to); a flow begun without `next` ends, for an API client,
//! with the same tokens `POST /v1/auth/login` answers. The same two routes serve both, so the provider needs
//! one registered redirect address.

use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError, web};
use chrono::TimeDelta;

use super::account::signed_in;
use super::{append_cookie, redirect_with};
use crate::accounts::auth::google::{self, BROWSER_COOKIE, CallbackQuery};
use crate::accounts::auth::model::AuthResult;
use crate::accounts::auth::routes::client_info;
use crate::console::session::{self, safe_next};
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, ErrorCode, Routes, rate_limit, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    r.layered(rate_limit::per_ip_layer, |r| routes!(r => start, callback));
}

/// `?next=`: where the console goes after signing in.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// A local path of the console to return to. Without it the callback answers with tokens (an API client).
    next: Option<String>,
}

/// The browser cookie of a flow: only the Google sign-in routes see it, and only for the flow's lifetime.
fn flow_cookie(state: &AppState, value: &str, max_age: TimeDelta) -> String {
    session::set_cookie_at(&state.config, "/v1/auth/google", BROWSER_COOKIE, value, max_age)
}

#[utoipa::path(get, path = "/v1/auth/google", tag = "auth", params(StartQuery),
    description = "Starts signing in with Google (OpenID Connect, authorization code with PKCE): answers with a \
        redirect to Google and a short-lived cookie that ties the sign-in to this browser. Only when the server \
        has GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.",
    responses((status = 302, description = "To Google's consent page"),
        (status = 404, description = "Sign in with Google is not set up on this server"),
        (status = 429), (status = 503, description = "Google could not be reached")))]
pub async fn start(state: web::Data<AppState>, query: web::Query<StartQuery>) -> Result<HttpResponse, ApiError> {
    let next = query.into_inner().next.map(|next| safe_next(Some(&next)));
    let begun = google::begin(&state, next.as_deref()).await?;
    let mut response = HttpResponse::Found().insert_header(("Location", begun.authorize_url)).finish();
    append_cookie(&mut response, &flow_cookie(&state, &begun.browser, google::FLOW_LIFETIME));
    response
        .headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(get, path = "/v1/auth/google/callback", tag = "auth", params(CallbackQuery),
    description = "Where Google sends the browser back. A linked Google account signs in to its account; a \
        Google-verified address links to the account with that address or creates one. A sign-in begun with \
        `next` opens a console session and redirects there; one begun without answers with tokens. The state \
        works once, for ten minutes, in the browser that began the sign-in.",
    responses((status = 200, body = Envelope<AuthResult>, description = "Signed in (a flow begun without `next`)"),
        (status = 303, description = "Signed in to the console, or back to its sign-in page with the reason"),
        (status = 401, description = "Unknown, used or expired state, another browser, or an ID token refused"),
        (status = 403, description = "Google has not verified the address"),
        (status = 404, description = "Sign in with Google is not set up on this server"),
        (status = 429), (status = 503, description = "Google could not be reached")))]
pub async fn callback(req: HttpRequest, state: web::Data<AppState>, query: web::Query<CallbackQuery>) -> HttpResponse {
    let browser = session::cookie(&req, BROWSER_COOKIE);
    let finished = google::finish(&state, query.into_inner(), browser, client_info(&req, &state)).await;
    let mut response = match finished {
        Ok(signed) => match signed.next {
            Some(next) => signed_in(&state, signed.result, &next).await.unwrap_or_else(|err| err.error_response()),
            None => ApiResponse::ok(signed.result).respond_to(&req),
        },
        // A person's browser goes back to the sign-in page with the reason; an API client gets the envelope.
        Err(err) if crate::console::accepts_html(&req) && err.code() != ErrorCode::NotFound => {
            redirect_with(&state.config, "/login", &err.to_string())
        }
        Err(err) => err.error_response(),
    };
    append_cookie(&mut response, &flow_cookie(&state, "", TimeDelta::zero()));
    response
}

/// The Google button of the sign-in and sign-up pages, when this server offers it.
pub fn button_href(state: &AppState, next: &str) -> Option<String> {
    google::enabled(state).then(|| {
        format!(
            "/v1/auth/google?{}",
            url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish()
        )
    })
}
