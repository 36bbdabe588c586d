//! Reminders: the list with its search box, the new-reminder form, the detail page and its actions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::account::TokenOnly;
use super::dashboard::next_time;
use super::{ItemPage, Posted, PostedTo, occurrences, page, redirect_with, tokened};
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{Errors, ReminderForm, place};
use crate::console::session::Viewer;
use crate::console::timeline;
use crate::escalation::episodes;
use crate::escalation::snooze::{self, Simple, SnoozeInput};
use crate::http::pagination::Page;
use crate::http::{ApiError, ErrorCode};
use crate::profiles::service as profiles;
use crate::reminders::views::ListQuery;
use crate::reminders::{mapping, preview, service, store};
use crate::state::AppState;

/// Episodes shown in a reminder's delivery log.
const EPISODES_SHOWN: i64 = 10;
/// The snooze buttons beside the phrase field, each a phrase the grammar reads.
const QUICK_SNOOZES: [&str; 4] = ["in 30 minutes", "in 1 hour", "tonight", "tomorrow morning"];
/// Upcoming occurrences listed on the detail page.
const UPCOMING_SHOWN: usize = 5;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    /// A status (archived ones are listed only when asked for) or empty for any live one.
    status: String,
    importance: String,
    /// Text, so that `?page=abc` shows the first page rather than an error.
    page: String,
}

/// The form's `op` when it was sent to list the schedule's next times: nothing is saved.
pub(super) const PREVIEW: &str = "preview";

/// Reminders on one page of the list.
const LIST_PAGE: u32 = 100;

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    // A page past the end shows an empty list with a way back, like the API's; a nonsense one is the first.
    let number = query.page.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)).unwrap_or(1);
    let list_query = ListQuery {
        status: given(&query.status),
        importance: given(&query.importance),
        q: given(&query.q),
        page: Some(number),
        page_size: Some(LIST_PAGE),
    };
    let mut conn = state.db.get().await?;
    let (found, total, errors) = match service::list(&mut conn, viewer.user_id, list_query).await {
        Ok((found, pages)) => (found, pages.total_items, Errors::new()),
        Err(err) => match field_errors(&err) {
            Some(found) => {
                let mut errors = Errors::new();
                place(&mut errors, found, |field: &str| match field {
                    "status" | "importance" => field.to_owned(),
                    _ => "q".to_owned(),
                });
                (Vec::new(), 0, errors)
            }
            None => return Err(err.into()),
        },
    };
    drop(conn);
    let rows: Vec<_> = found
        .iter()
        .map(|r| {
            json!({"id": r.id, "title": r.title, "status": r.status, "importance": r.importance,
                   "next": next_time(r), "kind": r.schedule.kind})
        })
        .collect();
    let link = |n: u32| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("q", &query.q), ("status", &query.status), ("importance", &query.importance)] {
            if !value.is_empty() {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("page", &n.to_string());
        format!("/reminders?{}", pairs.finish())
    };
    let shown_to = u64::from(number - 1) * u64::from(LIST_PAGE) + rows.len() as u64;
    let context = json!({
        "rows": rows, "query": &*query, "errors": errors, "total": total,
        "statuses": crate::reminders::model::STATUSES, "importances": crate::reminders::model::IMPORTANCES,
        "from": u64::from(number - 1) * u64::from(LIST_PAGE) + 1, "to": shown_to,
        "newer": (number > 1).then(|| link(number - 1)),
        "older": (shown_to < total).then(|| link(number + 1)),
    });
    Ok(page(&req, &state.config, &viewer, "reminders", "reminders.html", StatusCode::OK, context))
}

/// The reminder form: a new reminder, or the edit of reminder `editing`, with the next times of its schedule.
/// A form sent by its "Show the next times" button also shows the schedule's problems by their fields (400).
pub(super) async fn form_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    (form, editing): (&ReminderForm, Option<Uuid>),
    errors: &Errors,
    mut status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let (upcoming, problems) = occurrences::for_page(form, viewer.tz, state.clock.now());
    let mut errors = errors.clone();
    if form.op == PREVIEW && !problems.is_empty() {
        place(&mut errors, problems.into_iter().collect(), |field| field.to_owned());
        status = StatusCode::BAD_REQUEST;
    }
    let mut conn = state.db.get().await?;
    let (choices, _) = profiles::list(&mut conn, viewer.user_id, Page { page: 1, page_size: 100 }).await?;
    let choices: Vec<_> = choices
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "description": p.description, "preset": p.is_preset}))
        .collect();
    let context = json!({"form": form, "errors": errors, "profiles": choices, "editing": editing,
                         "upcoming": upcoming, "shown": occurrences::SHOWN});
    let nav = if editing.is_some() { "reminders" } else { "new" };
    Ok(page(req, &state.config, viewer, nav, "reminder_new.html", status, context))
}

pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ConsoleError> {
    form_page(&req, &state, &viewer, (&ReminderForm::starting(), None), &Errors::new(), StatusCode::OK).await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<ReminderForm>,
) -> Result<HttpResponse, ConsoleError> {
    if form.op == PREVIEW {
        return form_page(&req, &state, &viewer, (&form, None), &Errors::new(), StatusCode::OK).await;
    }
    let now = state.clock.now();
    let input = match form.to_input(viewer.tz, now) {
        Ok(input) => input,
        Err(errors) => return form_page(&req, &state, &viewer, (&form, None), &errors, StatusCode::BAD_REQUEST).await,
    };
    let mut conn = state.db.get().await?;
    let zone = service::user_zone(&mut conn, viewer.user_id).await?;
    let err = match service::create(&mut conn, &state.config.tier_limits, viewer.user_id, &zone, input, now).await {
        Ok(created) => {
            let echo = created.next_trigger_at.and_then(|at| form.interpreted(at, viewer.tz));
            let message =
                echo.map_or_else(|| "Reminder created.".to_owned(), |echo| format!("Reminder created. {echo}."));
            return Ok(redirect_with(&state.config, &format!("/reminders/{}", created.id), &message));
        }
        Err(err) => err,
    };
    drop(conn);
    let (status, errors) = form_errors(&form, err)?;
    form_page(&req, &state, &viewer, (&form, None), &errors, status).await
}

/// What a refused create or edit shows next to the form's fields (or above it), and its status; other
/// errors pass through.
pub(super) fn form_errors(form: &ReminderForm, err: ApiError) -> Result<(StatusCode, Errors), ConsoleError> {
    let mut errors = Errors::new();
    match (field_errors(&err), &err) {
        (Some(found), _) => place(&mut errors, found, |field| form.field_for(field)),
        (None, ApiError::Client { code: ErrorCode::Forbidden | ErrorCode::Conflict, message, .. }) => {
            errors.insert(String::new(), message.clone());
        }
        (None, _) => return Err(err.into()),
    }
    Ok((err.code().status(), errors))
}

/// What the snooze form shows again after a phrase was not understood.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SnoozeForm {
    csrf: String,
    phrase: String,
    /// One of the quick choices' phrases, when one of their buttons was pressed (the phrase field is then
    /// ignored).
    quick: String,
}
tokened!(SnoozeForm);

async fn detail_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    snooze_form: Option<(&SnoozeForm, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let reminder = service::get(&mut conn, viewer.user_id, id.into()).await?;
    let upcoming = if reminder.status == "active" {
        let schedule =
            mapping::schedule_of(&store::schedule_for(&mut conn, id.into()).await?).map_err(ApiError::internal)?;
        schedule.upcoming(now, UPCOMING_SHOWN).map_err(ApiError::internal)?
    } else {
        Vec::new()
    };
    let profile = profiles::get(&mut conn, viewer.user_id, reminder.escalation_profile_id).await?;
    let preview = preview::preview(&mut conn, viewer.user_id, id.into()).await?;
    let history = episodes::list_for_reminder(&mut conn, viewer.user_id, id.into(), EPISODES_SHOWN).await?;
    // The "shared with" form, for an owner with a family.
    let family: Vec<serde_json::Value> =
        crate::family::store::members_with_share(&mut conn, viewer.user_id, Some(id.into()))
            .await?
            .iter()
            .map(|m| json!({"id": m.id, "name": m.name, "email": m.email, "shared": m.shared}))
            .collect();
    drop(conn);
    let open = history.iter().find(|e| episodes::OPEN_STATUSES.contains(&e.status.as_str()));
    let (phrase, snooze_error) = match snooze_form {
        Some((form, error)) => (form.phrase.clone(), Some(error)),
        None => (String::new(), None),
    };
    let status = if snooze_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let context = json!({
        "r": reminder,
        "next": next_time(&reminder),
        "upcoming": upcoming,
        "profile": {"name": profile.name, "ackWindowMinutes": profile.ack_window_minutes},
        "timeline": timeline::build(&preview, viewer.tz),
        "history": history,
        "open": open,
        "phrase": phrase,
        "snoozeError": snooze_error,
        "examples": reminder_core::nlp::EXAMPLES,
        "quick": QUICK_SNOOZES,
        "family": family,
    });
    Ok(page(req, &state.config, viewer, "reminders", "reminder.html", status, context))
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    detail_page(&req, &state, &viewer, id, None).await
}

pub async fn snooze(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<SnoozeForm>,
) -> Result<HttpResponse, ConsoleError> {
    let phrase = if form.quick.trim().is_empty() { &form.phrase } else { &form.quick };
    let input = SnoozeInput { until: None, duration: Some(phrase.clone()) };
    match snooze::snooze(&state, viewer.user_id, id.into(), input).await {
        Ok(done) => {
            let message = format!("Snoozed. Interpreted as {}.", done.interpreted_as);
            Ok(redirect_with(&state.config, &format!("/reminders/{id}"), &message))
        }
        Err(err) => match field_errors(&err) {
            Some(found) => {
                let message = match &err {
                    ApiError::Client { message, .. } => message.clone(),
                    _ => found.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "),
                };
                detail_page(&req, &state, &viewer, id, Some((&form, message))).await
            }
            None => Err(err.into()),
        },
    }
}

async fn act(state: &AppState, viewer: &Viewer, id: Uuid, which: Simple) -> Result<HttpResponse, ConsoleError> {
    let location = format!("/reminders/{id}");
    let message = match snooze::act(state, viewer.user_id, id.into(), None, which).await {
        Ok(done) => match which {
            Simple::Acknowledge => match done.escalation.and_then(|e| e.ack_until) {
                Some(until) => format!(
                    "Acknowledged. Escalation is paused until {}.",
                    until.with_timezone(&viewer.tz).format("%a %-d %b %H:%M")
                ),
                None => "Acknowledged.".to_owned(),
            },
            Simple::Complete if done.reminder.status == "completed" => "Completed. Well done.".to_owned(),
            Simple::Complete => "Completed. The next occurrence is scheduled.".to_owned(),
        },
        Err(ApiError::Client { code: ErrorCode::UnprocessableEntity | ErrorCode::Conflict, message, .. }) => message,
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, &location, &message))
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
