//! Which occurrence of a reminder a completion hook call is about: the open episode's; with none open, the
//! one nearest in time of the last fired occurrence and the upcoming one. So a device that posts twice after
//! the reminder fired is told the first post already counted, while a job that reports shortly before the
//! reminder is due completes the upcoming occurrence ahead of time. A snoozed reminder's occurrence is the
//! one that was snoozed, until the wake fires it anew.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::ReminderId;
use reminder_core::status::ReminderStatus;

use crate::db::schema::escalations;
use crate::escalation::episodes;
use crate::reminders::model::Reminder;

/// Which occurrence a call is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Occurrence {
    /// Open, or upcoming: the call acts on it.
    Due(DateTime<Utc>),
    /// Fired and already over (completed, expired, or dealt with by an earlier call).
    Ended { at: DateTime<Utc>, status: String },
    /// The reminder is completed or archived and nothing is upcoming.
    Nothing,
}

/// The latest episode of the reminder, open or not.
async fn latest_episode(
    conn: &mut AsyncPgConnection,
    reminder: ReminderId,
) -> QueryResult<Option<(DateTime<Utc>, String, Option<String>)>> {
    escalations::table
        .filter(escalations::reminder_id.eq(reminder))
        .order(escalations::fired_at.desc())
        .select((escalations::occurrence_at, escalations::status, escalations::end_reason))
        .first(conn)
        .await
        .optional()
}

/// The occurrence a call is about; locks the open episode when there is one.
pub async fn current(conn: &mut AsyncPgConnection, reminder: &Reminder, now: DateTime<Utc>) -> QueryResult<Occurrence> {
    if let Some(open) = episodes::lock_open(conn, reminder.id).await? {
        return Ok(Occurrence::Due(open.occurrence_at));
    }
    let latest = latest_episode(conn, reminder.id).await?;
    Ok(pick_occurrence(reminder, latest, now))
}

/// The pure part of [`current`] once no episode is open.
fn pick_occurrence(
    reminder: &Reminder,
    latest: Option<(DateTime<Utc>, String, Option<String>)>,
    now: DateTime<Utc>,
) -> Occurrence {
    match reminder.status {
        // A snoozed reminder's occurrence is still the one that was snoozed, until the wake fires anew.
        ReminderStatus::Snoozed => {
            let snoozed = latest.filter(|(_, _, reason)| reason.as_deref() == Some("snoozed")).map(|(at, ..)| at);
            return Occurrence::Due(snoozed.or(reminder.snoozed_until).unwrap_or(now));
        }
        ReminderStatus::Completed | ReminderStatus::Archived if latest.is_none() => return Occurrence::Nothing,
        _ => {}
    }
    let upcoming = reminder.next_trigger_at.filter(|_| reminder.status == ReminderStatus::Active);
    match (latest, upcoming) {
        (Some((at, status, _)), Some(next)) if now - at < next - now => Occurrence::Ended { at, status },
        (_, Some(next)) => Occurrence::Due(next),
        (Some((at, status, _)), None) => Occurrence::Ended { at, status },
        (None, None) => Occurrence::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use reminder_core::ids::{ProfileId, UserId};
    use uuid::Uuid;

    use super::*;

    fn reminder(status: &str, next: Option<DateTime<Utc>>) -> Reminder {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        Reminder {
            id: ReminderId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            title: "t".into(),
            description: None,
            importance: "medium".into(),
            status: ReminderStatus::parse(status).unwrap(),
            escalation_profile_id: ProfileId(Uuid::nil()),
            timezone: "UTC".into(),
            next_trigger_at: next,
            snoozed_until: None,
            completed_at: None,
            archived_at: None,
            paused_reason: None,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn without_an_open_episode_the_nearest_occurrence_is_current() {
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let tuesday = monday + Duration::days(1);
        let daily = reminder("active", Some(tuesday));
        let fired = Some((monday, "completed".to_owned(), Some("completed".to_owned())));
        // An hour after Monday's occurrence: Monday's, already over.
        assert_eq!(
            pick_occurrence(&daily, fired.clone(), monday + Duration::hours(1)),
            Occurrence::Ended { at: monday, status: "completed".into() }
        );
        // Five minutes before Tuesday's: Tuesday's, ahead of time.
        assert_eq!(pick_occurrence(&daily, fired, tuesday - Duration::minutes(5)), Occurrence::Due(tuesday));
        // Never fired: the upcoming one.
        assert_eq!(pick_occurrence(&daily, None, monday), Occurrence::Due(tuesday));
        // A one-off completed ahead of time has nothing left.
        assert_eq!(pick_occurrence(&reminder("completed", None), None, monday), Occurrence::Nothing);
    }

    #[test]
    fn a_snoozed_reminder_keeps_the_snoozed_occurrence() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let snoozed = reminder("snoozed", Some(at + Duration::days(1)));
        let latest = Some((at, "cancelled".to_owned(), Some("snoozed".to_owned())));
        assert_eq!(pick_occurrence(&snoozed, latest, at + Duration::hours(3)), Occurrence::Due(at));
    }
}
