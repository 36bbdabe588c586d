//! The one action path: acknowledge, complete and snooze, whoever acts (the API, a signed link, an SMS or
//! email reply, a completion hook, a trusted contact).
//!
//! Each action is one transaction: lock the reminder (owner-checked), update it, lock its open episode, run
//! the pure [`machine::step`] with the matching event, write the episode back and cancel its pending
//! deliveries. After the commit no further delivery of that episode starts: workers re-check the episode's
//! status when they claim a delivery. Callers pass their own connection; inside a caller's transaction the
//! action becomes a savepoint.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ContactId, ReminderId, UserId};
use reminder_core::machine::{self, Effect, Event};
use reminder_core::schedule::ScheduleKind;
use reminder_core::status::ReminderStatus;

use super::engine::deliveries;
use super::episodes::{self, EpisodeWrite, EscalationRow};
use crate::db::schema::{event_logs, reminder_snoozes};
use crate::notifications::lifecycle::{EpisodeEvent, LifecycleEvent};
use crate::reminders::mapping::schedule_of;
use crate::reminders::model::{Reminder, ReminderChanges};
use crate::reminders::store;

/// Who acted. Recorded on the episode (`acted_by`), the snooze row and the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The owner, through the API.
    User(UserId),
    /// A signed action link in a notification.
    Link,
    /// An SMS reply.
    Sms,
    /// An email reply or a matching email watcher.
    Email,
    /// A completion hook (`POST /v1/hooks/{token}`).
    Hook,
    /// A trusted contact, through their limited view.
    Contact(ContactId),
    /// A member of the owner's family, on a reminder shared with them (the API, or a link mailed to them).
    Member(UserId),
    /// A marketplace agent type (its id), by a signed command.
    Agent(uuid::Uuid),
}

impl Actor {
    /// The channel the action came through: `user`, `link`, `sms`, `email`, `hook` or `contact`.
    pub fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Link => "link",
            Actor::Sms => "sms",
            Actor::Email => "email",
            Actor::Hook => "hook",
            Actor::Contact(_) => "contact",
            Actor::Member(_) => "member",
            Actor::Agent(_) => "agent",
        }
    }

    /// `kind`, with the person's id when there is one (`user:<id>`, `contact:<id>`, `member:<id>`).
    pub fn label(self) -> String {
        match self {
            Actor::User(id) => format!("{}:{id}", self.kind()),
            Actor::Contact(id) => format!("{}:{id}", self.kind()),
            Actor::Member(id) => format!("{}:{id}", self.kind()),
            Actor::Agent(id) => format!("{}:{id}", self.kind()),
            _ => self.kind().to_owned(),
        }
    }
}

/// A snooze target, already resolved to an instant.
#[derive(Clone, Debug)]
pub struct SnoozeUntil {
    pub until: DateTime<Utc>,
    /// The phrase the user typed, when there was one.
    pub phrase: Option<String>,
    /// How the instant reads to the user ("Thu 26 Nov 09:00 Europe/Berlin").
    pub interpreted_as: Option<String>,
}

/// What an action did.
#[derive(Clone, Debug)]
pub struct ActionOutcome {
    /// The reminder after the action.
    pub reminder: Reminder,
    /// The episode after the action, when the reminder had an open one.
    pub escalation: Option<EscalationRow>,
    /// How many pending deliveries were cancelled.
    pub cancelled_deliveries: usize,
}

/// Why an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such reminder for this owner.
    #[error("reminder not found")]
    NotFound,
    /// The reminder's state does not allow the action (a snooze of a completed reminder, a time in the past).
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ActionError> for crate::http::ApiError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::NotFound => crate::http::ApiError::not_found("Reminder"),
            ActionError::NotAllowed(message) => crate::http::ApiError::unprocessable(message),
            ActionError::Database(err) => err.into(),
            ActionError::Internal(err) => crate::http::ApiError::Internal(err),
        }
    }
}

/// Pauses escalation of the open episode for the plan's ack window. The reminder itself is unchanged.
pub async fn acknowledge(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder_id: ReminderId,
    actor: Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    conn.transaction::<_, ActionError, _>(async move |conn| {
        let (reminder, escalation, cancelled) =
            lock_and_step(conn, owner, reminder_id, Event::Acknowledged, actor, now).await?;
        logged(conn, reminder, escalation, cancelled, "reminder.acknowledged", actor, note, now).await
    })
    .await
}

/// Completes the current occurrence. A one-off reminder (or a recurring one with no occurrence left) becomes
/// `completed`; a recurring one stays `active` and moves to its first occurrence after both `now` and the
/// occurrence being completed (the open episode's, or the upcoming one when completed ahead of time).
pub async fn complete(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder_id: ReminderId,
    actor: Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    conn.transaction::<_, ActionError, _>(async move |conn| {
        let (reminder, escalation, cancelled) =
            lock_and_step(conn, owner, reminder_id, Event::Completed, actor, now).await?;
        let schedule = schedule_of(&store::schedule_for(conn, reminder_id).await?)?;
        let completed_occurrence = match (&escalation, reminder.status) {
            (Some(episode), _) => episode.occurrence_at,
            (None, ReminderStatus::Snoozed) => now,
            (None, _) => reminder.next_trigger_at.unwrap_or(now),
        };
        let next = match schedule.kind {
            ScheduleKind::Once { .. } => None,
            _ => schedule.next_after(completed_occurrence.max(now)).map_err(anyhow::Error::from)?,
        };
        let mut changes = ReminderChanges {
            next_trigger_at: Some(next),
            snoozed_until: Some(None),
            status: Some(ReminderStatus::Active),
            ..Default::default()
        };
        if next.is_none() {
            changes.status = Some(ReminderStatus::Completed);
            changes.completed_at = Some(Some(now));
        }
        let reminder = store::update(conn, owner, reminder_id, &changes).await?;
        logged(conn, reminder, escalation, cancelled, "reminder.completed", actor, note, now).await
    })
    .await
}

/// Snoozes the reminder until `target.until`: status `snoozed`, the open episode cancelled (the wake step
/// fires a new one), and a `reminder_snoozes` row recording the phrase and how it was read.
pub async fn snooze(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder_id: ReminderId,
    actor: Actor,
    target: &SnoozeUntil,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    if target.until <= now {
        return Err(ActionError::NotAllowed("The snooze time is in the past.".to_owned()));
    }
    conn.transaction::<_, ActionError, _>(async move |conn| {
        let (_, escalation, cancelled) = lock_and_step(conn, owner, reminder_id, Event::Snoozed, actor, now).await?;
        let changes = ReminderChanges {
            status: Some(ReminderStatus::Snoozed),
            snoozed_until: Some(Some(target.until)),
            ..Default::default()
        };
        let reminder = store::update(conn, owner, reminder_id, &changes).await?;
        diesel::insert_into(reminder_snoozes::table)
            .values((
                reminder_snoozes::reminder_id.eq(reminder_id),
                reminder_snoozes::until.eq(target.until),
                reminder_snoozes::phrase.eq(&target.phrase),
                reminder_snoozes::interpreted_as.eq(&target.interpreted_as),
                reminder_snoozes::source.eq(actor.kind()),
            ))
            .execute(conn)
            .await?;
        logged(conn, reminder, escalation, cancelled, "reminder.snoozed", actor, None, now).await
    })
    .await
}

/// Ends the reminder's open episode as cancelled (archive, account disabled). The caller holds the reminder
/// lock in its own transaction and updates the reminder itself.
pub async fn cancel_open_episode(
    conn: &mut AsyncPgConnection,
    reminder_id: ReminderId,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Option<EscalationRow>, ActionError> {
    Ok(step_open_episode(conn, reminder_id, Event::Cancelled, actor, now).await?.0)
}

/// The start of every action on a reminder: lock the owner's reminder, refuse one the action cannot apply to,
/// then run `event` on its open episode. Returns the reminder as locked, the episode after the step and the
/// number of pending deliveries cancelled.
async fn lock_and_step(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder_id: ReminderId,
    event: Event,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Reminder, Option<EscalationRow>, usize), ActionError> {
    let reminder = lock_acting_on(conn, owner, reminder_id, past_tense(event)).await?;
    let (escalation, cancelled) = step_open_episode(conn, reminder_id, event, actor, now).await?;
    Ok((reminder, escalation, cancelled))
}

/// The end of every action: its event log row, the lifecycle events owed to the episode's webhooks, then the
/// outcome.
#[expect(clippy::too_many_arguments, reason = "the three actions' shared tail; a struct would only rename them")]
async fn logged(
    conn: &mut AsyncPgConnection,
    reminder: Reminder,
    escalation: Option<EscalationRow>,
    cancelled: usize,
    kind: &str,
    actor: Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    log(conn, &reminder, kind, actor, note, escalation.as_ref()).await?;
    if let (Some(episode), Some(event)) = (&escalation, LifecycleEvent::from_type(kind)) {
        let snoozed_until = (event == LifecycleEvent::Snoozed).then_some(reminder.snoozed_until).flatten();
        deliveries::insert_lifecycle(conn, &[EpisodeEvent { escalation_id: episode.id, event, snoozed_until }], now)
            .await?;
    }
    Ok(ActionOutcome { reminder, escalation, cancelled_deliveries: cancelled })
}

/// How an event reads in messages and as the reason for cancelled deliveries.
fn past_tense(event: Event) -> &'static str {
    match event {
        Event::Acknowledged => "acknowledged",
        Event::Completed => "completed",
        Event::Snoozed => "snoozed",
        _ => "cancelled",
    }
}

/// Locks the owner's reminder and refuses reminders the action cannot apply to.
async fn lock_acting_on(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder_id: ReminderId,
    verb: &str,
) -> Result<Reminder, ActionError> {
    let reminder = store::lock_for(conn, owner, reminder_id).await?.ok_or(ActionError::NotFound)?;
    match reminder.status {
        ReminderStatus::Archived => Err(ActionError::NotAllowed(format!("An archived reminder cannot be {verb}."))),
        ReminderStatus::Completed => Err(ActionError::NotAllowed(format!("A completed reminder cannot be {verb}."))),
        _ => Ok(reminder),
    }
}

/// Runs `event` on the reminder's open episode, if any; returns the episode after the step and the number of
/// pending deliveries cancelled.
async fn step_open_episode(
    conn: &mut AsyncPgConnection,
    reminder_id: ReminderId,
    event: Event,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Option<EscalationRow>, usize), ActionError> {
    let Some(row) = episodes::lock_open(conn, reminder_id).await? else {
        return Ok((None, 0));
    };
    let (next, effects) = machine::step(&row.plan()?, &row.episode()?, event, now);
    let mut write = EpisodeWrite::new(&row, &next, actor.label());
    match event {
        Event::Acknowledged => write.acknowledged_at = Some(now),
        Event::Completed => write.completed_at = Some(now),
        _ => {}
    }
    let reason = past_tense(event);
    let updated = episodes::write(conn, row.id, &write).await?;
    let mut cancelled = 0;
    for effect in effects {
        match effect {
            Effect::CancelPending => cancelled += deliveries::cancel_pending_tiers(conn, row.id, reason).await?,
            // User events never ask for deliveries; the scheduler owns those.
            Effect::Deliver { tier, .. } => {
                tracing::warn!(escalation.id = %row.id, tier, "an action step asked for a delivery; ignored");
            }
        }
    }
    Ok((Some(updated), cancelled))
}

/// One event log row per action: who, through which channel, and the note if one was given.
async fn log(
    conn: &mut AsyncPgConnection,
    reminder: &Reminder,
    kind: &str,
    actor: Actor,
    note: Option<&str>,
    escalation: Option<&EscalationRow>,
) -> Result<(), ActionError> {
    let data = serde_json::json!({
        "actor": actor.label(),
        "note": note,
        "escalationId": escalation.map(|e| e.id),
    });
    diesel::insert_into(event_logs::table)
        .values((
            event_logs::user_id.eq(reminder.user_id),
            event_logs::kind.eq(kind),
            event_logs::subject_id.eq(reminder.id),
            event_logs::data.eq(data),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
