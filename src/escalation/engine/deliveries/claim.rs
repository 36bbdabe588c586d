//! Claiming deliveries, one statement per batch: a claim takes a lease and bumps `attempts`; every outcome
//! write (`outcome.rs`) is conditional on that attempt, so a worker that lost its lease (a zombie) cannot
//! overwrite what a later attempt recorded.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use uuid::Uuid;

use crate::billing::controls;
use crate::db::Prepare;

/// A claimed delivery, ready to send.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: DeliveryId,
    #[diesel(sql_type = SqlUuid)]
    pub escalation_id: EpisodeId,
    #[diesel(sql_type = SqlUuid)]
    pub reminder_id: ReminderId,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
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
    /// The owner is usage-suspended: the delivery may go out only within the window's allowance
    /// ([`within_allowance`]). Never set for a lifecycle event (tier 0), see [`CLAIM`].
    #[diesel(sql_type = Bool)]
    pub usage_suspended: bool,
}

/// Tier deliveries whose episode was acknowledged, completed or cancelled (lifecycle events, tier 0, are sent
/// after their episode ended: see `notifications::lifecycle`), or whose owner's deliveries an admin has
/// disabled since the row was created (a retry, a quiet-hour deferral), are cancelled instead of
/// claimed, in the same pass over the rows (one join to the episode and its owner's subscription, one row
/// version each). (An exhausted episode still sends its last tier.)
///
/// A usage-suspended owner's rows are claimed like any other, flagged `usage_suspended`: the allowance counts
/// sends, so it is asked for only once the worker knows what it will send (after quiet hours), in
/// [`within_allowance`], and only when some claimed row carries the flag; the common path stays one statement.
/// Lifecycle events (tier 0) are never flagged: each follows a tier delivery of the same episode to the same
/// webhook that the allowance already let through, at most one per event and webhook, and holding one back
/// would leave the receiver believing the episode still open (a light left on) without saving a tier send.
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
                     s.delivery_state IS NOT DISTINCT FROM 'DELIVERY_DISABLED' AS disabled,
                     s.delivery_state IS NOT DISTINCT FROM 'USAGE_SUSPENDED'
                         AND (s.usage_suspended_until IS NULL OR s.usage_suspended_until > $1) AS suspended
              FROM escalations e LEFT JOIN subscriptions s ON s.user_id = e.user_id) e
        WHERE d.id IN (SELECT id FROM picked) AND e.id = d.escalation_id AND d.status = 'pending'
          AND (d.next_attempt_at <= $1 OR (e.ended AND d.tier > 0) OR e.disabled)
        RETURNING d.id, d.escalation_id, d.reminder_id, d.user_id, d.tier, d.loop_index, d.target_kind,
                  d.target_id, d.channel, d.attempts, d.payload, d.status, e.suspended AND d.tier > 0 AS suspended)
    SELECT id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, channel, attempts,
           payload, suspended AS usage_suspended
    FROM touched WHERE status = 'sending'";

/// The claim statement over the deliveries `source` selects.
fn claim(source: &str) -> String {
    CLAIM.replace("{source}", source).replace("{disabled}", crate::billing::controls::DISABLED_REASON)
}

/// Claims the deliveries named by stream entries (those still pending and due).
pub async fn claim_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[DeliveryId],
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

/// Claims due pending deliveries straight from Postgres (Redis down or absent), oldest first, through the
/// owed index in order (`claimable_deliveries`, whose migration says why it is a function). `SKIP LOCKED`
/// lets any number of workers do this at once without waiting on each other.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Claimed>> {
    let source = "SELECT claimable_deliveries($1, $3) AS id";
    diesel::sql_query(claim(source))
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(lease_until)
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)
        .await
}

/// A usage suspension at send time: of the claimed rows about to be sent whose owner is usage-suspended
/// (`usage_suspended`), lets through at most what is left of each owner's window, counted in
/// `delivery_window_usage`, and cancels the rest with the window's reset time; returns the ids let through.
/// One transaction: the owners' subscription rows are locked (`controls::allowance`), so two workers cannot
/// both grant the last slot, and a cancellation is written only while the claim is still this attempt's (as
/// every outcome is), giving the attempt back: nothing was sent. Rows go through in the order given.
pub async fn within_allowance(
    conn: &mut AsyncPgConnection,
    settings: controls::Settings<'_>,
    rows: &[&Claimed],
    now: DateTime<Utc>,
) -> diesel::QueryResult<HashSet<DeliveryId>> {
    let mut wanted: Vec<(UserId, usize)> = Vec::new();
    for row in rows {
        match wanted.iter_mut().find(|(user, _)| *user == row.user_id) {
            Some((_, n)) => *n += 1,
            None => wanted.push((row.user_id, 1)),
        }
    }
    conn.transaction(async move |conn| {
        let mut allowed = controls::allowance(conn, settings, &wanted, now).await?;
        let mut through = HashSet::with_capacity(rows.len());
        let mut held: Vec<(DeliveryId, i32, String)> = Vec::new();
        for row in rows {
            match allowed.get_mut(&row.user_id) {
                Some(left) if left.sends > 0 => {
                    left.sends -= 1;
                    through.insert(row.id);
                }
                left => {
                    let reason =
                        left.and_then(|l| l.held_reason.clone()).unwrap_or_else(|| "usage suspended".to_owned());
                    held.push((row.id, row.attempts, reason));
                }
            }
        }
        if !held.is_empty() {
            diesel::sql_query(
                "UPDATE deliveries d SET status = 'cancelled', cancel_reason = v.reason, attempts = d.attempts - 1,
                        lease_until = NULL, offered_at = NULL
                 FROM unnest($1::uuid[], $2::int[], $3::text[]) AS v(id, attempt, reason)
                 WHERE d.id = v.id AND d.attempts = v.attempt AND d.status = 'sending'",
            )
            .bind::<Array<SqlUuid>, _>(held.iter().map(|h| h.0).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(held.iter().map(|h| h.1).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(held.iter().map(|h| h.2.as_str()).collect::<Vec<_>>())
            .prepared()
            .execute(conn)
            .await?;
        }
        Ok(through)
    })
    .await
}
