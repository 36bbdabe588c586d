//! Settings that guard the account: changing the password (every other session ends, as with
//! `POST /v1/users/me/password`), the list of sign-in sessions with revoke, and deleting the account
//! (`DELETE /v1/users/me`), then signed out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::account::TokenOnly;
use super::settings::{Shown, settings_page};
use super::{Posted, PostedTo, redirect_with, signed_out, tokened};
use crate::accounts::auth::service as auth;
use crate::accounts::users::model::PasswordChange;
use crate::accounts::users::service as users;
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{Errors, place};
use crate::console::session;
use crate::http::ErrorCode;
use crate::state::AppState;

/// The password form. The passwords are never written back into the page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    new_password_again: String,
    /// A ticked checkbox sends "on"; an unticked one sends nothing.
    revoke_api_keys: Option<String>,
}
tokened!(PasswordForm);

fn password_field(api_field: &str) -> &'static str {
    match api_field {
        "newPassword" => "new_password",
        "currentPassword" => "current_password",
        _ => "",
    }
}

pub async fn password(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    let revoke_keys = form.revoke_api_keys.is_some();
    let mut errors = Errors::new();
    if form.new_password != form.new_password_again {
        errors.insert("new_password_again".into(), "The two new passwords differ.".into());
    } else {
        let input = PasswordChange {
            current_password: form.current_password.clone(),
            new_password: form.new_password.clone(),
            revoke_api_keys: revoke_keys,
        };
        let err = match users::change_password(&state, viewer.user_id, Some(viewer.refresh_session_id), input).await {
            Ok(()) => {
                let message = if revoke_keys {
                    "Password changed. Every other session is signed out and every API key revoked."
                } else {
                    "Password changed. Every other session is signed out."
                };
                return Ok(redirect_with(&state.config, "/settings", message));
            }
            Err(err) => err,
        };
        match field_errors(&err) {
            Some(found) => place(&mut errors, found, password_field),
            None if err.code() == ErrorCode::Unauthorized => {
                errors.insert("current_password".into(), "That is not your current password.".into());
            }
            None => return Err(err.into()),
        }
    }
    let shown = Shown { errors, revoke_keys, ..Shown::default() };
    settings_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await
}

/// Ends one sign-in session (a browser's or an API client's). Ending this browser's own signs it out.
pub async fn revoke_session(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    if id == viewer.refresh_session_id {
        session::end(&state, &viewer).await?;
        return Ok(signed_out(&state.config, "This session is ended. You are signed out."));
    }
    auth::revoke_session(&state, viewer.user_id, id).await?;
    Ok(redirect_with(&state.config, "/settings", "Session ended. It has to sign in again."))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
    confirm_email: String,
}
tokened!(DeleteForm);

/// Deletes the account once its email is typed, then signs out.
pub async fn delete_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<DeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    if !form.confirm_email.trim().eq_ignore_ascii_case(&viewer.email) {
        let message = "Type your email address exactly as shown to delete the account.".to_owned();
        let shown = Shown {
            errors: Errors::from([("confirm_email".to_owned(), message)]),
            delete_typed: Some(form.confirm_email.clone()),
            ..Shown::default()
        };
        return settings_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await;
    }
    users::delete_me(&state, viewer.user_id).await?;
    session::end(&state, &viewer).await?;
    Ok(signed_out(&state.config, "Your account is deleted. Thank you for using Escalating Reminders."))
}

/// "Chrome on Linux" for a session's user agent; the start of anything else ("curl/8.5.0").
pub(super) fn client_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else { return "Unknown client".into() };
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .into_iter()
        .find(|(marker, _)| ua.contains(marker));
    let system =
        [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"), ("Mac OS X", "macOS")]
            .into_iter()
            .chain([("Linux", "Linux")])
            .find(|(marker, _)| ua.contains(marker));
    match (browser, system) {
        (Some((_, browser)), Some((_, system))) => format!("{browser} on {system}"),
        (Some((_, browser)), None) => browser.to_owned(),
        _ => ua.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::client_name;

    #[test]
    fn sessions_are_named_by_browser_and_system() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36";
        assert_eq!(client_name(Some(chrome)), "Chrome on Linux");
        let iphone =
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1";
        assert_eq!(client_name(Some(iphone)), "Safari on iOS");
        assert_eq!(client_name(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(client_name(None), "Unknown client");
    }
}
