//! Calendars at fire time: each due occurrence is weighed against its owner's calendar rules and holidays
//! ([`reminder_core::calendar::effect`]) before it fires. A skipped day moves the reminder to its next
//! occurrence; a pause moves the firing to the busy block's end; a snooze snoozes until then; hurrying
//! squeezes the tiers' delays. Each change leaves an event log row that the reminder's page shows. Owners
//! without rules or holiday calendars cost one index probe per batch.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::calendar::{self, Effect, Occurrence};
use reminder_core::ids::{ReminderId, UserId};

use crate::db::schema::event_logs;

/// How far around the batch's occurrences events are read: a day either side covers an all-day event and
/// the reminder's local day in any zone.
const MARGIN: Duration = Duration::days(1);

/// The effect on each occurrence the calendar changes; absent ones fire as usual.
pub async fn weigh(
    conn: &AsyncPgConnection,
    occurrences: &[(UserId, Occurrence)],
) -> diesel::QueryResult<HashMap<ReminderId, Effect>> {
    let Some(earliest) = occurrences.iter().map(|(_, o)| o.at).min() else { return Ok(HashMap::new()) };
    let latest = occurrences.iter().map(|(_, o)| o.at + o.span).max().unwrap_or(earliest);
    let mut users: Vec<UserId> = occurrences.iter().map(|(user, _)| *user).collect();
    users.sort();
    users.dedup();
    let weighed = crate::calendars::store::around(conn, &users, earliest - MARGIN, latest + MARGIN).await?;
    let mut effects = HashMap::new();
    for (user, occurrence) in occurrences {
        let Some(mine) = weighed.get(user) else { continue };
        let effect = calendar::effect(occurrence, &mine.events, &mine.rules);
        if effect != Effect::None {
            effects.insert(ReminderId(occurrence.reminder), effect);
        }
    }
    Ok(effects)
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
