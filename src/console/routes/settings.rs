//! Settings: the time zone every page shows times in, and API keys (shown once, revocable). The password,
//! the sessions and deleting the account are in `security`.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::TokenOnly;
use super::{Posted, PostedTo, page, redirect_with, tokened};
use crate::accounts::auth::api_keys::{self, CreatedApiKey};
use crate::accounts::auth::service as auth;
use crate::accounts::users::model::UserPatch;
use crate::accounts::users::service as users;
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::Errors;
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
pub struct KeyForm {
    csrf: String,
    name: String,
}
tokened!(KeyForm);

/// What a re-rendered settings page carries: errors and what was typed, or the key just created.
#[derive(Default)]
pub(super) struct Shown {
    pub zone_typed: Option<String>,
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

pub async fn timezone(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<ZoneForm>,
) -> Result<HttpResponse, ConsoleError> {
    let patch =
        UserPatch { display_name: None, timezone: Some(form.timezone.clone()), quiet_hours: None, preferences: None };
    match users::update_me(&state, viewer.user_id, patch).await {
        Ok(me) => {
            let message = format!("Time zone changed to {}. Times are now shown on that clock.", me.timezone);
            Ok(redirect_with(&state.config, "/settings", &message))
        }
        Err(err) => {
            let Some(found) = field_errors(&err) else { return Err(err.into()) };
            let message = found.into_iter().map(|(_, m)| m).next().unwrap_or_default();
            let shown = Shown {
                zone_typed: Some(form.timezone.clone()),
                errors: Errors::from([("timezone".to_owned(), message)]),
                ..Shown::default()
            };
            settings_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await
        }
    }
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
