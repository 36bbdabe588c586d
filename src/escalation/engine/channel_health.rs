//! Channel health: when a tier's deliveries have all failed for good, waiting out that tier's delay helps
//! nobody, so the episode moves on to the next tier at once (the pure machine's `ChannelFailed` event).
//!
//! The rule is "every delivery of the episode's current tier and loop is terminal and none reached anyone":
//! a failed SMS next to an email that went out is not a reason to wake the trusted contacts early, and a
//! delivery still pending (a retry, quiet hours) may yet arrive. Only definite failures trigger the check
//! (a refusal, 410, retries exhausted, a carrier's `undelivered`); an SMS whose outcome is unknown may have
//! been read. The machine itself refuses to skip a loop gap or the final wait.
//!
//! This runs inside the transaction that records the failure (worker outcomes, Twilio receipts), so the
//! state change is written with the fact that caused it. It only moves `next_step_at`; the scheduler's
//! advance step then creates the next tier's deliveries in its own transaction, as for any due step.
//! Callers lock the episodes with [`lock`] before touching their deliveries: the same order (episode, then
//! deliveries) as the acknowledge/complete/snooze path, so the two cannot deadlock.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Jsonb, SmallInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::EpisodeId;
use reminder_core::machine::{self, Event};

use super::episodes;
use crate::db::Prepare;
use crate::escalation::episodes::{self as store, EpisodeColumns, EpisodeRow};

/// A delivery that failed for good: which episode, tier and loop it belonged to.
pub type FailedDelivery = super::deliveries::Step;

/// Locks the open episodes of `failed` (in id order) for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, failed: &[FailedDelivery]) -> diesel::QueryResult<usize> {
    if failed.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "SELECT id FROM escalations WHERE id = ANY($1) AND status IN ('active', 'acknowledged')
         ORDER BY id FOR UPDATE",
    )
    .bind::<Array<SqlUuid>, _>(failed.iter().map(|f| f.escalation_id).collect::<Vec<_>>())
    .prepared()
    .execute(conn)
    .await
}

#[derive(diesel::QueryableByName)]
struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    id: EpisodeId,
    #[diesel(sql_type = Jsonb)]
    plan: serde_json::Value,
    #[diesel(embed)]
    columns: EpisodeColumns,
    #[diesel(sql_type = SmallInt)]
    failed_tier: i16,
    #[diesel(sql_type = SmallInt)]
    failed_loop: i16,
}

/// Active episodes whose failed tier has nothing left that could reach anyone.
const SELECT_HOPELESS: &str = "
    SELECT e.id, e.plan, e.status, e.current_tier, e.loop_index, e.fired_at, e.loop_started_at, e.next_step_at,
           e.ack_until, e.end_reason, f.tier AS failed_tier, f.loop_index AS failed_loop
    FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::smallint[], $3::smallint[]) AS u(id, tier, loop_index)) AS f
    JOIN escalations e ON e.id = f.id
    WHERE e.status = 'active'
      AND NOT EXISTS (SELECT 1 FROM deliveries d
                      WHERE d.escalation_id = f.id AND d.tier = f.tier AND d.loop_index = f.loop_index
                        AND d.status NOT IN ('failed', 'cancelled'))
    ORDER BY e.id
    FOR UPDATE OF e";

/// Steps every episode whose current tier failed entirely with `ChannelFailed`; returns how many moved.
pub async fn skip_failed_tiers(
    conn: &mut AsyncPgConnection,
    failed: &[FailedDelivery],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    if failed.is_empty() {
        return Ok(0);
    }
    let candidates: Vec<Candidate> = diesel::sql_query(SELECT_HOPELESS)
        .bind::<Array<SqlUuid>, _>(failed.iter().map(|f| f.escalation_id).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(failed.iter().map(|f| f.tier).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(failed.iter().map(|f| f.loop_index).collect::<Vec<_>>())
        .prepared()
        .load(conn)
        .await?;
    let mut moved = Vec::new();
    for candidate in candidates {
        // An unreadable episode is counted and left as it is; the failure itself stays recorded.
        let Some((episode, plan)) = episodes::read(candidate.id, &candidate.columns, &candidate.plan) else {
            continue;
        };
        let event = Event::ChannelFailed {
            tier: u16::try_from(candidate.failed_tier).unwrap_or(0),
            loop_index: u8::try_from(candidate.failed_loop).unwrap_or(u8::MAX),
        };
        let (next, _) = machine::step(&plan, &episode, event, now);
        if next != episode {
            tracing::info!(escalation.id = %candidate.id, tier = candidate.failed_tier,
                "every delivery of the tier failed; the next tier is due now");
            moved.push(EpisodeRow { id: candidate.id, episode: next });
        }
    }
    store::update_batch(conn, &moved).await?;
    metrics::counter!("tiers_skipped_after_channel_failure_total").increment(moved.len() as u64);
    Ok(moved.len())
}
