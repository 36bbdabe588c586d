//! Reminder queries, the one writer of `reminders`. Every function that reads or writes a reminder for a
//! request takes the owner's id, so another user's reminder is simply not found; the scheduler's write
//! ([`mark_fired`]) works on the rows it locked, across owners.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::status::ReminderStatus;

use super::model::{CompletionRow, NewReminder, Reminder, ReminderChanges, ReminderFull, ScheduleRow};
use crate::db::schema::{completion_criteria, reminder_schedules, reminders};
use crate::http::pagination::Page;

/// Filters of the list route, already validated.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<ReminderStatus>,
    pub importance: Option<String>,
    pub q: Option<String>,
}

pub async fn find_for(conn: &mut AsyncPgConnection, owner: UserId, id: ReminderId) -> QueryResult<Option<Reminder>> {
    reminders::table
        .find(id)
        .filter(reminders::user_id.eq(owner))
        .select(Reminder::as_select())
        .first(conn)
        .await
        .optional()
}

/// The owner's reminder, row-locked until the transaction ends.
pub async fn lock_for(conn: &mut AsyncPgConnection, owner: UserId, id: ReminderId) -> QueryResult<Option<Reminder>> {
    reminders::table
        .find(id)
        .filter(reminders::user_id.eq(owner))
        .select(Reminder::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewReminder) -> QueryResult<Reminder> {
    diesel::insert_into(reminders::table).values(new).returning(Reminder::as_returning()).get_result(conn).await
}

/// Applies `changes` and bumps the version. The caller holds the row lock (or is the one creating it).
pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ReminderId,
    changes: &ReminderChanges,
) -> QueryResult<Reminder> {
    diesel::update(reminders::table.find(id).filter(reminders::user_id.eq(owner)))
        .set((changes, reminders::version.eq(reminders::version + 1)))
        .returning(Reminder::as_returning())
        .get_result(conn)
        .await
}

/// Inserts or replaces the schedule row.
pub async fn put_schedule(conn: &mut AsyncPgConnection, row: &ScheduleRow) -> QueryResult<usize> {
    diesel::insert_into(reminder_schedules::table)
        .values(row)
        .on_conflict(reminder_schedules::reminder_id)
        .do_update()
        .set(row)
        .execute(conn)
        .await
}

/// Inserts or replaces the completion criteria row.
pub async fn put_completion(conn: &mut AsyncPgConnection, row: &CompletionRow) -> QueryResult<usize> {
    diesel::insert_into(completion_criteria::table)
        .values(row)
        .on_conflict(completion_criteria::reminder_id)
        .do_update()
        .set(row)
        .execute(conn)
        .await
}

pub async fn schedule_for(conn: &mut AsyncPgConnection, reminder: ReminderId) -> QueryResult<ScheduleRow> {
    reminder_schedules::table.find(reminder).select(ScheduleRow::as_select()).first(conn).await
}

/// Attaches schedule and completion rows to reminders in two queries, whatever the number of reminders.
pub async fn with_details(conn: &mut AsyncPgConnection, rows: Vec<Reminder>) -> QueryResult<Vec<ReminderFull>> {
    let ids: Vec<ReminderId> = rows.iter().map(|r| r.id).collect();
    let schedules: Vec<ScheduleRow> = reminder_schedules::table
        .filter(reminder_schedules::reminder_id.eq_any(&ids))
        .select(ScheduleRow::as_select())
        .load(conn)
        .await?;
    let completions: Vec<CompletionRow> = completion_criteria::table
        .filter(completion_criteria::reminder_id.eq_any(&ids))
        .select(CompletionRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|reminder| {
            // Schedule rows are written in the reminder's own transaction; one missing is a broken invariant.
            let schedule = schedules.iter().find(|s| s.reminder_id == reminder.id).cloned().ok_or(diesel::NotFound)?;
            let completion = completions.iter().find(|c| c.reminder_id == reminder.id).cloned();
            Ok(ReminderFull { reminder, schedule, completion })
        })
        .collect()
}

/// One page of the owner's reminders, newest first, and the number matching the filter.
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    filter: &ListFilter,
    page: Page,
) -> QueryResult<(Vec<Reminder>, i64)> {
    let query = || {
        let mut query = reminders::table.filter(reminders::user_id.eq(owner)).into_boxed();
        query = match &filter.status {
            Some(status) => query.filter(reminders::status.eq(*status)),
            None => query.filter(reminders::status.ne(ReminderStatus::Archived)),
        };
        if let Some(importance) = &filter.importance {
            query = query.filter(reminders::importance.eq(importance.clone()));
        }
        if let Some(q) = &filter.q {
            query = query.filter(reminders::title.ilike(format!("%{}%", escape_like(q))));
        }
        query
    };
    let total = query().count().get_result(conn).await?;
    let rows = query()
        .order((reminders::created_at.desc(), reminders::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(Reminder::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// When a live reminder next wants attention: a snoozed one at its snooze's end, any other at its next trigger.
fn next_attention() -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql(
        "CASE WHEN reminders.status = 'snoozed' THEN reminders.snoozed_until ELSE reminders.next_trigger_at END",
    )
}

/// The owner's `limit` live reminders that next want attention, soonest first: the home page's "due next",
/// found by the database among all of them rather than among one page of the list.
pub async fn due_next(conn: &mut AsyncPgConnection, owner: UserId, limit: i64) -> QueryResult<Vec<Reminder>> {
    reminders::table
        .filter(reminders::user_id.eq(owner))
        .filter(reminders::status.ne(ReminderStatus::Archived))
        .filter(next_attention().is_not_null())
        .order((next_attention().asc(), reminders::id))
        .limit(limit)
        .select(Reminder::as_select())
        .load(conn)
        .await
}

/// How many reminders the owner has that are not archived.
pub async fn count_live(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<i64> {
    reminders::table
        .filter(reminders::user_id.eq(owner))
        .filter(reminders::status.ne(ReminderStatus::Archived))
        .count()
        .get_result(conn)
        .await
}

/// The titles of those of `ids` that are the owner's live reminders (archived ones are left out).
pub async fn titles(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    ids: &[ReminderId],
) -> QueryResult<Vec<(ReminderId, String)>> {
    reminders::table
        .filter(reminders::user_id.eq(owner))
        .filter(reminders::id.eq_any(ids))
        .filter(reminders::status.ne(ReminderStatus::Archived))
        .select((reminders::id, reminders::title))
        .load(conn)
        .await
}

/// Escapes LIKE wildcards so a search for "50%" matches the text "50%" (backslash is Postgres' default escape).
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The scheduler could not read each of `ids` (its schedule or profile): it tries again at `retry_at`
/// instead of meeting the same rows at the head of every batch, where enough of them would stop every other
/// reminder from firing. A repaired row fires at the next try.
pub async fn postpone_unreadable(
    mut conn: &AsyncPgConnection,
    ids: &[ReminderId],
    retry_at: DateTime<Utc>,
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "UPDATE reminders SET
            next_trigger_at = CASE WHEN status = 'active' THEN $2 ELSE next_trigger_at END,
            snoozed_until = CASE WHEN status = 'snoozed' THEN $2 ELSE snoozed_until END
         WHERE id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Timestamptz, _>(retry_at)
    .execute(&mut conn)
    .await
}

/// The scheduler fired each of `ids`: they are active again (a snooze ended by firing) and wait for
/// their `next` occurrence (None: no more). Takes a shared connection so the engine can pipeline it with
/// the other statements of its transaction.
/// A reminder snoozed by its calendar: until when, and its next regular occurrence.
pub type CalendarSnooze = (ReminderId, DateTime<Utc>, Option<DateTime<Utc>>);

/// Snoozes reminders until an instant with their next regular occurrence kept (a calendar's
/// `SNOOZE_UNTIL_END`, in the fire step's transaction).
pub async fn snooze_until(mut conn: &AsyncPgConnection, rows: &[CalendarSnooze]) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<ReminderId> = rows.iter().map(|r| r.0).collect();
    let until: Vec<DateTime<Utc>> = rows.iter().map(|r| r.1).collect();
    let next: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.2).collect();
    diesel::sql_query(
        "UPDATE reminders r SET status = 'snoozed', snoozed_until = v.until, next_trigger_at = v.next
         FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(id, until, next) WHERE r.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Timestamptz>, _>(until)
    .bind::<Array<Nullable<Timestamptz>>, _>(next)
    .execute(&mut conn)
    .await
}

pub async fn mark_fired(
    mut conn: &AsyncPgConnection,
    ids: &[ReminderId],
    next: &[Option<DateTime<Utc>>],
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};

    use crate::db::Prepare;
    diesel::sql_query(
        "UPDATE reminders r SET status = 'active', snoozed_until = NULL, next_trigger_at = v.next
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, next) WHERE r.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Timestamptz>>, _>(next)
    .prepared()
    .execute(&mut conn)
    .await
}
