//! Upkeep, run by the leader every few seconds: the gauges operators alert on (queue depth, scheduler
//! lag, reminders due but not yet fired), pruning of expired idempotency keys, retention (`retention.rs`)
//! and the erasure of accounts deleted 30 days ago. None needs fencing: each is safe to run twice.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::Prepare;
use crate::state::AppState;

/// What is owed and not yet done at one instant; the gauges, the admin dashboard and health snapshots read it.
#[derive(diesel::QueryableByName)]
pub struct Backlog {
    /// Pending deliveries that are due.
    #[diesel(sql_type = BigInt)]
    pub queue_depth: i64,
    #[diesel(sql_type = BigInt)]
    pub due_not_fired: i64,
    /// The oldest due reminder or delivery still waiting.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub oldest_due: Option<DateTime<Utc>>,
}

impl Backlog {
    /// How far the engine is behind at `now`: the age of the oldest waiting item, 0 when nothing waits.
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        self.oldest_due.map_or(0.0, |oldest| (now - oldest).num_milliseconds().max(0) as f64 / 1000.0)
    }
}

/// Reads the backlog as of `now`.
pub async fn backlog(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> anyhow::Result<Backlog> {
    let backlog = diesel::sql_query(
        "SELECT (SELECT count(*) FROM deliveries WHERE owed AND status = 'pending' AND next_attempt_at <= $1)
                    AS queue_depth,
                (SELECT count(*) FROM reminders WHERE status = 'active' AND next_trigger_at <= $1) AS due_not_fired,
                LEAST((SELECT min(next_trigger_at) FROM reminders WHERE status = 'active' AND next_trigger_at <= $1),
                      (SELECT min(next_attempt_at) FROM deliveries
                       WHERE owed AND status = 'pending' AND next_attempt_at <= $1))
                    AS oldest_due",
    )
    .bind::<Timestamptz, _>(now)
    .prepared()
    .get_result(conn)
    .await?;
    Ok(backlog)
}

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let backlog = backlog(conn, now).await?;
    metrics::gauge!("delivery_queue_depth").set(backlog.queue_depth as f64);
    metrics::gauge!("reminders_due_not_fired").set(backlog.due_not_fired as f64);
    metrics::gauge!("scheduler_lag_seconds").set(backlog.lag_seconds(now));
    // Idempotency keys are honoured for 24 hours; older ones only take space.
    let pruned = crate::http::idempotency::prune(conn, now).await?;
    crate::billing::service::lift_expired_suspensions(conn, now).await?;
    let purged = purge_deleted_users(conn, now).await?;
    if purged > 0 {
        tracing::info!(users = purged, "deleted accounts erased");
    }
    let retired = super::retention::run(&state.config, conn, now).await?;
    Ok(pruned + purged + retired)
}

/// Erases accounts whose `purge_after` has passed, a batch at a time: keys and delete triggers take every
/// row that was theirs along (reminders, episodes, deliveries, channels, contacts, sessions, keys); the
/// audit and admin logs keep their entries without the link. An account that is also an admin stays until
/// an operator removes the admin role: the admin's logged actions would refuse the delete and block the batch.
async fn purge_deleted_users(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM users WHERE id IN (
            SELECT u.id FROM users u
            WHERE u.deleted_at IS NOT NULL AND u.purge_after <= $1
              AND NOT EXISTS (SELECT 1 FROM admin_users a WHERE a.user_id = u.id)
            ORDER BY u.purge_after LIMIT 100 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}
