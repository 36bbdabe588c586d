//! Claiming deliveries, one statement per batch: a claim takes a lease and bumps `attempts`; every outcome
//! write (`outcome.rs`) is conditional on that attempt, so a worker that lost its lease (a zombie) cannot
//! overwrite what a later attempt recorded.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Prepare;

/// A claimed delivery, ready to send.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub escalation_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub reminder_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = SmallInt)]
    pub tier: i16,
    #[diesel(sql_type = SmallInt)]
    pub loop_index: i16,
    #[diesel(sql_type = Text)]
    pub target_kind: String,
    #[diesel(sql_type = SqlUuid)]
    pub target_id: Uuid,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
}

/// Tier deliveries whose episode was acknowledged, completed or cancelled (lifecycle events, tier 0, are sent
/// after their episode ended: see `notifications::lifecycle`), or whose owner's deliveries an admin has
/// disabled since the row was created (a retry, a quiet-hour deferral), are cancelled instead of
/// claimed, in the same pass over the rows (one join to the episode and its owner's subscription, one row
/// version each). (An exhausted episode still sends its last tier.)
const CLAIM: &str = "
    WITH picked AS ({source}),
    touched AS (
        UPDATE deliveries d SET
            status = CASE WHEN (ended AND d.tier > 0) OR disabled THEN 'cancelled' ELSE 'sending' END,
            cancel_reason = CASE WHEN ended AND d.tier > 0 THEN 'the episode ended before sending'
                                 WHEN disabled THEN '{disabled}' ELSE d.cancel_reason END,
            attempts = CASE WHEN (ended AND d.tier > 0) OR disabled THEN d.attempts ELSE d.attempts + 1 END,
            lease_until = CASE WHEN (ended AND d.tier > 0) OR disabled THEN NULL ELSE $2 END
        FROM (SELECT e.id, e.status IN ('acknowledged', 'completed', 'cancelled') AS ended,
                     s.delivery_state IS NOT DISTINCT FROM 'DELIVERY_DISABLED' AS disabled
              FROM escalations e LEFT JOIN subscriptions s ON s.user_id = e.user_id) e
        WHERE d.id IN (SELECT id FROM picked) AND e.id = d.escalation_id AND d.status = 'pending'
          AND (d.next_attempt_at <= $1 OR (e.ended AND d.tier > 0) OR e.disabled)
        RETURNING d.id, d.escalation_id, d.reminder_id, d.user_id, d.tier, d.loop_index, d.target_kind,
                  d.target_id, d.channel, d.attempts, d.payload, d.status)
    SELECT id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, channel, attempts,
           payload
    FROM touched WHERE status = 'sending'";

/// The claim statement over the deliveries `source` selects.
fn claim(source: &str) -> String {
    CLAIM.replace("{source}", source).replace("{disabled}", crate::billing::controls::DISABLED_REASON)
}

/// Claims the deliveries named by stream entries (those still pending and due).
pub async fn claim_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Claimed>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(claim("SELECT unnest($3::uuid[]) AS id"))
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(lease_until)
        .bind::<Array<SqlUuid>, _>(ids)
        .prepared()
        .load(conn)
        .await
}

/// Claims due pending deliveries straight from Postgres (Redis down or absent). `SKIP LOCKED` lets any
/// number of workers do this at once without waiting on each other.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Claimed>> {
    let source = "SELECT id FROM deliveries WHERE owed AND status = 'pending' AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED";
    diesel::sql_query(claim(source))
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(lease_until)
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)
        .await
}
