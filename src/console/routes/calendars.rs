//! The calendars page: connect a calendar (secret ICS address or CalDAV), see how its syncs go, add and
//! remove the rules that let it pause, snooze, skip or hurry reminders, fetch now, disconnect. Every change
//! goes through `calendars::service`, as the API's do.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::calendar::{Action, Match};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account::TokenOnly;
use super::{Posted, PostedTo, page, redirect_with, tokened};
use crate::calendars::model::{CalendarInput, RuleInput};
use crate::calendars::service;
use crate::console::error::{ConsoleError, placed};
use crate::console::forms::{Errors, blank_is_none};
use crate::console::session::Viewer;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ConnectForm {
    csrf: String,
    name: String,
    kind: String,
    url: String,
    user: String,
    app_password: String,
    holidays: Option<String>,
}
tokened!(ConnectForm);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    action: String,
    summary_contains: String,
    category: String,
    /// `any`, `busy` or `free`.
    busy: String,
    /// `any`, `all_day` or `timed`.
    day: String,
}
tokened!(RuleForm);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleDeleteForm {
    csrf: String,
    rule: String,
}
tokened!(RuleDeleteForm);

/// What the rule form offers, in the words the page uses.
const ACTIONS: [(&str, &str); 4] = [
    ("PAUSE_DURING", "Pause during the event (fire when it ends)"),
    ("SNOOZE_UNTIL_END", "Snooze until the event ends"),
    ("SKIP_DAY", "Skip that day's occurrence"),
    ("ESCALATE_FASTER", "Escalate faster before a long busy event"),
];

async fn calendars_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    form: &ConnectForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let calendars = service::list(state, viewer.user_id).await?;
    let actions: Vec<_> = ACTIONS.iter().map(|(value, label)| json!({"value": value, "label": label})).collect();
    let context = json!({"calendars": calendars, "form": form, "errors": errors, "actions": actions});
    Ok(page(req, &state.config, viewer, "calendars", "calendars.html", status, context))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    let form = ConnectForm { kind: "ics".to_owned(), ..ConnectForm::default() };
    calendars_page(&req, &state, &viewer, &form, &Errors::new(), StatusCode::OK).await
}

pub async fn connect(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<ConnectForm>,
) -> Result<HttpResponse, ConsoleError> {
    let caldav = form.kind == "caldav";
    let input = CalendarInput {
        name: form.name.clone(),
        kind: Some(form.kind.clone()),
        url: form.url.clone(),
        user: blank_is_none(&form.user).filter(|_| caldav),
        app_password: blank_is_none(&form.app_password).filter(|_| caldav),
        holidays: Some(form.holidays.is_some()),
    };
    match service::create(&state, viewer.user_id, input).await {
        Ok(calendar) => {
            let message =
                format!("Connected \u{201c}{}\u{201d}. Its events arrive within a few seconds.", calendar.name);
            Ok(redirect_with(&state.config, "/calendars", &message))
        }
        Err(err) => {
            let mut errors = Errors::new();
            let status = placed(err, &mut errors, |field| match field {
                "appPassword" => "app_password",
                "name" => "name",
                "url" => "url",
                "user" => "user",
                "kind" => "kind",
                _ => "",
            })?;
            let form = ConnectForm { app_password: String::new(), ..form };
            calendars_page(&req, &state, &viewer, &form, &errors, status).await
        }
    }
}

pub async fn sync(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let calendar = service::sync_now(&state, viewer.user_id, id).await?;
    let message = format!("Fetching \u{201c}{}\u{201d} now; reload in a few seconds.", calendar.name);
    Ok(redirect_with(&state.config, "/calendars", &message))
}

pub async fn disconnect(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    service::delete(&state, viewer.user_id, id).await?;
    Ok(redirect_with(&state.config, "/calendars", "Disconnected. Its events and rules are gone."))
}

pub async fn add_rule(
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<RuleForm>,
) -> Result<HttpResponse, ConsoleError> {
    let matcher = Match {
        summary_contains: blank_is_none(&form.summary_contains),
        category: blank_is_none(&form.category),
        all_day: match form.day.as_str() {
            "all_day" => Some(true),
            "timed" => Some(false),
            _ => None,
        },
        busy: match form.busy.as_str() {
            "busy" => Some(true),
            "free" => Some(false),
            _ => None,
        },
    };
    let Some(action) = Action::parse(&form.action) else {
        return Ok(redirect_with(&state.config, "/calendars", "Choose what the rule does."));
    };
    let input = RuleInput { matcher, action, reminder_ids: None, all: Some(true) };
    let message = match service::add_rule(&state, viewer.user_id, id, input).await {
        Ok(_) => "Rule added. It applies to all your reminders from now on.".to_owned(),
        Err(crate::http::ApiError::Client { code, message, .. }) if code != crate::http::ErrorCode::NotFound => message,
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, "/calendars", &message))
}

pub async fn delete_rule(
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<RuleDeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let rule = uuid::Uuid::parse_str(form.rule.trim()).map_err(|_| crate::http::ApiError::not_found("Rule"))?;
    service::delete_rule(&state, viewer.user_id, id.into(), rule.into()).await?;
    Ok(redirect_with(&state.config, "/calendars", "Rule removed."))
}
