//! Outcomes of deliveries: what a worker's attempt recorded (only while it holds the claim), leases
//! extended, a carrier's receipt for an SMS, and a pull agent's confirmation.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId};
use reminder_core::status::DeliveryStatus;

use crate::db::Prepare;

/// What happened to one claimed delivery.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: DeliveryId,
    pub attempt: i32,
    /// `Sent`, `Pending` (retry later), or `Failed`.
    pub status: DeliveryStatus,
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
pub async fn record_outcomes(
    conn: &mut AsyncPgConnection,
    rows: &[Recorded],
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
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

/// Extends leases of claims this attempt still owns.
pub async fn renew_leases(
    conn: &mut AsyncPgConnection,
    claims: &[(DeliveryId, i32)],
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

/// Where a delivery sits in its episode: the episode, tier and loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::QueryableByName)]
pub struct Step {
    #[diesel(sql_type = SqlUuid)]
    pub escalation_id: EpisodeId,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub tier: i16,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub loop_index: i16,
}

/// The episode step of SMS delivery `id`, if there is one (read before locking the episode: a receipt locks
/// the episode before its deliveries, as everywhere else).
pub async fn sms_step(conn: &mut AsyncPgConnection, id: DeliveryId) -> diesel::QueryResult<Option<Step>> {
    let steps: Vec<Step> =
        diesel::sql_query("SELECT escalation_id, tier, loop_index FROM deliveries WHERE id = $1 AND channel = 'sms'")
            .bind::<SqlUuid, _>(id)
            .load(conn)
            .await?;
    Ok(steps.into_iter().next())
}

/// A carrier's receipt for SMS delivery `id`: `delivered`, or `failed` with `error`. Applied only while the
/// row is `sending` or `sent` (or failed with an unknown outcome: the receipt is how we learn it) and, once
/// the message id is known, only for that message. Returns whether the row changed.
pub async fn apply_sms_receipt(
    conn: &mut AsyncPgConnection,
    id: DeliveryId,
    status: DeliveryStatus,
    error: Option<String>,
    message_sid: Option<String>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE deliveries SET status = $2, last_error = COALESCE($3, last_error),
                delivered_at = CASE WHEN $2 = 'delivered' THEN $4 ELSE delivered_at END
         WHERE id = $1 AND channel = 'sms'
           AND (status IN ('sending', 'sent') OR (status = 'failed' AND last_error = 'unknown_outcome'))
           AND ($5::text IS NULL OR provider_message_id IS NULL OR provider_message_id = $5)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .bind::<Nullable<Text>, _>(error)
    .bind::<Timestamptz, _>(now)
    .bind::<Nullable<Text>, _>(message_sid)
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

/// A pull agent confirmed delivery `id`: the row becomes delivered (again harmlessly). The agent may read its
/// inbox before the worker that put the row there has recorded the send (the inbox row commits first), so a
/// row still `sending` is confirmed too, and the worker's later outcome, written only while the row is
/// `sending`, then changes nothing: the confirmation is never overwritten by `sent`.
pub async fn mark_pulled(
    conn: &mut AsyncPgConnection,
    id: DeliveryId,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE deliveries SET status = 'delivered', delivered_at = $2, sent_at = COALESCE(sent_at, $2),
                               lease_until = NULL
         WHERE id = $1 AND status IN ('sending', 'sent', 'delivered')",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}
