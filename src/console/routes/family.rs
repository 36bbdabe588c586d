//! The family page: the viewer's own family group (invite, withdraw, remove), the family they belong to
//! (leave), the reminders shared with them (acknowledge, done), and the page a mailed invitation opens. Every
//! change goes through `family::service` and `escalation::shared`, as the API's do.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::TokenOnly;
use super::{Posted, PostedTo, page, redirect_with, tokened};
use crate::console::error::{ConsoleError, placed};
use crate::console::forms::Errors;
use crate::console::session::Viewer;
use crate::escalation::shared;
use crate::escalation::snooze::Simple;
use crate::family::model::{InviteInput, SharesInput};
use crate::family::service;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InviteForm {
    csrf: String,
    email: String,
}
tokened!(InviteForm);

/// The reminder page's "shared with" checkboxes.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct SharesForm {
    csrf: String,
    members: Vec<String>,
}
tokened!(SharesForm);

impl From<Vec<(String, String)>> for SharesForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let mut form = SharesForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "member" => form.members.push(value),
                _ => {}
            }
        }
        form
    }
}

async fn family_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    form: &InviteForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let family = service::view(state, viewer.user_id).await?;
    let shared = service::shared_reminders(state, viewer.user_id).await?;
    let context = json!({"family": family, "shared": shared, "form": form, "errors": errors});
    Ok(page(req, &state.config, viewer, "family", "family.html", status, context))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    family_page(&req, &state, &viewer, &InviteForm::default(), &Errors::new(), StatusCode::OK).await
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    match service::invite(&state, viewer.user_id, InviteInput { email: form.email.clone() }).await {
        Ok(invited) => {
            let message = format!("Invitation sent to {}. It works for 7 days.", invited.email);
            Ok(redirect_with(&state.config, "/family", &message))
        }
        Err(err) => {
            let mut errors = Errors::new();
            let status = placed(err, &mut errors, |_| "email")?;
            family_page(&req, &state, &viewer, &form, &errors, status).await
        }
    }
}

pub async fn remove(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    service::remove(&state, viewer.user_id, id).await?;
    Ok(redirect_with(&state.config, "/family", "Removed. Nothing is shared with them any more."))
}

pub async fn leave(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    service::leave(&state, viewer.user_id).await?;
    Ok(redirect_with(&state.config, "/family", "You left the family. Its reminders are no longer shared with you."))
}

async fn act(state: &AppState, viewer: &Viewer, id: uuid::Uuid, which: Simple) -> Result<HttpResponse, ConsoleError> {
    let message = match shared::act(state, viewer.user_id, id.into(), None, which).await {
        Ok(done) => match which {
            Simple::Acknowledge => format!("Acknowledged \u{201c}{}\u{201d} for {}.", done.title, done.owner_name),
            Simple::Complete => format!("Marked \u{201c}{}\u{201d} as done for {}.", done.title, done.owner_name),
        },
        Err(ApiError::Client { code: ErrorCode::UnprocessableEntity | ErrorCode::Conflict, message, .. }) => message,
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, "/family", &message))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    act(&state, &viewer, id, Simple::Acknowledge).await
}

pub async fn complete(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    act(&state, &viewer, id, Simple::Complete).await
}

/// `POST /reminders/{id}/shares`: the reminder page's "shared with" form.
pub async fn set_shares(
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<SharesForm>,
) -> Result<HttpResponse, ConsoleError> {
    let member_ids = form.members.iter().filter_map(|raw| uuid::Uuid::parse_str(raw.trim()).ok()).collect();
    let location = format!("/reminders/{id}");
    let message = match service::set_shares(&state, viewer.user_id, id.into(), SharesInput { member_ids }).await {
        Ok(shares) if shares.is_empty() => "Shared with nobody.".to_owned(),
        Ok(shares) => {
            let names: Vec<&str> = shares.iter().map(|share| share.display_name.as_str()).collect();
            format!("Shared with {}.", names.join(", "))
        }
        Err(ApiError::Client { code: ErrorCode::ValidationError, message, .. }) => message,
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, &location, &message))
}

/// `GET /family/join/{token}`: who invites, and a button (mail scanners open links; only a POST joins).
pub async fn join_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    token: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let context = json!({"token": token.as_str(), "errors": Errors::new()});
    Ok(page(&req, &state.config, &viewer, "family", "family_join.html", StatusCode::OK, context))
}

/// `POST /family/join/{token}`.
pub async fn join(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    match service::accept(&state, viewer.user_id, &token).await {
        Ok(joined) => {
            let message =
                format!("You joined {}'s family. What they share with you is listed here.", joined.owner_name);
            Ok(redirect_with(&state.config, "/family", &message))
        }
        Err(ApiError::Client { code, message, .. }) if code != ErrorCode::NotFound => {
            let errors = Errors::from([(String::new(), message)]);
            let status = code.status();
            let context = json!({"token": token.as_str(), "errors": errors});
            Ok(page(&req, &state.config, &viewer, "family", "family_join.html", status, context))
        }
        Err(err) => Err(err.into()),
    }
}
