//! Fire, with wake (scheduler steps 1 and 3): due reminders (and snoozed ones whose snooze ended) start an
//! episode. In one transaction per batch: the previous open episode of each is superseded, the new episodes
//! and their first deliveries are inserted, and each reminder's next occurrence is computed. A reminder
//! whose row does not read is skipped and counted (`bad_rows`), never fired with a guessed plan or schedule.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::calendar::{Effect, Occurrence};
use reminder_core::ids::{EpisodeId, ReminderId, UserId};
use reminder_core::machine;
use reminder_core::machine::EpisodeStatus;
use reminder_core::plan::{self, ProfileSettings, TierSpec};
use reminder_core::schedule::{Schedule, ScheduleError};
use reminder_core::status::ReminderStatus;

use super::{BATCH, Lead, bad_rows, calendar, deliveries, episodes, fence, offer, recipients};
use crate::billing::controls;
use crate::db::Prepare;
use crate::escalation::episodes as store;
use crate::notifications::delivery::OwnerColumns;
use crate::profiles::model::PlanColumns;
use crate::reminders;
use crate::reminders::mapping::schedule_of;
use crate::reminders::model::ScheduleRow;
use crate::state::AppState;

#[derive(diesel::QueryableByName)]
struct DueReminder {
    #[diesel(sql_type = SqlUuid)]
    id: ReminderId,
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Text)]
    status: ReminderStatus,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_trigger_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    snoozed_until: Option<DateTime<Utc>>,
    #[diesel(embed)]
    profile: PlanColumns,
    #[diesel(embed)]
    schedule: ScheduleRow,
    #[diesel(embed)]
    owner: OwnerColumns,
}

/// What firing one reminder needs, read from its row.
struct Firing {
    /// The occurrence this firing stands for.
    occurrence_at: DateTime<Utc>,
    /// The reminder's next regular occurrence; None when there is none (a one-off, an ended rule).
    next: Option<DateTime<Utc>>,
    tiers: Vec<TierSpec>,
    settings: ProfileSettings,
    /// The schedule's zone: the day a calendar's `SKIP_DAY` and holidays are read in.
    zone: chrono_tz::Tz,
}

impl DueReminder {
    /// Reads the row with its one decoder per stored shape; an error names the part (the bad-row metric's
    /// `kind`) that does not read.
    fn decode(&self, now: DateTime<Utc>) -> Result<Firing, (&'static str, anyhow::Error)> {
        let schedule = schedule_of(&self.schedule).map_err(|err| ("schedule", err))?;
        let (occurrence_at, next) = self.occurrence_and_next(&schedule, now).map_err(|err| ("schedule", err.into()))?;
        let (tiers, settings) = self.profile.decode().map_err(|err| ("profile", err))?;
        Ok(Firing { occurrence_at, next, tiers, settings, zone: schedule.tz })
    }

    /// The occurrence this firing stands for and the reminder's next regular occurrence.
    fn occurrence_and_next(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), ScheduleError> {
        if self.status == ReminderStatus::Snoozed {
            // Waking keeps the regular schedule, skipping occurrences that passed during the snooze.
            let occurrence = self.snoozed_until.unwrap_or(now);
            let next = match self.next_trigger_at {
                Some(next) if next > now => Some(next),
                Some(_) => schedule.next_after(now)?,
                None => None,
            };
            return Ok((occurrence, next));
        }
        let occurrence = self.next_trigger_at.unwrap_or(now);
        // Missed occurrences (scheduler down) collapse into this one firing rather than a burst.
        Ok((occurrence, schedule.next_after(occurrence.max(now))?))
    }
}

impl DueReminder {
    /// The occurrence as the calendar judges it.
    fn occurrence(&self, firing: &Firing) -> Occurrence {
        let last_delay = firing.tiers.iter().map(|t| t.delay_minutes).max().unwrap_or(0);
        Occurrence {
            reminder: self.id.0,
            at: firing.occurrence_at,
            zone: firing.zone,
            critical: self.owner.importance == "critical",
            skip_holidays: self.schedule.skip_holidays,
            span: chrono::Duration::minutes(i64::from(last_delay)),
        }
    }
}

/// What the calendar holds back in one batch, written in the batch's transaction.
#[derive(Default)]
struct Held<'a> {
    /// Skipped (to the next occurrence) or paused (to the block's end): the reminder's next trigger moves.
    moved: Vec<ReminderId>,
    moved_to: Vec<Option<DateTime<Utc>>>,
    /// Snoozed until the block's end, with the next regular occurrence.
    snoozed: Vec<reminders::store::CalendarSnooze>,
    log: Vec<(UserId, ReminderId, DateTime<Utc>, &'a Effect, chrono_tz::Tz)>,
}

impl<'a> Held<'a> {
    /// Applies `effect` to one firing: false when it does not fire now.
    fn keep(
        &mut self,
        reminder: &DueReminder,
        firing: &mut Firing,
        effect: Option<&'a Effect>,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(effect) = effect else { return true };
        let fires = match effect {
            Effect::Skip { .. } if firing.next.is_some() => {
                self.moved.push(reminder.id);
                self.moved_to.push(firing.next);
                false
            }
            // A one-off has no next occurrence to skip to: it fires.
            Effect::Skip { .. } | Effect::None => return true,
            Effect::Pause { until, .. } => {
                self.moved.push(reminder.id);
                self.moved_to.push(Some(*until));
                false
            }
            Effect::Snooze { until, .. } => {
                self.snoozed.push((reminder.id, *until, firing.next));
                false
            }
            Effect::Faster { before, .. } => {
                let delays = firing.tiers.iter_mut().map(|tier| &mut tier.delay_minutes);
                reminder_core::calendar::squeeze(delays, now, *before);
                true
            }
        };
        let zone = reminder_core::timezone::parse_zone(&reminder.owner.user_timezone).unwrap_or(chrono_tz::UTC);
        self.log.push((reminder.user_id, reminder.id, firing.occurrence_at, effect, zone));
        fires
    }

    async fn write(self, conn: &AsyncPgConnection) -> anyhow::Result<()> {
        if !self.moved.is_empty() {
            reminders::store::mark_fired(conn, &self.moved, &self.moved_to).await?;
        }
        reminders::store::snooze_until(conn, &self.snoozed).await?;
        calendar::record(conn, &self.log).await?;
        Ok(())
    }
}

/// How long a reminder whose row does not read waits before the scheduler tries it again.
const UNREADABLE_RETRY: chrono::Duration = chrono::Duration::minutes(5);

/// Due reminders, oldest first, locked. The two kinds of due row are found through their own partial
/// indexes (`reminders_due`, `reminders_snoozed`) and locked there, before any join: with the join and the
/// `OR` in one query the planner joined every reminder first (200 ms a batch at 100 000 due, 10 ms now).
/// A deleted owner's reminders are filtered before the limit so they can never fill a batch. The locked
/// rows carry the columns the firing reads, so `reminders` is not looked up a second time.
const SELECT_DUE: &str = "
    WITH due_active AS (
        SELECT {columns}, r.next_trigger_at AS due_at FROM reminders r
        WHERE r.status = 'active' AND r.next_trigger_at IS NOT NULL AND r.next_trigger_at <= $1
          AND r.paused_reason IS NULL{shard}
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND u.deleted_at IS NULL)
        ORDER BY r.next_trigger_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED),
    due_snoozed AS (
        SELECT {columns}, r.snoozed_until AS due_at FROM reminders r
        WHERE r.status = 'snoozed' AND r.snoozed_until <= $1 AND r.paused_reason IS NULL{shard}
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND u.deleted_at IS NULL)
        ORDER BY r.snoozed_until LIMIT $2 FOR UPDATE OF r SKIP LOCKED),
    r AS (
        SELECT * FROM due_active UNION ALL SELECT * FROM due_snoozed
        ORDER BY due_at LIMIT $2)
    SELECT r.id, r.user_id, r.status, r.next_trigger_at, r.snoozed_until,
           p.tiers, p.repeat_count, p.ack_window_minutes, p.loop_gap_minutes,
           s.reminder_id, s.kind, s.trigger_at, s.expression, s.interval_minutes, s.start_at, s.dtstart,
           s.timezone, s.exclude_dates, s.skip_weekends, s.skip_holidays,
           {owner}
    FROM r
    JOIN escalation_profiles p ON p.id = r.escalation_profile_id
    JOIN reminder_schedules s ON s.reminder_id = r.id
    JOIN users u ON u.id = r.user_id";

/// The reminder columns a firing reads (the due CTEs carry them from the row they lock).
const DUE_COLUMNS: &str =
    "r.id, r.user_id, r.status, r.next_trigger_at, r.snoozed_until, r.escalation_profile_id, r.title, r.importance";

/// Fires one batch; returns how many reminders fired. When Redis is reachable, the batch's first
/// deliveries are offered by this step itself, right after its commit (see `deliveries::insert_batch`).
pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, lead: Lead) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let social = state.config.feature_social_escalation;
    let mut redis = state.redis.conn().await;
    let offer_at = redis.is_some().then_some(now);
    let (fired, offered) = conn
        .transaction::<_, anyhow::Error, _>(async move |conn| {
            // Independent statements are pipelined (sent together, answered in order): a batch waits on five
            // round trips instead of ten. A failed fence check rolls the whole transaction back.
            let mut shared: &AsyncPgConnection = conn;
            let select_due = diesel::sql_query(
                SELECT_DUE
                    .replace("{columns}", DUE_COLUMNS)
                    .replace("{owner}", OwnerColumns::SELECT)
                    .replace("{shard}", &lead.shard.filter("r.id")),
            )
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(BATCH)
            .prepared()
            .load::<DueReminder>(&mut shared);
            let ((), due) = tokio::try_join!(fence::check(shared, lead), async { Ok(select_due.await?) })?;
            if due.is_empty() {
                return Ok((0, Vec::new()));
            }
            let mut firing: Vec<(&DueReminder, Firing)> = Vec::with_capacity(due.len());
            let mut unreadable = Vec::new();
            for reminder in &due {
                match reminder.decode(now) {
                    Ok(decoded) => firing.push((reminder, decoded)),
                    Err((kind, err)) => {
                        bad_rows::reminder(kind, reminder.id, &err);
                        unreadable.push(reminder.id);
                    }
                }
            }
            if !unreadable.is_empty() {
                crate::reminders::store::postpone_unreadable(shared, &unreadable, now + UNREADABLE_RETRY).await?;
            }
            // Calendars first: an occurrence skipped, paused or snoozed by one does not fire now.
            let occurrences: Vec<(UserId, Occurrence)> = firing
                .iter()
                .filter(|(reminder, _)| reminder.status == ReminderStatus::Active)
                .map(|(reminder, firing)| (reminder.user_id, reminder.occurrence(firing)))
                .collect();
            let effects = crate::calendars::store::effects(shared, &occurrences).await?;
            let mut held = Held::default();
            firing.retain_mut(|(reminder, firing)| held.keep(reminder, firing, effects.get(&reminder.id), now));
            held.write(shared).await?;
            if firing.is_empty() {
                return Ok((due.len(), Vec::new()));
            }
            let users: Vec<UserId> = firing.iter().map(|(r, _)| r.user_id).collect();
            let reminder_ids: Vec<ReminderId> = firing.iter().map(|(r, _)| r.id).collect();
            let (recipients, _) = tokio::try_join!(recipients::load(shared, &users), async {
                // The next occurrence of a recurring reminder ends the previous open episode and cancels what it
                // still owed: yesterday's nag is stale once today's starts.
                let ending = store::Ending {
                    status: EpisodeStatus::Expired,
                    end_reason: "superseded",
                    cancel_reason: "superseded by the next occurrence",
                };
                Ok(store::end_open(shared, &reminder_ids, ending).await?)
            })?;

            let naming_members: Vec<ReminderId> = firing
                .iter()
                .filter(|(_, firing)| firing.tiers.iter().any(|tier| !tier.family_member_ids.is_empty()))
                .map(|(reminder, _)| reminder.id)
                .collect();
            let members = recipients::shared_members(shared, &naming_members).await?;

            let mut new_episodes = Vec::with_capacity(firing.len());
            let mut new_deliveries = Vec::new();
            let mut next_triggers = Vec::with_capacity(firing.len());
            for (reminder, Firing { occurrence_at, next, tiers, settings, .. }) in firing {
                next_triggers.push(next);
                let others = plan::Others {
                    contacts: recipients.contacts.get(&reminder.user_id).map_or(&[], Vec::as_slice),
                    social,
                    members: members.get(&reminder.id).map_or(&[], Vec::as_slice),
                };
                let subscriptions = recipients.subscriptions.get(&reminder.user_id).map_or(&[][..], Vec::as_slice);
                let plan = plan::resolve(&tiers, settings, subscriptions, others);
                // Derived from the occurrence (time first, so new episodes and their deliveries land at the
                // right edge of their indexes): an occurrence fired again after a restore is the same episode,
                // and its deliveries carry the `webhook-id`s the receiver already saw.
                let id = EpisodeId::of_occurrence(reminder.id, occurrence_at);
                let ctx = reminder.owner.context(id, reminder.id, reminder.user_id, occurrence_at);
                let (episode, created) = episodes::drive(&plan, machine::start(&plan, now), &ctx, now);
                new_deliveries.extend(created);
                new_episodes.push(store::NewEpisode {
                    row: store::EpisodeRow { id, episode },
                    reminder_id: reminder.id,
                    user_id: reminder.user_id,
                    occurrence_at,
                    plan: serde_json::to_value(&plan)?,
                });
            }
            let advance_reminders = reminders::store::mark_fired(shared, &reminder_ids, &next_triggers);
            let (inserted, _) =
                tokio::try_join!(store::insert_batch(shared, &new_episodes, lead.epoch), advance_reminders)?;
            // An occurrence that already had an episode (a repeat firing) gets no second set of deliveries.
            new_deliveries.retain(|d| inserted.contains(&d.escalation_id));
            controls::apply(conn, controls::Settings::from_config(&state.config), &mut new_deliveries, now).await?;
            let offered = deliveries::insert_batch(conn, &new_deliveries, offer_at).await?;
            metrics::counter!("reminders_fired_total").increment(inserted.len() as u64);
            metrics::counter!("deliveries_created_total").increment(new_deliveries.len() as u64);
            Ok((due.len(), offered))
        })
        .await?;
    offer::push_committed(state, redis.as_mut(), &offered).await;
    Ok(fired)
}
