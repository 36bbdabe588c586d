//! When the scheduler has work next: the earliest reminder trigger, snooze end or episode step of a shard
//! still ahead. The scheduler sleeps until then (never longer than its tick, `SCHEDULER_TICK_MS`), so a
//! reminder fires when it is due rather than up to a whole tick later; each part is the first entry of a
//! partial index (`reminders_due`, `reminders_snoozed`, `escalations_due`).

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Lead;
use crate::db::Prepare;

#[derive(diesel::QueryableByName)]
struct NextDue {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// Only instants after `after` count (the start of the tick that just ran): anything due before it was the
/// tick's to fire, and a row the tick skipped (unreadable, locked by an action) must not keep the scheduler
/// spinning; the regular tick retries it.
const NEXT_DUE: &str = "
    SELECT LEAST(
        (SELECT next_trigger_at FROM reminders
         WHERE status = 'active' AND next_trigger_at IS NOT NULL AND next_trigger_at > $1{shard_r}
         ORDER BY next_trigger_at LIMIT 1),
        (SELECT snoozed_until FROM reminders
         WHERE status = 'snoozed' AND snoozed_until > $1{shard_r}
         ORDER BY snoozed_until LIMIT 1),
        (SELECT next_step_at FROM escalations
         WHERE status IN ('active', 'acknowledged') AND next_step_at IS NOT NULL AND next_step_at > $1{shard_e}
         ORDER BY next_step_at LIMIT 1)) AS at";

/// The earliest instant after `after` at which the shard `lead` holds has something to fire or advance.
pub async fn next_due(
    conn: &mut AsyncPgConnection,
    lead: Lead,
    after: DateTime<Utc>,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let sql =
        NEXT_DUE.replace("{shard_r}", &lead.shard.filter("id")).replace("{shard_e}", &lead.shard.filter("reminder_id"));
    let row: NextDue = diesel::sql_query(sql).bind::<Timestamptz, _>(after).prepared().get_result(conn).await?;
    Ok(row.at)
}
