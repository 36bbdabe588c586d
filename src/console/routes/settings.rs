//! Settings: the name shown to contacts, the time zone every page shows times in, the user's own quiet
//! hours, and API keys (shown once, revocable). The password, the sessions and deleting the account are in `security`.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::TokenOnly;
use super::{Posted, PostedTo, page, redirect_with, tokened};
use crate::accounts::auth::api_keys::{self, CreatedApiKey};
use crate::accounts::auth::service as auth;
use crate::accounts::users::model::{UserPatch, UserView};
use crate::accounts::users::service as users;
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{self, Errors};
use crate::console::session::Viewer;
use crate::state::AppState;

/// Canonical zone names for the time zone field's suggestions.
pub static ZONES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.contains('/') && !name.starts_with("Etc/") && !name.starts_with("SystemV/"))
        .collect();
    names.push("UTC");
    names.sort_unstable();
    names
});

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ZoneForm {
    csrf: String,
    timezone: String,
}
tokened!(ZoneForm);

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NameForm {
    csrf: String,
    display_name: String,
}
tokened!(NameForm);

/// The user's quiet hours (`HH:MM` on their clock); `op=clear` (or both blank) removes them.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct QuietForm {
    csrf: String,
    quiet_start: String,
    quiet_end: String,
    op: String,
}
tokened!(QuietForm);

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct KeyForm {
    csrf: String,
    name: String,
}
tokened!(KeyForm);

/// What a re-rendered settings page carries: errors and what was typed, or the key just created.
#[derive(Default)]
pub(super) struct Shown {
    pub zone_typed: Option<String>,
    pub name_typed: Option<String>,
    /// The quiet hours as typed (start, end).
    pub quiet_typed: Option<(String, String)>,
    pub key_typed: Option<String>,
    pub errors: Errors,
    pub created: Option<CreatedApiKey>,
    /// The password form's "revoke API keys" box, as ticked.
    pub revoke_keys: bool,
    /// What was typed into the delete-account confirmation.
    pub delete_typed: Option<String>,
}

pub(super) async fn settings_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let me = users::me(state, viewer.user_id).await?;
    let keys = api_keys::list_keys(state, viewer.user_id).await?;
    let sessions: Vec<_> = auth::sessions(state, viewer.user_id, Some(viewer.refresh_session_id))
        .await?
        .into_iter()
        .map(|s| {
            json!({"id": s.id, "client": super::security::client_name(s.user_agent.as_deref()), "ip": s.ip,
                        "createdAt": s.created_at, "lastUsedAt": s.last_used_at, "current": s.current})
        })
        .collect();
    let context = json!({
        "me": me,
        "timezone": shown.zone_typed.unwrap_or_else(|| me.timezone.clone()),
        "displayName": shown.name_typed.unwrap_or_else(|| me.display_name.clone()),
        "quiet": shown.quiet_typed.unwrap_or_else(|| me.quiet_hours.clone().map(|q| (q.start, q.end)).unwrap_or_default()),
        "keyName": shown.key_typed.unwrap_or_default(),
        "keys": keys,
        "created": shown.created,
        "errors": shown.errors,
        "zones": &*ZONES,
        "sessions": sessions,
        "revokeKeys": shown.revoke_keys,
        "deleteTyped": shown.delete_typed.unwrap_or_default(),
    });
    Ok(page(req, &state.config, viewer, "settings", "settings.html", status, context))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    settings_page(&req, &state, &viewer, Shown::default(), StatusCode::OK).await
}

/// Applies `patch` to the viewer's account by `PATCH /v1/users/me`'s rules: back to settings saying
/// `done(new account)`, or the settings page again (400) showing what `refused(field errors)` makes of them.
async fn change_me(
    (req, state, viewer): (&HttpRequest, &AppState, &Viewer),
    patch: UserPatch,
    done: impl FnOnce(UserView) -> String,
    refused: impl FnOnce(Vec<(String, String)>) -> Shown,
) -> Result<HttpResponse, ConsoleError> {
    match users::update_me(state, viewer.user_id, patch).await {
        Ok(me) => Ok(redirect_with(&state.config, "/settings", &done(me))),
        Err(err) => {
            let Some(found) = field_errors(&err) else { return Err(err.into()) };
            settings_page(req, state, viewer, refused(found), StatusCode::BAD_REQUEST).await
        }
    }
}

/// A change of one field of the account: nothing else in the patch.
fn only(change: impl FnOnce(&mut UserPatch)) -> UserPatch {
    let mut patch = UserPatch { display_name: None, timezone: None, quiet_hours: None, preferences: None };
    change(&mut patch);
    patch
}

/// The first field error's message, for a form of one field.
fn first(found: Vec<(String, String)>) -> String {
    found.into_iter().map(|(_, message)| message).next().unwrap_or_default()
}

pub async fn timezone(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<ZoneForm>,
) -> Result<HttpResponse, ConsoleError> {
    change_me(
        (&req, &state, &viewer),
        only(|p| p.timezone = Some(form.timezone.clone())),
        |me| format!("Time zone changed to {}. Times are now shown on that clock.", me.timezone),
        |found| Shown {
            zone_typed: Some(form.timezone.clone()),
            errors: Errors::from([("timezone".to_owned(), first(found))]),
            ..Shown::default()
        },
    )
    .await
}

pub async fn display_name(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    change_me(
        (&req, &state, &viewer),
        only(|p| p.display_name = Some(form.display_name.clone())),
        |me| format!("Name changed to {}.", me.display_name),
        |found| Shown {
            name_typed: Some(form.display_name.clone()),
            errors: Errors::from([("display_name".to_owned(), format!("Name {}.", first(found)))]),
            ..Shown::default()
        },
    )
    .await
}

pub async fn quiet_hours(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<QuietForm>,
) -> Result<HttpResponse, ConsoleError> {
    let mut errors = Errors::new();
    let hours = match form.op.as_str() {
        "clear" => None,
        _ => forms::quiet_hours(&form.quiet_start, &form.quiet_end, &mut errors),
    };
    let typed = Some((form.quiet_start.clone(), form.quiet_end.clone()));
    if !errors.is_empty() {
        let shown = Shown { quiet_typed: typed, errors, ..Shown::default() };
        return settings_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await;
    }
    change_me(
        (&req, &state, &viewer),
        only(|p| p.quiet_hours = Some(hours)),
        |me| match me.quiet_hours {
            Some(q) => format!(
                "Quiet hours set: {}–{} on your clock ({}). Messages then wait until they end; critical ones still come.",
                q.start, q.end, me.timezone
            ),
            None => "Quiet hours cleared: reminders reach you at any hour.".to_owned(),
        },
        |found| {
            forms::place(&mut errors, found, forms::quiet_field);
            Shown { quiet_typed: typed, errors, ..Shown::default() }
        },
    )
    .await
}

pub async fn create_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<KeyForm>,
) -> Result<HttpResponse, ConsoleError> {
    match api_keys::create_key(&state, viewer.user_id, &form.name).await {
        // Shown on this response only: it is not kept anywhere we could show it again.
        Ok(created) => {
            settings_page(&req, &state, &viewer, Shown { created: Some(created), ..Shown::default() }, StatusCode::OK)
                .await
        }
        Err(err) => {
            let status = err.code().status();
            let message = match (&err, field_errors(&err)) {
                (_, Some(found)) => found.into_iter().map(|(_, m)| format!("Name {m}.")).next().unwrap_or_default(),
                (crate::http::ApiError::Client { message, .. }, None) if status == StatusCode::FORBIDDEN => {
                    message.clone()
                }
                _ => return Err(err.into()),
            };
            let shown = Shown {
                key_typed: Some(form.name.clone()),
                errors: Errors::from([("key_name".to_owned(), message)]),
                ..Shown::default()
            };
            settings_page(&req, &state, &viewer, shown, status).await
        }
    }
}

pub async fn revoke_key(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    api_keys::revoke_key(&state, viewer.user_id, id).await?;
    Ok(redirect_with(&state.config, "/settings", "API key revoked. It no longer works."))
}

/// Everything the account holds, as a JSON file to save: the same document as `GET /v1/users/me/export`.
pub async fn export(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    let export = crate::privacy::service::export(&mut conn, viewer.user_id, state.clock.now()).await?;
    let body = serde_json::to_vec_pretty(&export).map_err(crate::http::ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", crate::privacy::service::file_name(&export)),
        ))
        .body(body))
}
