//! Claiming deliveries (one statement per batch) and writing their outcomes (one statement per batch).
//! A claim takes a lease and bumps `attempts`; every outcome write is conditional on that attempt, so a
//! worker that lost its lease (a zombie) cannot overwrite what a later attempt recorded.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
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
pub async fn by_ids(
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
pub async fn from_postgres(
    conn: &mut AsyncPgConnection,
    limit: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Claimed>> {
    let source = "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED";
    diesel::sql_query(claim(source))
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(lease_until)
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)
        .await
}

/// What happened to one claimed delivery.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: Uuid,
    pub attempt: i32,
    /// `sent`, `pending` (retry later), or `failed`.
    pub status: &'static str,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub provider_message_id: Option<String>,
    /// Not sent but put off (quiet hours): the claim's attempt is given back, so a deferral never uses up
    /// a retry, and the reason is shown in the delivery log.
    pub deferred_reason: Option<&'static str>,
}

#[derive(diesel::QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    written: i64,
}

/// Writes a batch of outcomes in one statement; each only if the claim is still this attempt's. Sent
/// SMS are counted against their owner's monthly budget in the same statement, so each counts once.
pub async fn record(conn: &mut AsyncPgConnection, rows: &[Recorded], now: DateTime<Utc>) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let written: Written = diesel::sql_query(
        "WITH done AS (
         UPDATE deliveries d SET status = v.status,
                next_attempt_at = COALESCE(v.next_attempt_at, d.next_attempt_at),
                attempts = CASE WHEN v.deferred_reason IS NULL THEN d.attempts ELSE d.attempts - 1 END,
                deferred_reason = COALESCE(v.deferred_reason, d.deferred_reason),
                last_error = COALESCE(v.error, CASE WHEN v.deferred_reason IS NULL THEN NULL ELSE d.last_error END),
                provider_message_id = COALESCE(v.provider_message_id, d.provider_message_id),
                sent_at = CASE WHEN v.status = 'sent' THEN $7 ELSE d.sent_at END,
                lease_until = NULL, offered_at = NULL
         FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $8::text[])
              AS v(id, attempt, status, next_attempt_at, error, provider_message_id, deferred_reason)
         WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'sending'
         RETURNING d.user_id, d.channel, d.status),
         counted AS (
         INSERT INTO usage_windows (user_id, metric, period_start, used)
         SELECT user_id, 'sms', date_trunc('month', $7 AT TIME ZONE 'UTC')::date, count(*) FROM done
         WHERE channel = 'sms' AND status = 'sent' GROUP BY user_id
         ON CONFLICT (user_id, metric, period_start) DO UPDATE SET used = usage_windows.used + EXCLUDED.used)
         SELECT count(*) AS written FROM done",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(rows.iter().map(|r| r.attempt).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.provider_message_id.as_deref()).collect::<Vec<_>>())
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.deferred_reason).collect::<Vec<_>>())
    .prepared()
    .get_result(conn)
    .await?;
    Ok(usize::try_from(written.written).unwrap_or(0))
}

/// Releases claims without an outcome (worker shutting down): they become pending again at once.
pub async fn release(conn: &mut AsyncPgConnection, claims: &[(Uuid, i32)]) -> diesel::QueryResult<usize> {
    if claims.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE deliveries d SET status = 'pending', lease_until = NULL, offered_at = NULL
         FROM unnest($1::uuid[], $2::int[]) AS v(id, attempt)
         WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'sending'",
    )
    .bind::<Array<SqlUuid>, _>(claims.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(claims.iter().map(|c| c.1).collect::<Vec<_>>())
    .prepared()
    .execute(conn)
    .await
}

/// Extends leases of claims this attempt still owns.
pub async fn renew(
    conn: &mut AsyncPgConnection,
    claims: &[(Uuid, i32)],
    until: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE deliveries d SET lease_until = $3
         FROM unnest($1::uuid[], $2::int[]) AS v(id, attempt)
         WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'sending'",
    )
    .bind::<Array<SqlUuid>, _>(claims.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(claims.iter().map(|c| c.1).collect::<Vec<_>>())
    .bind::<Timestamptz, _>(until)
    .prepared()
    .execute(conn)
    .await
}
