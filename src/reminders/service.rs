//! Reminder rules: field checks, the tier quota, optimistic concurrency, archive.
//!
//! Archiving (by `update` or `archive`) also ends the reminder's open episode and frees its quota slot, in
//! the same transaction; that part belongs to escalation and billing, so `crate::stopping` composes it: the
//! write functions here run inside its transaction and say what they did.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::{ProfileId, ReminderId, UserId};
use reminder_core::status::ReminderStatus;
use reminder_core::status::ReminderStatus::{Active, Archived, Completed, Snoozed};
use reminder_core::tiers::TierTable;
use uuid::Uuid;

use super::mapping::{error_field, reminder_view, schedule_from_input, schedule_of, schedule_row};
use super::model::{COMPLETION_KINDS, CompletionRow, IMPORTANCES, NewReminder, Reminder, ReminderChanges, STATUSES};
use super::store::{self, ListFilter};
use super::views::{CompletionInput, ListQuery, ReminderInput, ReminderPatch, ReminderView};
use crate::billing::limits::{self, Limit};
use crate::http::envelope::Pagination;
use crate::http::pagination::Page;
use crate::http::{ApiError, FieldError};
use crate::profiles::store as profiles;

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;
const COMPLETION_CONFIG_MAX_BYTES: usize = 4096;
const Q_MAX: usize = 200;

/// Takes the quota lock and refuses when the owner has no free slot. Must run inside the write transaction.
async fn ensure_slot(conn: &mut AsyncPgConnection, tiers: &TierTable, owner: UserId) -> Result<(), ApiError> {
    limits::check(conn, tiers, owner, Limit::Reminders).await
}

fn clean_title(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let title = raw.trim().to_owned();
    if title.is_empty() || title.chars().count() > TITLE_MAX || title.chars().any(char::is_control) {
        errors.push(FieldError::new("title", format!("must be 1 to {TITLE_MAX} characters")));
    }
    title
}

fn clean_description(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    if text.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.push(FieldError::new("description", format!("must be at most {DESCRIPTION_MAX} characters")));
    }
    text
}

fn check_one_of(field: &str, value: &str, allowed: &[&str], errors: &mut Vec<FieldError>) {
    if !allowed.contains(&value) {
        errors.push(FieldError::new(field, format!("must be one of {}", allowed.join(", "))));
    }
}

fn completion_row(reminder_id: ReminderId, input: CompletionInput, errors: &mut Vec<FieldError>) -> CompletionRow {
    check_one_of("completionCriteria.type", &input.kind, &COMPLETION_KINDS, errors);
    let config = input.config.unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() || config.to_string().len() > COMPLETION_CONFIG_MAX_BYTES {
        errors.push(FieldError::new("completionCriteria.config", "must be a JSON object of at most 4 KiB"));
    }
    CompletionRow { reminder_id, kind: input.kind, config }
}

/// Another user's profile reads as "not found", exactly like an id that does not exist.
async fn check_profile(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ProfileId,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if profiles::find_visible(conn, owner, id).await?.is_none() {
        errors.push(FieldError::new("escalationProfileId", "not found"));
    }
    Ok(())
}

/// The reminder as the API shows it, with its schedule and completion criteria.
pub async fn full_view(conn: &mut AsyncPgConnection, reminder: Reminder) -> Result<ReminderView, ApiError> {
    let mut full = store::with_details(conn, vec![reminder]).await?;
    let one = full.pop().ok_or_else(|| ApiError::internal(anyhow::anyhow!("reminder vanished")))?;
    reminder_view(one).map_err(ApiError::internal)
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    owner: UserId,
    user_zone: &str,
    input: ReminderInput,
    now: DateTime<Utc>,
) -> Result<ReminderView, ApiError> {
    let mut errors = Vec::new();
    let title = clean_title(&input.title, &mut errors);
    let description = clean_description(input.description, &mut errors);
    let importance = input.importance.unwrap_or_else(|| "medium".to_owned());
    check_one_of("importance", &importance, &IMPORTANCES, &mut errors);
    check_profile(conn, owner, input.escalation_profile_id.into(), &mut errors).await?;
    let excludes = input.exclude_dates.unwrap_or_default();
    let skip = input.skip_weekends.unwrap_or(false);
    let skip_holidays = input.skip_holidays.unwrap_or(false);
    let schedule = schedule_from_input(&input.schedule, user_zone, excludes, skip, now, &mut errors);
    // The id is not known yet; the row gets it below.
    let completion = input.completion_criteria.map(|c| completion_row(ReminderId(Uuid::nil()), c, &mut errors));
    let Some(schedule) = schedule.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let next = schedule.next_after(now).map_err(ApiError::internal)?;
    let new = NewReminder {
        user_id: owner,
        title,
        description,
        importance,
        escalation_profile_id: input.escalation_profile_id.into(),
        timezone: schedule.tz.name().to_owned(),
        next_trigger_at: next,
    };
    let reminder = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            ensure_slot(conn, tiers, owner).await?;
            let reminder = store::insert(conn, &new).await?;
            let row = schedule_row(reminder.id, &schedule, skip_holidays).map_err(ApiError::internal)?;
            store::put_schedule(conn, &row).await?;
            let completion = completion.unwrap_or_else(|| CompletionRow {
                reminder_id: reminder.id,
                kind: "manual".to_owned(),
                config: serde_json::json!({}),
            });
            store::put_completion(conn, &CompletionRow { reminder_id: reminder.id, ..completion }).await?;
            Ok(reminder)
        })
        .await?;
    full_view(conn, reminder).await
}

pub async fn get(conn: &mut AsyncPgConnection, owner: UserId, id: ReminderId) -> Result<ReminderView, ApiError> {
    let reminder = store::find_for(conn, owner, id).await?.ok_or_else(not_found)?;
    full_view(conn, reminder).await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    query: ListQuery,
) -> Result<(Vec<ReminderView>, Pagination), ApiError> {
    let mut errors = Vec::new();
    let page = Page::from_query(query.page, query.page_size, &mut errors);
    if let Some(status) = &query.status {
        check_one_of("status", status, &STATUSES, &mut errors);
    }
    if let Some(importance) = &query.importance {
        check_one_of("importance", importance, &IMPORTANCES, &mut errors);
    }
    let q = query.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > Q_MAX) {
        errors.push(FieldError::new("q", format!("must be at most {Q_MAX} characters")));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let status = query.status.as_deref().and_then(ReminderStatus::parse);
    let filter = ListFilter { status, importance: query.importance, q };
    let (rows, total) = store::list_for(conn, owner, &filter, page).await?;
    Ok((views(conn, rows).await?, page.pagination(total)))
}

async fn views(conn: &mut AsyncPgConnection, rows: Vec<Reminder>) -> Result<Vec<ReminderView>, ApiError> {
    store::with_details(conn, rows)
        .await?
        .into_iter()
        .map(|full| reminder_view(full).map_err(ApiError::internal))
        .collect()
}

/// The owner's `limit` live reminders that next want attention, soonest first, and how many live reminders
/// they have in all.
pub async fn due_next(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    limit: i64,
) -> Result<(Vec<ReminderView>, i64), ApiError> {
    let rows = store::due_next(conn, owner, limit).await?;
    let count = store::count_live(conn, owner).await?;
    Ok((views(conn, rows).await?, count))
}

/// Titles of the owner's live reminders among `ids`, for naming them in lists of episodes and deliveries.
pub async fn titles(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    ids: &[ReminderId],
) -> Result<std::collections::HashMap<ReminderId, String>, ApiError> {
    Ok(store::titles(conn, owner, ids).await?.into_iter().collect())
}

/// What [`update`] wrote: the reminder, and whether this update archived it (then the caller ends its open
/// episode and applies the tier limits in the same transaction).
pub struct Updated {
    pub reminder: Reminder,
    pub archived: bool,
}

/// One change to one reminder, as [`update`] and `crate::stopping::update_reminder` (which wraps it) both take it.
pub struct ReminderEdit {
    pub owner: UserId,
    pub id: ReminderId,
    pub patch: ReminderPatch,
    pub now: DateTime<Utc>,
}

/// Applies the edit inside the caller's transaction (`crate::stopping::update_reminder`).
pub async fn update(conn: &mut AsyncPgConnection, tiers: &TierTable, edit: ReminderEdit) -> Result<Updated, ApiError> {
    let ReminderEdit { owner, id, patch, now } = edit;
    let current = store::lock_for(conn, owner, id).await?.ok_or_else(not_found)?;
    if patch.version.is_some_and(|v| v != current.version) {
        return Err(ApiError::conflict(format!(
            "The reminder was changed meanwhile (now version {}); reload it and retry.",
            current.version
        )));
    }
    let mut errors = Vec::new();
    let mut changes = ReminderChanges {
        title: patch.title.as_deref().map(|t| clean_title(t, &mut errors)),
        description: patch.description.map(|d| clean_description(d, &mut errors)),
        ..Default::default()
    };
    if let Some(importance) = patch.importance {
        check_one_of("importance", &importance, &IMPORTANCES, &mut errors);
        changes.importance = Some(importance);
    }
    if let Some(profile) = patch.escalation_profile_id {
        check_profile(conn, owner, profile.into(), &mut errors).await?;
        changes.escalation_profile_id = Some(profile.into());
    }
    let stored_row = store::schedule_for(conn, id).await?;
    let skip_holidays = patch.skip_holidays.unwrap_or(stored_row.skip_holidays);
    let stored = schedule_of(&stored_row).map_err(ApiError::internal)?;
    let excludes = patch.exclude_dates.clone().unwrap_or_else(|| stored.exclude_dates.clone());
    let skip = patch.skip_weekends.unwrap_or(stored.skip_weekends);
    let schedule = match &patch.schedule {
        Some(input) => schedule_from_input(input, &current.timezone, excludes, skip, now, &mut errors),
        None if patch.exclude_dates.is_some() || patch.skip_weekends.is_some() => {
            let changed =
                reminder_core::schedule::Schedule { exclude_dates: excludes, skip_weekends: skip, ..stored.clone() };
            match changed.validate(now) {
                Ok(()) => Some(changed),
                Err(err) => {
                    errors.push(FieldError::new(error_field(&err, ""), err.to_string()));
                    None
                }
            }
        }
        None if patch.skip_holidays.is_some() => Some(stored.clone()),
        None => None,
    };
    let status = match &patch.status {
        Some(name) => {
            check_one_of("status", name, &["active", "archived"], &mut errors);
            ReminderStatus::parse(name).unwrap_or(current.status)
        }
        None => current.status,
    };
    let completion = patch.completion_criteria.map(|c| completion_row(id, c, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let effective = schedule.clone().unwrap_or(stored);
    if let Some(schedule) = &schedule {
        changes.timezone = Some(schedule.tz.name().to_owned());
        store::put_schedule(conn, &schedule_row(id, schedule, skip_holidays).map_err(ApiError::internal)?).await?;
    }
    if let Some(completion) = &completion {
        store::put_completion(conn, completion).await?;
    }
    match (current.status, status) {
        (Archived, Archived) => {}
        (_, Archived) => archive_changes(&mut changes, now),
        (Archived | Completed, Active) => {
            ensure_slot(conn, tiers, owner).await?;
            let next = effective.next_after(now).map_err(ApiError::internal)?;
            if next.is_none() {
                return Err(ApiError::field("schedule", "has no upcoming occurrence; give a new schedule"));
            }
            changes.status = Some(Active);
            changes.next_trigger_at = Some(next);
            changes.completed_at = Some(None);
            changes.archived_at = Some(None);
        }
        (Snoozed, Active) if patch.status.is_some() => {
            changes.status = Some(Active);
            changes.snoozed_until = Some(None);
            changes.next_trigger_at = Some(effective.next_after(now).map_err(ApiError::internal)?);
        }
        (Active | Snoozed, _) if schedule.is_some() => {
            changes.next_trigger_at = Some(effective.next_after(now).map_err(ApiError::internal)?);
        }
        _ => {}
    }
    let archived = changes.status == Some(Archived);
    let reminder = store::update(conn, owner, id, &changes).await?;
    Ok(Updated { reminder, archived })
}

fn archive_changes(changes: &mut ReminderChanges, now: DateTime<Utc>) {
    changes.status = Some(ReminderStatus::Archived);
    changes.archived_at = Some(Some(now));
    changes.next_trigger_at = Some(None);
    changes.snoozed_until = Some(None);
}

/// Archives the reminder inside the caller's transaction (`crate::stopping::archive_reminder`); idempotent.
/// Returns whether it archived it now (then the caller ends its open episode and frees its quota slot).
pub async fn archive(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ReminderId,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let current = store::lock_for(conn, owner, id).await?.ok_or_else(not_found)?;
    if current.status == ReminderStatus::Archived {
        return Ok(false);
    }
    let mut changes = ReminderChanges::default();
    archive_changes(&mut changes, now);
    store::update(conn, owner, id, &changes).await?;
    Ok(true)
}

/// The owner's zone: the default for schedules and the clock snooze phrases are read on.
pub async fn user_zone(conn: &mut AsyncPgConnection, owner: UserId) -> Result<String, ApiError> {
    let row = crate::accounts::users::store::find_live(conn, owner).await?;
    Ok(row.ok_or_else(|| ApiError::unauthorized("The account no longer exists."))?.timezone)
}

pub fn not_found() -> ApiError {
    ApiError::not_found("Reminder")
}
