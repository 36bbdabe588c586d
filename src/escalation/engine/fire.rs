//! Fire: due reminders (and snoozed ones whose snooze ended) start an episode. In one transaction per
//! batch: the previous open episode of each is superseded, the new episodes and their first deliveries
//! are inserted, and each reminder's next occurrence is computed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Integer, Jsonb, Nullable, SmallInt, Text, Timestamp, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::episodes::{self, EpisodeRow, NewEpisode};
use super::{BATCH, fence, recipients};
use crate::billing::controls;
use crate::db::Prepare;
use crate::escalation::machine;
use crate::escalation::plan::{self, ProfileSettings, TierSpec};
use crate::notifications::delivery::{self, OwnerColumns};
use crate::reminders::schedule::{Schedule, ScheduleKind};
use crate::state::AppState;

#[derive(diesel::QueryableByName)]
struct DueReminder {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_trigger_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    snoozed_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Jsonb)]
    tiers: serde_json::Value,
    #[diesel(sql_type = SmallInt)]
    repeat_count: i16,
    #[diesel(sql_type = Integer)]
    ack_window_minutes: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    loop_gap_minutes: Option<i32>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    trigger_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    expression: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    interval_minutes: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    start_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    dtstart: Option<NaiveDateTime>,
    #[diesel(sql_type = Text)]
    schedule_timezone: String,
    #[diesel(sql_type = Array<Date>)]
    exclude_dates: Vec<NaiveDate>,
    #[diesel(sql_type = Bool)]
    skip_weekends: bool,
    #[diesel(embed)]
    owner: OwnerColumns,
}

impl DueReminder {
    fn schedule(&self) -> Option<Schedule> {
        let kind = match self.kind.as_str() {
            "once" => ScheduleKind::Once { at: self.trigger_at? },
            "cron" => ScheduleKind::Cron { expression: self.expression.clone()? },
            "interval" => ScheduleKind::Interval {
                minutes: u32::try_from(self.interval_minutes?).ok()?,
                start_at: self.start_at?,
            },
            "rrule" => ScheduleKind::Rrule { rule: self.expression.clone()?, dtstart: self.dtstart? },
            _ => return None,
        };
        Some(Schedule {
            kind,
            tz: crate::timezone::parse_zone(&self.schedule_timezone)?,
            exclude_dates: self.exclude_dates.clone(),
            skip_weekends: self.skip_weekends,
        })
    }

    /// The occurrence this firing stands for and the reminder's next regular occurrence.
    fn occurrence_and_next(&self, now: DateTime<Utc>) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        let schedule = self.schedule();
        let next_after = |after: DateTime<Utc>| schedule.as_ref().and_then(|s| s.next_after(after).ok().flatten());
        if self.status == "snoozed" {
            // Waking keeps the regular schedule, skipping occurrences that passed during the snooze.
            let occurrence = self.snoozed_until.unwrap_or(now);
            let next = match self.next_trigger_at {
                Some(next) if next > now => Some(next),
                Some(_) => next_after(now),
                None => None,
            };
            return (occurrence, next);
        }
        let occurrence = self.next_trigger_at.unwrap_or(now);
        // Missed occurrences (scheduler down) collapse into this one firing rather than a burst.
        (occurrence, next_after(occurrence.max(now)))
    }
}

/// Due reminders, oldest first, locked. The two kinds of due row are found through their own partial
/// indexes (`reminders_due`, `reminders_snoozed`) and locked there, before any join: with the join and the
/// `OR` in one query the planner joined every reminder first (200 ms a batch at 100 000 due, 10 ms now).
/// A deleted owner's reminders are filtered before the limit so they can never fill a batch.
const SELECT_DUE: &str = "
    WITH due_active AS (
        SELECT r.id, r.next_trigger_at AS due_at FROM reminders r
        WHERE r.status = 'active' AND r.next_trigger_at IS NOT NULL AND r.next_trigger_at <= $1
          AND r.paused_reason IS NULL
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND u.deleted_at IS NULL)
        ORDER BY r.next_trigger_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED),
    due_snoozed AS (
        SELECT r.id, r.snoozed_until AS due_at FROM reminders r
        WHERE r.status = 'snoozed' AND r.snoozed_until <= $1 AND r.paused_reason IS NULL
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND u.deleted_at IS NULL)
        ORDER BY r.snoozed_until LIMIT $2 FOR UPDATE OF r SKIP LOCKED),
    picked AS (
        SELECT id, due_at FROM due_active UNION ALL SELECT id, due_at FROM due_snoozed
        ORDER BY due_at LIMIT $2)
    SELECT r.id, r.user_id, r.status, r.next_trigger_at, r.snoozed_until,
           p.tiers, p.repeat_count, p.ack_window_minutes, p.loop_gap_minutes,
           s.kind, s.trigger_at, s.expression, s.interval_minutes, s.start_at, s.dtstart,
           s.timezone AS schedule_timezone, s.exclude_dates, s.skip_weekends,
           {owner}
    FROM picked
    JOIN reminders r ON r.id = picked.id
    JOIN escalation_profiles p ON p.id = r.escalation_profile_id
    JOIN reminder_schedules s ON s.reminder_id = r.id
    JOIN users u ON u.id = r.user_id";

/// Fires one batch; returns how many reminders fired. When Redis is reachable, the batch's first
/// deliveries are offered by this step itself, right after its commit (see `delivery::insert_batch`).
pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, epoch: i64) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let social = state.config.feature_social_escalation;
    let mut redis = state.redis.conn().await;
    let offer_at = redis.is_some().then_some(now);
    let (fired, offered) = conn
        .transaction::<_, anyhow::Error, _>(async move |conn| {
            // Independent statements are pipelined (sent together, answered in order): a batch waits on five
            // round trips instead of ten. A failed fence check rolls the whole transaction back.
            let mut shared: &AsyncPgConnection = conn;
            let select_due = diesel::sql_query(SELECT_DUE.replace("{owner}", OwnerColumns::SELECT))
                .bind::<Timestamptz, _>(now)
                .bind::<BigInt, _>(BATCH)
                .prepared()
                .load::<DueReminder>(&mut shared);
            let ((), due) = tokio::try_join!(fence::check(shared, epoch), async { Ok(select_due.await?) })?;
            if due.is_empty() {
                return Ok((0, Vec::new()));
            }
            let users: Vec<Uuid> = due.iter().map(|r| r.user_id).collect();
            let reminder_ids: Vec<Uuid> = due.iter().map(|r| r.id).collect();
            let (recipients, _) = tokio::try_join!(recipients::load(shared, &users), async {
                // The next occurrence of a recurring reminder ends the previous open episode and cancels what it
                // still owed: yesterday's nag is stale once today's starts.
                let ending = crate::escalation::episodes::Ending {
                    status: "expired",
                    end_reason: "superseded",
                    cancel_reason: "superseded by the next occurrence",
                };
                Ok(crate::escalation::episodes::end_open(shared, &reminder_ids, ending).await?)
            })?;

            let mut new_episodes = Vec::with_capacity(due.len());
            let mut deliveries = Vec::new();
            let mut next_triggers = Vec::with_capacity(due.len());
            for reminder in &due {
                let (occurrence_at, next) = reminder.occurrence_and_next(now);
                next_triggers.push(next);
                let tiers: Vec<TierSpec> = serde::Deserialize::deserialize(&reminder.tiers).unwrap_or_default();
                let settings = ProfileSettings {
                    repeat: u8::try_from(reminder.repeat_count).unwrap_or(0),
                    ack_window_minutes: u32::try_from(reminder.ack_window_minutes).unwrap_or(0),
                    loop_gap_minutes: reminder.loop_gap_minutes.and_then(|m| u32::try_from(m).ok()),
                };
                let no_one = Vec::new();
                let plan = plan::resolve(
                    &tiers,
                    settings,
                    recipients.subscriptions.get(&reminder.user_id).unwrap_or(&Vec::new()),
                    recipients.contacts.get(&reminder.user_id).unwrap_or(&no_one),
                    social,
                );
                // Time-ordered, like delivery ids: new episodes (and their deliveries, keyed by episode first)
                // are inserted at the right edge of their indexes.
                let id = Uuid::now_v7();
                let ctx = reminder.owner.context(id, reminder.id, reminder.user_id, occurrence_at);
                let (episode, created) = episodes::drive(&plan, machine::start(&plan, now), &ctx, now);
                deliveries.extend(created);
                new_episodes.push(NewEpisode {
                    row: EpisodeRow { id, episode },
                    reminder_id: reminder.id,
                    user_id: reminder.user_id,
                    occurrence_at,
                    plan: serde_json::to_value(&plan)?,
                });
            }
            let advance_reminders = diesel::sql_query(
                "UPDATE reminders r SET status = 'active', snoozed_until = NULL, next_trigger_at = v.next
             FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, next) WHERE r.id = v.id",
            )
            .bind::<Array<SqlUuid>, _>(&reminder_ids)
            .bind::<Array<Nullable<Timestamptz>>, _>(&next_triggers)
            .prepared()
            .execute(&mut shared);
            let (inserted, _) =
                tokio::try_join!(episodes::insert_batch(shared, &new_episodes, epoch), advance_reminders)?;
            // An occurrence that already had an episode (a repeat firing) gets no second set of deliveries.
            deliveries.retain(|d| inserted.contains(&d.escalation_id));
            controls::apply(conn, controls::Settings::from_config(&state.config), &mut deliveries, now).await?;
            let offered = delivery::insert_batch(conn, &deliveries, offer_at).await?;
            metrics::counter!("reminders_fired_total").increment(inserted.len() as u64);
            metrics::counter!("deliveries_created_total").increment(deliveries.len() as u64);
            Ok((due.len(), offered))
        })
        .await?;
    crate::dispatch::offer::push_committed(state, redis.as_mut(), &offered).await;
    Ok(fired)
}
