//! Calendars at fire time: each due occurrence is weighed against its owner's calendar rules and holidays
//! ([`crate::calendars::store::effects`]) before it fires. A skipped day moves the reminder to its next
//! occurrence; a pause moves the firing to the busy block's end; a snooze snoozes until then; hurrying
//! squeezes the tiers' delays; a later tier that comes due inside a paused block waits for its end
//! ([`hold_tiers`], from the advance step). Each change leaves an event log row that the reminder's page shows. Owners
//! without rules or holiday calendars cost one index probe per batch.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::calendar::{self, Effect};
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::machine::TargetKind;

use crate::calendars::store;
use crate::db::schema::event_logs;

/// A later tier that comes due inside a matching busy block (`PAUSE_DURING`, `SNOOZE_UNTIL_END`) waits for
/// its end: the owner's own deliveries of a non-critical reminder are deferred, as quiet hours defer them.
/// Trusted contacts and family members are not the one who is busy, so theirs go out. Reads calendars only
/// when the batch made such deliveries.
pub async fn hold_tiers(
    conn: &AsyncPgConnection,
    deliveries: &mut [NewDelivery],
    critical: &HashSet<ReminderId>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let held = |d: &NewDelivery| d.target.kind == TargetKind::Subscription && !critical.contains(&d.reminder_id);
    let mut users: Vec<UserId> = deliveries.iter().filter(|d| held(d)).map(|d| d.user_id).collect();
    if users.is_empty() {
        return Ok(());
    }
    users.sort();
    users.dedup();
    let weighed = crate::calendars::store::around(conn, &users, now - store::MARGIN, now + store::MARGIN).await?;
    for delivery in deliveries.iter_mut().filter(|d| held(d)) {
        let Some(mine) = weighed.get(&delivery.user_id) else { continue };
        let at = delivery.next_attempt_at;
        if let Some((until, reason)) = calendar::held_until(delivery.reminder_id.0, at, &mine.events, &mine.rules)
            && until > at
        {
            delivery.next_attempt_at = until;
            delivery.deferred_reason = Some(format!("calendar: {reason}"));
        }
    }
    Ok(())
}

/// One event log row per change, `calendar_<skip|pause|snooze|faster>`, with the sentence the console shows.
pub async fn record(
    mut conn: &AsyncPgConnection,
    changed: &[(UserId, ReminderId, DateTime<Utc>, &Effect, chrono_tz::Tz)],
) -> diesel::QueryResult<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = changed
        .iter()
        .map(|(user, reminder, occurrence_at, effect, zone)| {
            let data = serde_json::json!({
                "occurrenceAt": occurrence_at,
                "description": effect.describe(*zone),
            });
            (
                event_logs::user_id.eq(Some(user.0)),
                event_logs::kind.eq(format!("calendar_{}", effect.name().unwrap_or("none"))),
                event_logs::subject_id.eq(Some(reminder.0)),
                event_logs::data.eq(data),
            )
        })
        .collect();
    diesel::insert_into(event_logs::table).values(rows).execute(&mut conn).await?;
    Ok(())
}
