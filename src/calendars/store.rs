//! `calendars`, `calendar_events` and `calendar_rules`. Every owner-facing query is scoped to the owner.
//! Reads of `reminders` and `users` are joins for ownership checks and the owner's zone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::calendar::{Effect, Event, Occurrence, Rule};
use reminder_core::ids::{CalendarId, CalendarRuleId, ReminderId, UserId};
use uuid::Uuid;

use super::ics::Instance;
use super::model::{CalendarRow, EventView, RuleRow};
use crate::db::schema::{calendar_events, calendar_rules, calendars, reminders};

/// A new `calendars` row.
#[derive(Debug, Insertable)]
#[diesel(table_name = calendars)]
pub struct NewCalendar {
    pub id: Uuid,
    pub user_id: UserId,
    pub name: String,
    pub kind: String,
    pub source_host: String,
    pub source_ciphertext: Vec<u8>,
    pub holidays: bool,
    pub next_sync_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewCalendar) -> QueryResult<CalendarRow> {
    diesel::insert_into(calendars::table).values(new).returning(CalendarRow::as_returning()).get_result(conn).await
}

pub async fn list_for(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<CalendarRow>> {
    calendars::table
        .filter(calendars::user_id.eq(owner))
        .order(calendars::created_at.asc())
        .select(CalendarRow::as_select())
        .load(conn)
        .await
}

pub async fn find_for(conn: &mut AsyncPgConnection, owner: UserId, id: Uuid) -> QueryResult<Option<CalendarRow>> {
    calendars::table
        .filter(calendars::user_id.eq(owner))
        .find(id)
        .select(CalendarRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Deletes the owner's calendar with its events and rules (foreign keys cascade).
pub async fn delete_for(conn: &mut AsyncPgConnection, owner: UserId, id: Uuid) -> QueryResult<usize> {
    diesel::delete(calendars::table.filter(calendars::user_id.eq(owner)).find(id)).execute(conn).await
}

/// Asks for a fetch at the next sync tick.
pub async fn request_sync(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(calendars::table.filter(calendars::user_id.eq(owner)).find(id))
        .set(calendars::next_sync_at.eq(now))
        .execute(conn)
        .await
}

pub async fn rules_of(conn: &mut AsyncPgConnection, owner: UserId, calendar_ids: &[Uuid]) -> QueryResult<Vec<RuleRow>> {
    calendar_rules::table
        .filter(calendar_rules::user_id.eq(owner))
        .filter(calendar_rules::calendar_id.eq_any(calendar_ids))
        .order(calendar_rules::created_at.asc())
        .select(RuleRow::as_select())
        .load(conn)
        .await
}

pub async fn count_rules(conn: &mut AsyncPgConnection, calendar: Uuid) -> QueryResult<i64> {
    calendar_rules::table.filter(calendar_rules::calendar_id.eq(calendar)).count().get_result(conn).await
}

pub async fn insert_rule(conn: &mut AsyncPgConnection, row: &RuleRow) -> QueryResult<RuleRow> {
    diesel::insert_into(calendar_rules::table).values(row).returning(RuleRow::as_returning()).get_result(conn).await
}

pub async fn delete_rule(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    calendar: CalendarId,
    rule: CalendarRuleId,
) -> QueryResult<usize> {
    diesel::delete(
        calendar_rules::table
            .filter(calendar_rules::user_id.eq(owner))
            .filter(calendar_rules::calendar_id.eq(calendar.0))
            .find(rule.0),
    )
    .execute(conn)
    .await
}

/// Which of `ids` are the owner's reminders.
pub async fn owned_reminders(conn: &mut AsyncPgConnection, owner: UserId, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    reminders::table
        .filter(reminders::user_id.eq(owner))
        .filter(reminders::id.eq_any(ids))
        .select(reminders::id)
        .load::<reminder_core::ids::ReminderId>(conn)
        .await
        .map(|ids| ids.into_iter().map(|id| id.0).collect())
}

/// The calendar's instances overlapping `from..to`, earliest first.
pub async fn events(
    conn: &mut AsyncPgConnection,
    calendar: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<EventView>> {
    calendar_events::table
        .filter(calendar_events::calendar_id.eq(calendar))
        .filter(calendar_events::starts_at.lt(to))
        .filter(calendar_events::ends_at.gt(from))
        .order((calendar_events::starts_at.asc(), calendar_events::uid.asc()))
        .limit(2_000)
        .select(EventView::as_select())
        .load(conn)
        .await
}

/// The columns [`EventRow`] reads (`e` events, `c` calendars).
const EVENT_COLUMNS: &str =
    "e.user_id, e.calendar_id, e.starts_at, e.ends_at, e.summary, e.categories, e.all_day, e.busy, c.holidays";

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = SqlUuid)]
    calendar_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ends_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    summary: String,
    #[diesel(sql_type = Array<Text>)]
    categories: Vec<String>,
    #[diesel(sql_type = Bool)]
    all_day: bool,
    #[diesel(sql_type = Bool)]
    busy: bool,
    #[diesel(sql_type = Bool)]
    holidays: bool,
}

impl EventRow {
    fn event(self) -> (UserId, Event) {
        let event = Event {
            calendar_id: self.calendar_id,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            summary: self.summary,
            categories: self.categories,
            all_day: self.all_day,
            busy: self.busy,
            holiday: self.holidays,
        };
        (self.user_id, event)
    }
}

/// What the engine weighs for one owner: their rules and their events around the occurrences.
#[derive(Debug, Default)]
pub struct Weighed {
    pub rules: Vec<Rule>,
    pub events: Vec<Event>,
}

/// Rules and events of `users` overlapping `from..to`; owners with neither rules nor holiday calendars
/// are absent (and cost one index probe each). Events of calendars without rules are read only when the
/// calendar is a holiday calendar.
pub async fn around(
    mut conn: &AsyncPgConnection,
    users: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<HashMap<UserId, Weighed>> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
    let rules = calendar_rules::table
        .filter(calendar_rules::user_id.eq_any(&ids))
        .select(RuleRow::as_select())
        .load::<RuleRow>(&mut conn);
    let events = diesel::sql_query(
        // From the owners' calendars to their events: a batch of a thousand owners, a tenth with a calendar
        // of eight weeks of events, reads in about 8 ms (from the events' side, with the rule check as a
        // hashed subplan, the planner's estimate passed the JIT threshold and it took 200–300 ms).
        format!(
            "SELECT {EVENT_COLUMNS}
         FROM calendars c JOIN calendar_events e ON e.calendar_id = c.id AND e.user_id = c.user_id
         WHERE c.user_id = ANY($1) AND c.paused_reason IS NULL
           AND (c.holidays OR EXISTS (SELECT 1 FROM calendar_rules r WHERE r.calendar_id = c.id))
           AND e.starts_at < $3 AND e.ends_at > $2
         ORDER BY e.starts_at LIMIT 20000"
        ),
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load::<EventRow>(&mut conn);
    // Sent together, answered in order: one round trip for both.
    let (rules, events) = tokio::try_join!(rules, events)?;
    let mut out: HashMap<UserId, Weighed> = HashMap::new();
    for row in rules {
        if let Some(rule) = row.rule() {
            out.entry(row.user_id).or_default().rules.push(rule);
        }
    }
    for row in events {
        let (user, event) = row.event();
        out.entry(user).or_default().events.push(event);
    }
    Ok(out)
}

/// How far around occurrences events are read: a day either side covers an all-day event and the
/// reminder's local day in any zone.
pub const MARGIN: chrono::Duration = chrono::Duration::days(1);

/// What the owners' calendars do to each occurrence ([`reminder_core::calendar::effect`]), for the engine's
/// batch and a reminder's preview alike; occurrences the calendars leave alone are absent.
pub async fn effects(
    conn: &AsyncPgConnection,
    occurrences: &[(UserId, Occurrence)],
) -> QueryResult<HashMap<ReminderId, Effect>> {
    let Some(earliest) = occurrences.iter().map(|(_, o)| o.at).min() else { return Ok(HashMap::new()) };
    let latest = occurrences.iter().map(|(_, o)| o.at + o.span).max().unwrap_or(earliest);
    let mut users: Vec<UserId> = occurrences.iter().map(|(user, _)| *user).collect();
    users.sort();
    users.dedup();
    let weighed = around(conn, &users, earliest - MARGIN, latest + MARGIN).await?;
    let mut effects = HashMap::new();
    for (user, occurrence) in occurrences {
        let Some(mine) = weighed.get(user) else { continue };
        let effect = reminder_core::calendar::effect(occurrence, &mine.events, &mine.rules);
        if effect != Effect::None {
            effects.insert(ReminderId(occurrence.reminder), effect);
        }
    }
    Ok(effects)
}

/// The owner's events (every calendar in use) overlapping `from..to`, earliest first: what snooze phrases search.
pub async fn events_of(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<Event>> {
    let rows: Vec<EventRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM calendar_events e JOIN calendars c ON c.id = e.calendar_id
             WHERE e.user_id = $1 AND c.paused_reason IS NULL AND e.starts_at < $3 AND e.ends_at > $2
             ORDER BY e.starts_at LIMIT 5000"
    ))
    .bind::<SqlUuid, _>(owner)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.event().1).collect())
}

/// A calendar due for a fetch, claimed for `lease`.
#[derive(Debug, QueryableByName)]
pub struct Due {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Bytea)]
    pub source_ciphertext: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    pub etag: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_modified: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expanded_at: Option<DateTime<Utc>>,
    /// The owner's zone, which places floating times and all-day dates.
    #[diesel(sql_type = Text)]
    pub timezone: String,
}

/// Claims up to `limit` due calendars by moving their next fetch past `lease`: several workers never fetch
/// one calendar at once, and a worker that dies mid-fetch leaves it to be retried after the lease.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> QueryResult<Vec<Due>> {
    diesel::sql_query(
        "WITH due AS (
            SELECT id FROM calendars WHERE next_sync_at <= $1 AND paused_reason IS NULL
            ORDER BY next_sync_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE calendars c SET next_sync_at = $2 FROM due, users u
         WHERE c.id = due.id AND u.id = c.user_id
         RETURNING c.id, c.user_id, c.kind, c.source_ciphertext, c.etag, c.last_modified, c.expanded_at, u.timezone",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + lease)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// A fetch's result, stored: the instances replace the previous ones in one transaction.
pub struct Fetched<'a> {
    pub instances: &'a [Instance],
    pub skipped: usize,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

pub async fn store_fetched(
    conn: &mut AsyncPgConnection,
    due: &Due,
    fetched: Fetched<'_>,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> QueryResult<()> {
    let (id, user) = (due.id, due.user_id);
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        diesel::delete(calendar_events::table.filter(calendar_events::calendar_id.eq(id))).execute(conn).await?;
        for chunk in fetched.instances.chunks(2_000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|i| {
                    (
                        calendar_events::calendar_id.eq(id),
                        calendar_events::user_id.eq(user),
                        calendar_events::uid.eq(&i.uid),
                        calendar_events::starts_at.eq(i.starts_at),
                        calendar_events::ends_at.eq(i.ends_at),
                        calendar_events::summary.eq(&i.summary),
                        calendar_events::categories.eq(&i.categories),
                        calendar_events::all_day.eq(i.all_day),
                        calendar_events::busy.eq(i.busy),
                    )
                })
                .collect();
            // Two instances with one UID and start (a file that repeats an event) are one.
            diesel::insert_into(calendar_events::table).values(rows).on_conflict_do_nothing().execute(conn).await?;
        }
        let count = calendar_events::table.filter(calendar_events::calendar_id.eq(id)).count().get_result::<i64>(conn);
        let count = i32::try_from(count.await?).unwrap_or(i32::MAX);
        diesel::update(calendars::table.find(id))
            .set((
                calendars::status.eq("ok"),
                calendars::last_error.eq(None::<String>),
                calendars::failures.eq(0),
                calendars::event_count.eq(count),
                calendars::skipped_events.eq(i32::try_from(fetched.skipped).unwrap_or(i32::MAX)),
                calendars::etag.eq(fetched.etag),
                calendars::last_modified.eq(fetched.last_modified),
                calendars::last_synced_at.eq(now),
                calendars::expanded_at.eq(now),
                calendars::next_sync_at.eq(next),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// The source did not change (304): the stored instances stand.
pub async fn mark_unchanged(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(calendars::table.find(id))
        .set((
            calendars::status.eq("ok"),
            calendars::last_error.eq(None::<String>),
            calendars::failures.eq(0),
            calendars::last_synced_at.eq(now),
            calendars::next_sync_at.eq(next),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A failed fetch: the error as the owner reads it, and a back-off (5 min, doubling, at most `interval`).
/// The last good instances stay in use. Returns the failures in a row.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> QueryResult<i32> {
    diesel::sql_query(
        "UPDATE calendars SET status = 'failing', last_error = $2, failures = failures + 1,
             next_sync_at = $3 + LEAST($4, 300 * power(2, LEAST(failures, 10))::bigint) * interval '1 second'
         WHERE id = $1 RETURNING failures",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(interval.num_seconds())
    .get_result::<Failures>(conn)
    .await
    .map(|row| row.failures)
}

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Int4)]
    failures: i32,
}
