//! The one writer of the `escalations` table: an action's write of one episode, the engine's batch inserts
//! and updates, ending the open episodes of reminders, and deleting closed ones past retention.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{EpisodeId, ReminderId, UserId};
use reminder_core::machine::{Episode, EpisodeStatus};

use super::EscalationRow;
use crate::db::Prepare;
use crate::db::schema::escalations;
use crate::escalation::engine::deliveries::cancel_pending_of;

/// The episode columns written after a step, plus who acted and when.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = escalations, treat_none_as_null = true)]
pub struct EpisodeWrite {
    pub status: EpisodeStatus,
    pub end_reason: Option<String>,
    pub current_tier: i16,
    pub loop_index: i16,
    pub loop_started_at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
    pub ack_until: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub acted_by: Option<String>,
}

impl EpisodeWrite {
    /// `acknowledged_at`/`completed_at` keep what the row had unless this step sets them.
    pub fn new(row: &EscalationRow, episode: &Episode, acted_by: String) -> EpisodeWrite {
        EpisodeWrite {
            status: episode.status,
            end_reason: episode.end_reason.map(|r| r.as_str().to_owned()),
            current_tier: i16::try_from(episode.current_tier).unwrap_or(i16::MAX),
            loop_index: i16::from(episode.loop_index),
            loop_started_at: episode.loop_started_at,
            next_step_at: episode.next_step_at,
            ack_until: episode.ack_until,
            acknowledged_at: row.acknowledged_at,
            completed_at: row.completed_at,
            acted_by: Some(acted_by),
        }
    }
}

/// Writes one episode's new state (an action on it); returns the row as written.
pub async fn write(conn: &mut AsyncPgConnection, id: EpisodeId, values: &EpisodeWrite) -> QueryResult<EscalationRow> {
    diesel::update(escalations::table.find(id))
        .set(values)
        .returning(EscalationRow::as_returning())
        .get_result(conn)
        .await
}

/// An episode's columns, as stored.
pub struct EpisodeRow {
    pub id: EpisodeId,
    pub episode: Episode,
}

/// An episode a fire step starts.
pub struct NewEpisode {
    pub row: EpisodeRow,
    pub reminder_id: ReminderId,
    pub user_id: UserId,
    pub occurrence_at: DateTime<Utc>,
    pub plan: serde_json::Value,
}

/// Inserts new episodes (skipping an occurrence that already has one) and returns the ids inserted.
pub async fn insert_batch(
    mut conn: &AsyncPgConnection,
    rows: &[NewEpisode],
    epoch: i64,
) -> diesel::QueryResult<Vec<EpisodeId>> {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: EpisodeId,
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
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.row.episode.status).collect::<Vec<_>>())
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
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.episode.status).collect::<Vec<_>>())
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

/// How [`end_open`] ends the open episodes it finds.
pub struct Ending<'a> {
    /// `Expired` or `Cancelled`.
    pub status: EpisodeStatus,
    /// `superseded` or `cancelled`.
    pub end_reason: &'a str,
    /// Recorded on each pending delivery the episodes still owed.
    pub cancel_reason: &'a str,
}

/// Ends the open episodes of `reminders` and cancels what they still owed (the episodes first, then their
/// deliveries: the lock order of every other path). Takes a shared connection so the engine can pipeline it
/// with other statements of its transaction. Returns how many deliveries were cancelled.
pub async fn end_open(
    mut conn: &AsyncPgConnection,
    reminders: &[ReminderId],
    ending: Ending<'_>,
) -> QueryResult<usize> {
    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = SqlUuid)]
        id: EpisodeId,
    }
    let ended: Vec<Ended> = diesel::sql_query(
        "UPDATE escalations SET status = $2, end_reason = $3, next_step_at = NULL
         WHERE reminder_id = ANY($1) AND status IN ('active', 'acknowledged')
         RETURNING id",
    )
    .bind::<Array<SqlUuid>, _>(reminders)
    .bind::<Text, _>(ending.status)
    .bind::<Text, _>(ending.end_reason)
    .prepared()
    .load(&mut conn)
    .await?;
    let ended: Vec<EpisodeId> = ended.into_iter().map(|row| row.id).collect();
    cancel_pending_of(conn, &ended, ending.cancel_reason).await
}

/// Deletes up to `limit` closed episodes created before `cutoff` that have no deliveries left (retention:
/// runs after the deliveries' purge, so an episode whose last deliveries just went goes in the same run).
pub async fn purge_closed(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM escalations WHERE id IN (
            SELECT e.id FROM escalations e
            WHERE e.created_at < $1 AND e.status IN ('completed', 'expired', 'cancelled')
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.escalation_id = e.id)
            LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .prepared()
    .execute(conn)
    .await
}
