//! Calendar rules of the API and the console: connecting a calendar (checked, sealed, counted against the
//! tier), its rules (checked against the owner's reminders), its events, and a fetch on request.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::{CalendarId, CalendarRuleId, UserId};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::model::{
    CalendarInput, CalendarRow, CalendarView, EventView, EventsQuery, RuleInput, RuleRow, RuleView, Source,
};
use super::store::{self, NewCalendar};
use crate::billing::limits::{self, Limit};
use crate::http::{ApiError, FieldError, required_text};
use crate::state::AppState;

const NAME_MAX: usize = 100;
const CREDENTIAL_MAX: usize = 200;
const MATCH_TEXT_MAX: usize = 200;
/// Rules per calendar, so judging an occurrence stays cheap.
const RULES_MAX: i64 = 50;
const RULE_REMINDERS_MAX: usize = 100;
/// The longest span `GET …/events` answers for.
const EVENTS_SPAN_MAX: Duration = Duration::days(62);

fn not_found() -> ApiError {
    ApiError::not_found("Calendar")
}

/// The checked input: what is sealed and the host shown.
fn validate(state: &AppState, input: CalendarInput) -> Result<(String, String, Source, String, bool), ApiError> {
    let mut errors = Vec::new();
    let name = required_text("name", &input.name, NAME_MAX, &mut errors);
    let kind = input.kind.as_deref().unwrap_or("ics").to_ascii_lowercase();
    if !matches!(kind.as_str(), "ics" | "caldav") {
        errors.push(FieldError::new("kind", "must be ics or caldav"));
    }
    let raw = input.url.trim();
    // webcal:// is how calendar apps hand out ICS addresses; it is https underneath.
    let raw = match raw.get(..9) {
        Some(scheme) if scheme.eq_ignore_ascii_case("webcal://") => format!("https://{}", &raw[9..]),
        _ => raw.to_owned(),
    };
    let allow_private = state.config.webhook_allow_private;
    let host = match crate::agents::ssrf::check_https_url(&raw, allow_private) {
        Ok(url) => url.host_str().unwrap_or_default().to_owned(),
        Err(message) => {
            errors.push(FieldError::new("url", message));
            String::new()
        }
    };
    let (mut user, mut password) = (None, None);
    match kind.as_str() {
        "caldav" => {
            user = Some(required_text("user", input.user.as_deref().unwrap_or(""), CREDENTIAL_MAX, &mut errors));
            password = Some(required_text(
                "appPassword",
                input.app_password.as_deref().unwrap_or(""),
                CREDENTIAL_MAX,
                &mut errors,
            ));
        }
        _ => {
            for (field, given) in [("user", &input.user), ("appPassword", &input.app_password)] {
                if given.is_some() {
                    errors.push(FieldError::new(field, "only for kind caldav; an ICS address carries its own secret"));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok((name, kind, Source { url: raw, user, password }, host, input.holidays.unwrap_or(false)))
}

async fn view(conn: &mut AsyncPgConnection, row: CalendarRow) -> Result<CalendarView, ApiError> {
    let rules = store::rules_of(conn, row.user_id, &[row.id]).await?;
    Ok(CalendarView::new(row, rules.into_iter().filter_map(RuleRow::view).collect()))
}

/// Connects a calendar; it is fetched at the next sync tick. PERSONAL and above (the tier's `calendars`).
pub async fn create(state: &AppState, owner: UserId, input: CalendarInput) -> Result<CalendarView, ApiError> {
    let (name, kind, source, host, holidays) = validate(state, input)?;
    let id = Uuid::now_v7();
    let plain = serde_json::to_vec(&source).map_err(ApiError::internal)?;
    let sealed = crate::crypto::encrypt(state.config.encryption_key.expose_secret(), id, &plain)?;
    let new = NewCalendar {
        id,
        user_id: owner,
        name,
        kind,
        source_host: host,
        source_ciphertext: sealed,
        holidays,
        next_sync_at: state.clock.now(),
    };
    let table = &state.config.tier_limits;
    let mut conn = state.db.get().await?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            limits::check(conn, table, owner, Limit::Calendars).await?;
            Ok(store::insert(conn, &new).await?)
        })
        .await?;
    tracing::info!(user.id = %owner, calendar.id = %row.id, kind = %row.kind, "calendar connected");
    view(&mut conn, row).await
}

pub async fn list(state: &AppState, owner: UserId) -> Result<Vec<CalendarView>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = store::list_for(&mut conn, owner).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut rules = store::rules_of(&mut conn, owner, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = rules.drain(..).partition(|rule| rule.calendar_id == row.id);
            rules = rest;
            let mine: Vec<RuleRow> = mine;
            CalendarView::new(row, mine.into_iter().filter_map(RuleRow::view).collect())
        })
        .collect())
}

pub async fn get(state: &AppState, owner: UserId, id: Uuid) -> Result<CalendarView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    view(&mut conn, row).await
}

/// Deletes the calendar; its freed slot lets the oldest calendar paused for the tier limit be read again.
pub async fn delete(state: &AppState, owner: UserId, id: Uuid) -> Result<(), ApiError> {
    use crate::billing::service::{Freed, delete_freeing_a_slot};
    delete_freeing_a_slot(state, owner, Freed::Calendar, not_found, move |conn| {
        Box::pin(store::delete_for(conn, owner, id))
    })
    .await
}

/// Fetches the calendar at the next sync tick (a few seconds), whatever its schedule.
pub async fn sync_now(state: &AppState, owner: UserId, id: Uuid) -> Result<CalendarView, ApiError> {
    let mut conn = state.db.get().await?;
    if store::request_sync(&mut conn, owner, id, state.clock.now()).await? == 0 {
        return Err(not_found());
    }
    let row = store::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    view(&mut conn, row).await
}

fn instant(field: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(raw?.trim()).map(|t| t.with_timezone(&Utc));
    parsed
        .map_err(|_| errors.push(FieldError::new(field, "must be an RFC 3339 instant, e.g. 2026-12-07T09:00:00Z")))
        .ok()
}

pub async fn events(state: &AppState, owner: UserId, id: Uuid, query: EventsQuery) -> Result<Vec<EventView>, ApiError> {
    let mut conn = state.db.get().await?;
    // Another user's id is 404 before the query is even read, so a 400 never hints that it exists.
    store::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    let mut errors = Vec::new();
    let from = instant("from", query.from.as_deref(), &mut errors).unwrap_or_else(|| state.clock.now());
    let to = instant("to", query.to.as_deref(), &mut errors).unwrap_or(from + Duration::days(7));
    if errors.is_empty() && to <= from {
        errors.push(FieldError::new("to", "must be after from"));
    } else if errors.is_empty() && to - from > EVENTS_SPAN_MAX {
        errors.push(FieldError::new("to", "at most 62 days after from"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(store::events(&mut conn, id, from, to).await?)
}

/// Adds a rule to the owner's calendar.
pub async fn add_rule(state: &AppState, owner: UserId, calendar: Uuid, input: RuleInput) -> Result<RuleView, ApiError> {
    let mut conn = state.db.get().await?;
    store::find_for(&mut conn, owner, calendar).await?.ok_or_else(not_found)?;
    let mut errors = Vec::new();
    let mut matcher = input.matcher;
    if matcher.is_empty() {
        errors.push(FieldError::new("match", "give at least one of summaryContains, category, allDay or busy"));
    }
    matcher.summary_contains =
        matcher.summary_contains.map(|s| required_text("match.summaryContains", &s, MATCH_TEXT_MAX, &mut errors));
    matcher.category = matcher.category.map(|s| required_text("match.category", &s, MATCH_TEXT_MAX, &mut errors));
    let reminders = match (input.reminder_ids, input.all) {
        (Some(_), Some(true)) => {
            errors.push(FieldError::new("all", "give reminderIds or all, not both"));
            None
        }
        (Some(ids), _) => Some(ids),
        (None, Some(false)) => {
            errors.push(FieldError::new("reminderIds", "give the reminders, or all: true"));
            None
        }
        (None, _) => None,
    };
    if let Some(ids) = &reminders {
        if ids.is_empty() || ids.len() > RULE_REMINDERS_MAX {
            errors.push(FieldError::new("reminderIds", format!("give 1 to {RULE_REMINDERS_MAX} reminder ids")));
        } else {
            let owned = store::owned_reminders(&mut conn, owner, ids).await?;
            if let Some(missing) = ids.iter().find(|id| !owned.contains(id)) {
                errors.push(FieldError::new("reminderIds", format!("{missing} is not one of your reminders")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if store::count_rules(&mut conn, calendar).await? >= RULES_MAX {
        return Err(ApiError::forbidden(format!("At most {RULES_MAX} rules per calendar; delete one first.")));
    }
    let row = RuleRow {
        id: Uuid::now_v7(),
        calendar_id: calendar,
        user_id: owner,
        match_: serde_json::to_value(&matcher).map_err(ApiError::internal)?,
        action: input.action.as_str().to_owned(),
        reminder_ids: reminders.map(|mut ids| {
            ids.sort();
            ids.dedup();
            ids
        }),
        created_at: state.clock.now(),
    };
    let row = store::insert_rule(&mut conn, &row).await?;
    row.view().ok_or_else(|| ApiError::internal(anyhow::anyhow!("a rule just written does not read")))
}

pub async fn delete_rule(
    state: &AppState,
    owner: UserId,
    calendar: CalendarId,
    rule: CalendarRuleId,
) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    if store::delete_rule(&mut conn, owner, calendar, rule).await? == 0 {
        return Err(ApiError::not_found("Rule"));
    }
    Ok(())
}
