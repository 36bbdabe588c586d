//! The queue's upkeep: offering due rows to the stream, taking back leases of workers that died,
//! cancelling what an ended episode still owed, and deleting finished rows past retention.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId};
use reminder_core::status::DeliveryStatus;

use crate::db::Prepare;
use crate::escalation::engine::Shard;
use crate::notifications::lifecycle::LIFECYCLE_TIER;

/// Forgets every offer of a pending delivery (Redis came back empty, so its entries are gone): the offer
/// step then pushes them all again.
pub async fn forget_offers(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE deliveries SET offered_at = NULL WHERE owed AND status = 'pending' AND offered_at IS NOT NULL",
    )
    .prepared()
    .execute(conn)
    .await
}

/// Pending deliveries due at `now` and not offered since `offered_before`, oldest first, locked for the
/// transaction (`SKIP LOCKED`: a claim in progress is left alone). `owed` selects the partial index of rows
/// still owed (pending or being sent).
pub async fn lock_unoffered(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    offered_before: DateTime<Utc>,
    limit: i64,
    shard: Shard,
) -> diesel::QueryResult<Vec<DeliveryId>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: DeliveryId,
    }
    let due: Vec<Id> = diesel::sql_query(format!(
        "SELECT id FROM deliveries
         WHERE owed AND status = 'pending' AND next_attempt_at <= $1 AND (offered_at IS NULL OR offered_at < $2){}
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        shard.filter("reminder_id")
    ))
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(offered_before)
    .bind::<BigInt, _>(limit)
    .prepared()
    .load(conn)
    .await?;
    Ok(due.into_iter().map(|row| row.id).collect())
}

/// Stamps deliveries as offered at `now`.
pub async fn mark_offered(
    conn: &mut AsyncPgConnection,
    ids: &[DeliveryId],
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("UPDATE deliveries SET offered_at = $2 WHERE id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Timestamptz, _>(now)
        .prepared()
        .execute(conn)
        .await
}

/// Takes back up to `limit` claims whose lease ran out before `now` (their worker died): they are due again
/// at once. SMS cannot be deduplicated by the person receiving it, so an SMS with an unknown outcome is marked
/// failed instead; the next tier covers it.
///
/// No index holds a claim's lease (an index on `lease_until` or on `status` would make every claim write new
/// index entries instead of a HOT update, see migration `2026-12-07-000021_deliveries_hot_claim`). A claim
/// is only taken of a row due by the claim's time, and its lease runs at least `lease` from then, so an
/// expired claim is an owed row due before `now - lease`, found through the owed index.
///
/// With a backlog older than the lease, every owed row up to `now - lease` is a candidate, and reading them
/// all each tick made a burst three times slower on the Postgres-only path. So a tick reads only the oldest
/// `scan` of them (`Some`): claims are taken oldest first, so a dead worker's claims sit at the head of the
/// index, among the rows claimed with them. A sweep now and then (`None`) reads them all, for the claim that
/// is not at the head (one taken out of order, behind rows that stay pending).
pub async fn release_expired_leases(
    conn: &mut AsyncPgConnection,
    shard: Shard,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    scan: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<usize> {
    // The expired rows are picked once, as an array: as `id IN (subquery)` the planner may run the subquery
    // once per row of the table when its statistics say the table is small (they do after a burst's inserts).
    // `LIMIT NULL` is no limit.
    diesel::sql_query(format!(
        "WITH head AS MATERIALIZED (
            SELECT id, status, lease_until FROM deliveries
            WHERE owed AND next_attempt_at <= $3{}
            ORDER BY next_attempt_at LIMIT $4),
         expired AS MATERIALIZED (
            SELECT id FROM deliveries
            WHERE id = ANY (ARRAY(SELECT id FROM head WHERE status = 'sending' AND lease_until < $1))
              AND status = 'sending' AND lease_until < $1
            LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE deliveries d SET
            status = CASE WHEN d.channel = 'sms' THEN 'failed' ELSE 'pending' END,
            last_error = CASE WHEN d.channel = 'sms' THEN 'unknown_outcome' ELSE 'lease expired; retrying' END,
            lease_until = NULL, offered_at = NULL, next_attempt_at = $1
         WHERE d.id = ANY (ARRAY(SELECT id FROM expired))",
        shard.filter("reminder_id")
    ))
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .bind::<Timestamptz, _>(now - lease)
    .bind::<Nullable<BigInt>, _>(scan)
    .prepared()
    .execute(conn)
    .await
}

/// Cancels every tier delivery of the episode that has not started sending. Rows already `sending` finish:
/// a worker holds their lease, and the worker skips sending for an episode that is no longer active. The
/// episode's lifecycle events (tier 0) are owed whatever happens next, so they stay.
pub async fn cancel_pending_tiers(
    conn: &mut AsyncPgConnection,
    escalation: EpisodeId,
    reason: &str,
) -> diesel::QueryResult<usize> {
    use diesel::{ExpressionMethods, QueryDsl};

    use crate::db::schema::deliveries;
    diesel::update(
        deliveries::table
            .filter(deliveries::escalation_id.eq(escalation))
            .filter(deliveries::status.eq(DeliveryStatus::Pending))
            .filter(deliveries::tier.gt(LIFECYCLE_TIER)),
    )
    .set((deliveries::status.eq(DeliveryStatus::Cancelled), deliveries::cancel_reason.eq(reason)))
    .execute(conn)
    .await
}

/// Cancels everything still pending of episodes that were ended from outside (superseded by the next
/// occurrence, paused over a plan limit), lifecycle events included. Takes a shared connection so the
/// engine can pipeline it with other statements of its transaction.
pub async fn cancel_pending_of(
    mut conn: &AsyncPgConnection,
    escalations: &[EpisodeId],
    reason: &str,
) -> diesel::QueryResult<usize> {
    if escalations.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE deliveries SET status = 'cancelled', cancel_reason = $2
         WHERE escalation_id = ANY($1) AND status = 'pending'",
    )
    .bind::<Array<SqlUuid>, _>(escalations)
    .bind::<Text, _>(reason)
    .prepared()
    .execute(&mut conn)
    .await
}

/// Deletes up to `limit` deliveries created before `cutoff` that are final and whose episode is closed
/// (retention: nothing still owed goes).
pub async fn purge_finished(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM deliveries WHERE id IN (
            SELECT d.id FROM deliveries d JOIN escalations e ON e.id = d.escalation_id
            WHERE d.created_at < $1 AND d.status IN ('sent', 'delivered', 'failed', 'cancelled')
              AND e.status IN ('completed', 'expired', 'cancelled')
            LIMIT $2 FOR UPDATE OF d SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .prepared()
    .execute(conn)
    .await
}
