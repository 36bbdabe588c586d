//! Completion evidence: completion hooks (a secret URL, shown with a curl line once, right after it is
//! made) and email watchers with the user's inbound address. Every change goes through the same service
//! functions as `/v1/reminders/{id}/completion-hooks` and `/v1/watchers`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::ReminderId;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::account::TokenOnly;
use super::dashboard::all_reminders;
use super::{Posted, PostedTo, page, path_id, redirect_with, tokened};
use crate::console::error::{ConsoleError, placed};
use crate::console::forms::{Errors, blank_is_none};
use crate::console::session::Viewer;
use crate::http::ErrorCode;
use crate::state::AppState;
use crate::watchers::email_watchers;
use crate::watchers::hooks::{self, HookWithUrl, NewHook};
use crate::watchers::imap::input::Provider;
use crate::watchers::rules::WatcherInput;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EvidenceQuery {
    /// The reminder the create forms start on (the reminder page links here with it).
    reminder: String,
}

/// The new-hook form, as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HookForm {
    csrf: String,
    reminder: String,
    action: String,
}

/// The new-watcher form, as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct WatcherForm {
    csrf: String,
    reminder: String,
    sender_pattern: String,
    subject_keyword: String,
    body_keyword: String,
    action: String,
    /// Read from the user's own mailbox (IMAP) instead of the watcher address, when a host is given.
    imap_host: String,
    imap_port: String,
    imap_user: String,
    /// Never echoed back into the page.
    #[serde(skip_serializing)]
    imap_password: String,
    imap_folder: String,
}

tokened!(HookForm, WatcherForm);

/// What a re-rendered page carries: the forms as typed, their errors, or the hook just made.
#[derive(Default)]
struct Shown {
    hook_form: HookForm,
    watcher_form: WatcherForm,
    errors: Errors,
    created: Option<HookWithUrl>,
}

impl Shown {
    /// Both forms empty, on `reminder` (if any) and the action that completes.
    fn fresh(reminder: &str) -> Shown {
        let reminder = reminder.to_owned();
        let action = "complete".to_owned();
        Shown {
            hook_form: HookForm { reminder: reminder.clone(), action: action.clone(), ..HookForm::default() },
            watcher_form: WatcherForm { reminder, action, ..WatcherForm::default() },
            ..Shown::default()
        }
    }
}

/// The new-hook form's field that shows an API field error.
fn hook_field(api_field: &str) -> &'static str {
    match api_field {
        "action" => "hook_action",
        _ => "hooks",
    }
}

/// The new-watcher form's field that shows an API field error.
fn watcher_field(api_field: &str) -> &'static str {
    match api_field {
        "reminderId" => "watcher_reminder",
        "senderPattern" => "sender_pattern",
        "subjectKeyword" => "subject_keyword",
        "bodyKeyword" => "body_keyword",
        "action" => "watcher_action",
        "host" => "imap_host",
        "port" => "imap_port",
        "user" => "imap_user",
        "appPassword" => "imap_password",
        "folder" => "imap_folder",
        _ => "watchers",
    }
}

/// A curl line that calls the hook, for the page that shows its URL once.
fn curl_line(created: &HookWithUrl) -> String {
    match created.hook.action.as_str() {
        "snooze" => {
            format!("curl -X POST -H 'Content-Type: application/json' -d '{{\"duration\": \"1h\"}}' '{}'", created.url)
        }
        _ => format!("curl -X POST '{}'", created.url),
    }
}

async fn evidence_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    let reminders = all_reminders(&mut conn, viewer.user_id, None).await?;
    drop(conn);
    let titles: HashMap<ReminderId, &str> = reminders.iter().map(|r| (r.id, r.title.as_str())).collect();
    let title_of = |id: &ReminderId| titles.get(id).copied().unwrap_or("(archived reminder)");
    let hooks: Vec<Value> = hooks::list(state, viewer.user_id, None)
        .await?
        .iter()
        .map(|h| {
            json!({"id": h.id, "reminderId": h.reminder_id, "title": title_of(&h.reminder_id), "action": h.action,
                   "lastUsedAt": h.last_used_at, "createdAt": h.created_at})
        })
        .collect();
    let watchers: Vec<Value> = email_watchers::list(state, viewer.user_id)
        .await?
        .iter()
        .map(|w| {
            json!({"id": w.id, "title": title_of(&w.reminder_id), "sender": w.sender_pattern,
                   "subject": w.subject_keyword, "body": w.body_keyword, "action": w.action, "mailbox": w.mailbox})
        })
        .collect();
    let choices: Vec<Value> = reminders.iter().map(|r| json!({"id": r.id.to_string(), "title": r.title})).collect();
    let created = shown
        .created
        .as_ref()
        .map(|c| json!({"url": c.url, "curl": curl_line(c), "title": title_of(&c.hook.reminder_id)}));
    let context = json!({
        "hooks": hooks,
        "watchers": watchers,
        "reminders": choices,
        "address": email_watchers::address(state, viewer.user_id).await?,
        "receivesEmail": state.config.inbound_email_secret.is_some(),
        "hookForm": shown.hook_form,
        "watcherForm": shown.watcher_form,
        "errors": shown.errors,
        "created": created,
        "hookActions": hooks::ACTIONS,
    });
    // Evidence is about reminders: the header has no room for a section of its own.
    Ok(page(req, &state.config, viewer, "reminders", "evidence.html", status, context))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<EvidenceQuery>,
) -> Result<HttpResponse, ConsoleError> {
    evidence_page(&req, &state, &viewer, Shown::fresh(&query.reminder), StatusCode::OK).await
}

pub async fn create_hook(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<HookForm>,
) -> Result<HttpResponse, ConsoleError> {
    let mut errors = Errors::new();
    let Ok(reminder) = Uuid::parse_str(form.reminder.trim()) else {
        errors.insert("hook_reminder".into(), "Choose a reminder.".into());
        let shown = Shown { hook_form: form, errors, ..Shown::fresh("") };
        return evidence_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await;
    };
    let input = NewHook { action: blank_is_none(&form.action) };
    let (status, shown) = match hooks::create(&state, viewer.user_id, ReminderId(reminder), input).await {
        // The URL is shown on this answer only: it is not stored, so it cannot be shown again.
        Ok(created) => (StatusCode::CREATED, Shown { created: Some(created), ..Shown::fresh(&form.reminder) }),
        // The reminder is gone or another user's: the same as a choice that is not on the list.
        Err(err) if err.code() == ErrorCode::NotFound => {
            errors.insert("hook_reminder".into(), "Choose a reminder.".into());
            (StatusCode::BAD_REQUEST, Shown { hook_form: form, errors, ..Shown::fresh("") })
        }
        Err(err) => {
            let status = placed(err, &mut errors, hook_field)?;
            (status, Shown { hook_form: form, errors, ..Shown::fresh("") })
        }
    };
    evidence_page(&req, &state, &viewer, shown, status).await
}

pub async fn revoke_hook(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (reminder, hook) = (path_id(&path.0)?, path_id(&path.1)?);
    hooks::revoke(&state, viewer.user_id, reminder, hook).await?;
    Ok(redirect_with(&state.config, "/evidence", "Hook revoked. Its URL does nothing from now on."))
}

pub async fn create_watcher(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<WatcherForm>,
) -> Result<HttpResponse, ConsoleError> {
    let mut errors = Errors::new();
    let Ok(reminder) = Uuid::parse_str(form.reminder.trim()) else {
        errors.insert("watcher_reminder".into(), "Choose a reminder.".into());
        let shown = Shown { watcher_form: form, errors, ..Shown::fresh("") };
        return evidence_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await;
    };
    let mut input = WatcherInput {
        reminder_id: reminder,
        sender_pattern: blank_is_none(&form.sender_pattern),
        subject_keyword: blank_is_none(&form.subject_keyword),
        body_keyword: blank_is_none(&form.body_keyword),
        action: blank_is_none(&form.action),
        ..WatcherInput::default()
    };
    let imap = !form.imap_host.trim().is_empty();
    if imap {
        let port = match form.imap_port.trim() {
            "" => Some(993),
            typed => typed.parse::<u32>().ok(),
        };
        let Some(port) = port else {
            errors.insert("imap_port".into(), "Give the port as a number, such as 993.".into());
            let shown = Shown { watcher_form: form, errors, ..Shown::fresh("") };
            return evidence_page(&req, &state, &viewer, shown, StatusCode::BAD_REQUEST).await;
        };
        input.provider = Some(Provider::Imap);
        input.host = blank_is_none(&form.imap_host);
        input.port = Some(port);
        input.user = Some(form.imap_user.trim().to_owned());
        input.app_password = Some(SecretString::from(form.imap_password.clone()));
        input.folder = blank_is_none(&form.imap_folder);
    }
    match email_watchers::create(&state, viewer.user_id, input).await {
        Ok(_) => Ok(redirect_with(
            &state.config,
            "/evidence",
            if imap {
                "Watcher added. Its mailbox is read within a few minutes; mail already there does not count."
            } else {
                "Watcher added. Forward the matching email to your watcher address."
            },
        )),
        Err(err) => {
            let status = placed(err, &mut errors, watcher_field)?;
            let shown = Shown { watcher_form: form, errors, ..Shown::fresh("") };
            evidence_page(&req, &state, &viewer, shown, status).await
        }
    }
}

pub async fn delete_watcher(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    email_watchers::delete(&state, viewer.user_id, id).await?;
    Ok(redirect_with(&state.config, "/evidence", "Watcher deleted."))
}

pub async fn rotate_address(
    state: web::Data<AppState>,
    Posted { viewer, .. }: Posted<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    email_watchers::rotate_address(&state, viewer.user_id).await?;
    Ok(redirect_with(
        &state.config,
        "/evidence",
        "Your watcher address is new. Mail to the old one is ignored; update your forwarding rules.",
    ))
}
