//! Advance: open episodes whose wake-up time has come take their next step (next tier, next loop,
//! end of an ack window, expiry). One transaction per batch writes the new states and the deliveries.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Jsonb, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{EpisodeId, ReminderId, UserId};
use reminder_core::machine::{EndReason, EpisodeStatus};

use super::{BATCH, Lead, calendar, deliveries, episodes, fence, offer};
use crate::billing::controls;
use crate::db::Prepare;
use crate::escalation::episodes::{self as store, EpisodeColumns, EpisodeRow};
use crate::notifications::delivery::OwnerColumns;
use crate::notifications::lifecycle::{EpisodeEvent, LifecycleEvent};
use crate::state::AppState;

#[derive(diesel::QueryableByName)]
struct DueEpisode {
    #[diesel(sql_type = SqlUuid)]
    id: EpisodeId,
    #[diesel(sql_type = SqlUuid)]
    reminder_id: ReminderId,
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Jsonb)]
    plan: serde_json::Value,
    #[diesel(embed)]
    columns: EpisodeColumns,
    #[diesel(sql_type = Timestamptz)]
    occurrence_at: DateTime<Utc>,
    #[diesel(embed)]
    owner: OwnerColumns,
}

const SELECT_DUE: &str = "
    SELECT e.id, e.reminder_id, e.user_id, e.plan, e.status, e.current_tier, e.loop_index, e.fired_at,
           e.loop_started_at, e.next_step_at, e.ack_until, e.end_reason, e.occurrence_at,
           {owner}
    FROM escalations e
    JOIN reminders r ON r.id = e.reminder_id
    JOIN users u ON u.id = e.user_id
    WHERE e.status IN ('active', 'acknowledged') AND e.next_step_at <= $1{shard}
    ORDER BY e.next_step_at
    LIMIT $2
    FOR UPDATE OF e SKIP LOCKED";

/// Advances one batch; returns how many episodes were looked at. Like fire, it offers the deliveries it
/// makes itself, right after its commit, when Redis is reachable.
pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, lead: Lead) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let mut redis = state.redis.conn().await;
    let offer_at = redis.is_some().then_some(now);
    let (advanced, offered) = conn
        .transaction::<_, anyhow::Error, _>(async move |conn| {
            fence::check(conn, lead).await?;
            let due: Vec<DueEpisode> = diesel::sql_query(
                SELECT_DUE
                    .replace("{owner}", OwnerColumns::SELECT)
                    .replace("{shard}", &lead.shard.filter("e.reminder_id")),
            )
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(BATCH)
            .prepared()
            .load(conn)
            .await?;
            let mut updates = Vec::with_capacity(due.len());
            let mut new_deliveries = Vec::new();
            let mut expired = Vec::new();
            for row in &due {
                let Some((episode, plan)) = episodes::read(row.id, &row.columns, &row.plan) else { continue };
                let ctx = row.owner.context(row.id, row.reminder_id, row.user_id, row.occurrence_at);
                let (next, created) = episodes::drive(&plan, episode, &ctx, now);
                new_deliveries.extend(created);
                if next.end_reason == Some(EndReason::Exhausted) && next.status == EpisodeStatus::Expired {
                    expired.push(EpisodeEvent {
                        escalation_id: row.id,
                        event: LifecycleEvent::Expired,
                        snoozed_until: None,
                    });
                }
                updates.push(EpisodeRow { id: row.id, episode: next });
            }
            let critical =
                due.iter().filter(|row| row.owner.importance == "critical").map(|row| row.reminder_id).collect();
            calendar::hold_tiers(conn, &mut new_deliveries, &critical, now).await?;
            store::update_batch(conn, &updates).await?;
            controls::apply(conn, controls::Settings::from_config(&state.config), &mut new_deliveries, now).await?;
            let offered = deliveries::insert_batch(conn, &new_deliveries, offer_at).await?;
            // Only episodes selected as open can expire here, so each expiry is told once.
            deliveries::insert_lifecycle(conn, &expired, now).await?;
            metrics::counter!("deliveries_created_total").increment(new_deliveries.len() as u64);
            Ok((due.len(), offered))
        })
        .await?;
    offer::push_committed(state, redis.as_mut(), &offered).await;
    Ok(advanced)
}
