//! Episodes between the pure machine and the `escalations` table: driving due steps, batch writes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Prepare;
use crate::escalation::episodes::{EpisodeColumns, decode_plan};
use crate::escalation::machine::{self, Effect, Episode, Event, Plan};
use crate::notifications::delivery::{self, DeliveryContext, NewDelivery};

/// Steps an episode with `Due` until it is no longer due, collecting the deliveries its effects create.
/// Bounded: equal tier delays make several tiers due at once, nothing makes them due forever.
pub fn drive(
    plan: &Plan,
    mut episode: Episode,
    ctx: &DeliveryContext,
    now: DateTime<Utc>,
) -> (Episode, Vec<NewDelivery>) {
    let mut deliveries = Vec::new();
    for _ in 0..64 {
        if !episode.is_due(now) {
            break;
        }
        let (next, effects) = machine::step(plan, &episode, Event::Due, now);
        for effect in effects {
            if let Effect::Deliver { tier, loop_index, targets, escalated } = effect {
                deliveries.extend(delivery::for_tier(ctx, tier, loop_index, &targets, escalated, now));
            }
        }
        let unchanged = next == episode;
        episode = next;
        if unchanged {
            break;
        }
    }
    (episode, deliveries)
}

/// Reads episode `id`'s state and plan with their decoders; None, logged and counted, when either does
/// not read (the step then leaves the row as it is).
pub fn read(id: Uuid, columns: &EpisodeColumns, plan: &serde_json::Value) -> Option<(Episode, Plan)> {
    let read = columns
        .decode()
        .map_err(|err| ("episode", err))
        .and_then(|episode| Ok((episode, decode_plan(plan).map_err(|err| ("plan", err))?)));
    read.inspect_err(|(kind, err)| super::bad_rows::episode(kind, id, err)).ok()
}

/// An episode's columns, as stored.
pub struct EpisodeRow {
    pub id: Uuid,
    pub episode: Episode,
}

/// An episode a fire step starts.
pub struct NewEpisode {
    pub row: EpisodeRow,
    pub reminder_id: Uuid,
    pub user_id: Uuid,
    pub occurrence_at: DateTime<Utc>,
    pub plan: serde_json::Value,
}

/// Inserts new episodes (skipping an occurrence that already has one) and returns the ids inserted.
pub async fn insert_batch(
    mut conn: &AsyncPgConnection,
    rows: &[NewEpisode],
    epoch: i64,
) -> diesel::QueryResult<Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let inserted: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO escalations (id, reminder_id, user_id, occurrence_at, plan, status, current_tier, loop_index,
                                  fired_at, loop_started_at, next_step_at, ack_until, end_reason, scheduler_epoch)
         SELECT v.*, $14 FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::jsonb[], $6::text[],
                                     $7::smallint[], $8::smallint[], $9::timestamptz[], $10::timestamptz[],
                                     $11::timestamptz[], $12::timestamptz[], $13::text[]) AS v
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.row.id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.reminder_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.occurrence_at).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.plan).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.row.episode.status.as_str()).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| tier_column(&r.row.episode)).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| i16::from(r.row.episode.loop_index)).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.row.episode.fired_at).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.row.episode.loop_started_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.row.episode.next_step_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.row.episode.ack_until).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter().map(|r| r.row.episode.end_reason.map(|e| e.as_str())).collect::<Vec<_>>(),
    )
    .bind::<BigInt, _>(epoch)
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(inserted.into_iter().map(|row| row.id).collect())
}

/// Writes the new state of many episodes in one statement.
pub async fn update_batch(conn: &mut AsyncPgConnection, rows: &[EpisodeRow]) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE escalations e SET status = v.status, current_tier = v.current_tier, loop_index = v.loop_index,
                loop_started_at = v.loop_started_at, next_step_at = v.next_step_at, ack_until = v.ack_until,
                end_reason = v.end_reason
         FROM unnest($1::uuid[], $2::text[], $3::smallint[], $4::smallint[], $5::timestamptz[], $6::timestamptz[],
                     $7::timestamptz[], $8::text[])
              AS v(id, status, current_tier, loop_index, loop_started_at, next_step_at, ack_until, end_reason)
         WHERE e.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.episode.status.as_str()).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| tier_column(&r.episode)).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| i16::from(r.episode.loop_index)).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.episode.loop_started_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.episode.next_step_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.episode.ack_until).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.episode.end_reason.map(|e| e.as_str())).collect::<Vec<_>>())
    .prepared()
    .execute(conn)
    .await
}

fn tier_column(episode: &Episode) -> i16 {
    i16::try_from(episode.current_tier).unwrap_or(i16::MAX)
}
