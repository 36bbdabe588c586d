//! Upkeep, run by the leader every few seconds: the gauges operators alert on (queue depth, scheduler
//! lag, reminders due but not yet fired) and pruning of expired idempotency keys. Neither needs fencing:
//! both are safe to run twice.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::state::AppState;

#[derive(diesel::QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    queue_depth: i64,
    #[diesel(sql_type = BigInt)]
    due_not_fired: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_due: Option<DateTime<Utc>>,
}

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let backlog: Backlog = diesel::sql_query(
        "SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) AS queue_depth,
                (SELECT count(*) FROM reminders WHERE status = 'active' AND next_trigger_at <= $1) AS due_not_fired,
                LEAST((SELECT min(next_trigger_at) FROM reminders WHERE status = 'active' AND next_trigger_at <= $1),
                      (SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1))
                    AS oldest_due",
    )
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    metrics::gauge!("delivery_queue_depth").set(backlog.queue_depth as f64);
    metrics::gauge!("reminders_due_not_fired").set(backlog.due_not_fired as f64);
    let lag = backlog.oldest_due.map_or(0.0, |oldest| (now - oldest).num_milliseconds().max(0) as f64 / 1000.0);
    metrics::gauge!("scheduler_lag_seconds").set(lag);
    // Idempotency keys are honoured for 24 hours; older ones only take space.
    let pruned = crate::http::idempotency::prune(conn, now).await?;
    crate::billing::service::lift_expired_suspensions(conn, now).await?;
    Ok(pruned)
}
