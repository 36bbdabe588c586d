//! Inserting deliveries: a tier's rows as the engine builds them, and lifecycle events for webhooks.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::DeliveryId;
use uuid::Uuid;

use crate::db::Prepare;
use crate::notifications::lifecycle::EpisodeEvent;

/// Inserts deliveries in one statement. A repeat insert is a no-op, so no owed delivery can exist twice.
///
/// Ids are derived from the delivery's key (episode, tier, loop, target, channel: `NewDelivery::id`, UUIDv8:
/// the episode's time, then a 74-bit hash of the key), so the primary key is the uniqueness check: a delivery
/// written again (a repeat firing, or after a restore) is the same row with the same `webhook-id`. A second
/// unique index on the key itself cost every insert and every outcome a wide index entry and its check
/// (migration `2026-12-13-000001_engine_write_cost`). The time prefix lands each batch's keys at the
/// right edge of the primary-key index, on pages already in memory.
///
/// With `offer_at`, the new rows due by then are stamped as offered at that instant and their ids returned:
/// the caller pushes them to the dispatch stream once the transaction has committed, which spares the offer
/// step a select and an update per row. A push lost to a crash or a Redis error is re-offered by the offer
/// step after `OFFER_TIMEOUT_SECS`, and workers claim straight from Postgres while Redis is away.
pub async fn insert_batch(
    conn: &mut AsyncPgConnection,
    rows: &[NewDelivery],
    offer_at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Vec<DeliveryId>> {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: DeliveryId,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        offered: bool,
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "INSERT INTO deliveries (id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                 channel, status, next_attempt_at, deferred_reason, cancel_reason, payload, offered_at)
         SELECT v.*, CASE WHEN v.status = 'pending' AND v.next_attempt_at <= $14 THEN $14 END
         FROM unnest($15::uuid[], $1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::smallint[], $6::text[],
                     $7::uuid[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::jsonb[])
              AS v(id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, channel, status,
                   next_attempt_at, deferred_reason, cancel_reason, payload)
         ON CONFLICT (id) DO NOTHING
         RETURNING id, offered_at IS NOT NULL AS offered",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.escalation_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.reminder_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| r.tier).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| r.loop_index).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.target.kind.as_str()).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.target.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.target.channel.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.deferred_reason.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.cancel_reason.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.payload).collect::<Vec<_>>())
    .bind::<Nullable<Timestamptz>, _>(offer_at)
    .bind::<Array<SqlUuid>, _>(rows.iter().map(NewDelivery::id).collect::<Vec<_>>())
    .prepared()
    .load::<Inserted>(conn)
    .await
    .map(|inserted| inserted.into_iter().filter(|row| row.offered).map(|row| row.id).collect())
}

/// The webhook subscriptions each event goes to: those sent a tier delivery of the episode (and so told it
/// started).
const LIFECYCLE_TARGETS: &str = "
    SELECT DISTINCT v.i, d.target_id
    FROM unnest($1::uuid[]) WITH ORDINALITY AS v(escalation_id, i)
    JOIN deliveries d ON d.escalation_id = v.escalation_id
    WHERE d.channel = 'webhook' AND d.target_kind = 'subscription' AND d.tier > 0
      AND d.status IN ('sending', 'sent', 'delivered')";

/// The events' deliveries, one per (event, subscription), with ids derived in Rust like every delivery's.
/// Those already told of the event (a repeat acknowledge) derive the same id and are skipped. Times read as
/// the API writes them (UTC, `Z`, fraction only when there is one).
const INSERT_LIFECYCLE: &str = "
    INSERT INTO deliveries (id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                            channel, status, next_attempt_at, payload)
    SELECT v.id, v.escalation_id, e.reminder_id, e.user_id, 0, v.code, 'subscription', v.target_id, 'webhook',
           'pending', $6,
           jsonb_strip_nulls(jsonb_build_object(
               'type', v.kind, 'reminderId', e.reminder_id, 'title', r.title, 'importance', r.importance,
               'tier', e.current_tier, 'loop', e.loop_index,
               'dueAt', rtrim(rtrim(to_char(e.occurrence_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z',
               'snoozedUntil',
               rtrim(rtrim(to_char(v.snoozed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z'))
    FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::text[], $5::timestamptz[], $7::uuid[])
         AS v(escalation_id, target_id, code, kind, snoozed_until, id)
    JOIN escalations e ON e.id = v.escalation_id
    JOIN reminders r ON r.id = e.reminder_id
    ON CONFLICT (id) DO NOTHING
    RETURNING id";

/// Inserts the events' deliveries (see [`INSERT_LIFECYCLE`]); returns their ids. The offer step picks them up
/// on its next tick. An episode whose deliveries reached no webhook (the common case) costs one query.
pub async fn insert_lifecycle(
    conn: &mut AsyncPgConnection,
    events: &[EpisodeEvent],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<DeliveryId>> {
    #[derive(diesel::QueryableByName)]
    struct Told {
        #[diesel(sql_type = BigInt)]
        i: i64,
        #[diesel(sql_type = SqlUuid)]
        target_id: Uuid,
    }
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: DeliveryId,
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let told: Vec<Told> = diesel::sql_query(LIFECYCLE_TARGETS)
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.escalation_id).collect::<Vec<_>>())
        .prepared()
        .load(conn)
        .await?;
    // `WITH ORDINALITY` counts from 1.
    let rows: Vec<(&EpisodeEvent, Uuid)> =
        told.iter().filter_map(|t| Some((events.get(usize::try_from(t.i - 1).ok()?)?, t.target_id))).collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let id = |(event, target): &(&EpisodeEvent, Uuid)| {
        DeliveryId::of(event.escalation_id, 0, event.event.code(), "subscription", *target, "webhook")
    };
    let inserted: Vec<Inserted> = diesel::sql_query(INSERT_LIFECYCLE)
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|(e, _)| e.escalation_id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|(_, target)| *target).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(rows.iter().map(|(e, _)| e.event.code()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|(e, _)| e.event.type_name()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|(e, _)| e.snoozed_until).collect::<Vec<_>>())
        .bind::<Timestamptz, _>(now)
        .bind::<Array<SqlUuid>, _>(rows.iter().map(id).collect::<Vec<_>>())
        .prepared()
        .load(conn)
        .await?;
    metrics::counter!("deliveries_created_total").increment(inserted.len() as u64);
    Ok(inserted.into_iter().map(|row| row.id).collect())
}
