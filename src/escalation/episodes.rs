//! Escalation episode rows: their decoders, loading an open episode as a [`machine::Episode`], and the
//! delivery log the API shows. Every write is in `store.rs` (deliveries are written by `engine::deliveries`).

mod store;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types as sql;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use reminder_core::machine::{EndReason, Episode, EpisodeStatus, Plan};
use serde::{Deserialize as _, Serialize};
pub use store::{
    Ending, EpisodeRow, EpisodeWrite, NewEpisode, end_open, insert_batch, purge_closed, update_batch, write,
};
use uuid::Uuid;

use crate::db::schema::{deliveries, escalations};

/// Statuses of an episode that can still change.
pub const OPEN_STATUSES: [&str; 2] = ["active", "acknowledged"];

/// An `escalations` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = escalations)]
pub struct EscalationRow {
    pub id: EpisodeId,
    pub reminder_id: ReminderId,
    pub user_id: UserId,
    pub occurrence_at: DateTime<Utc>,
    pub plan: serde_json::Value,
    pub status: EpisodeStatus,
    pub end_reason: Option<String>,
    pub current_tier: i16,
    pub loop_index: i16,
    pub fired_at: DateTime<Utc>,
    pub loop_started_at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
    pub ack_until: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub acted_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored columns of an episode (embedded in the engine's row types).
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct EpisodeColumns {
    #[diesel(sql_type = sql::Text)]
    pub status: EpisodeStatus,
    #[diesel(sql_type = sql::SmallInt)]
    pub current_tier: i16,
    #[diesel(sql_type = sql::SmallInt)]
    pub loop_index: i16,
    #[diesel(sql_type = sql::Timestamptz)]
    pub fired_at: DateTime<Utc>,
    #[diesel(sql_type = sql::Timestamptz)]
    pub loop_started_at: DateTime<Utc>,
    #[diesel(sql_type = sql::Nullable<sql::Timestamptz>)]
    pub next_step_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = sql::Nullable<sql::Timestamptz>)]
    pub ack_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = sql::Nullable<sql::Text>)]
    pub end_reason: Option<String>,
}

impl EpisodeColumns {
    /// The machine's view (the one decoder of an episode's state); an error names the column holding a
    /// value the machine does not know.
    pub fn decode(&self) -> anyhow::Result<Episode> {
        let end_reason = match self.end_reason.as_deref() {
            None => None,
            Some(name) => Some(EndReason::parse(name).ok_or_else(|| anyhow::anyhow!("unknown end reason {name:?}"))?),
        };
        Ok(Episode {
            status: self.status,
            fired_at: self.fired_at,
            current_tier: u16::try_from(self.current_tier)?,
            loop_index: u8::try_from(self.loop_index)?,
            loop_started_at: self.loop_started_at,
            next_step_at: self.next_step_at,
            ack_until: self.ack_until,
            end_reason,
        })
    }
}

/// The one decoder of `escalations.plan`, the profile as resolved when the episode fired.
pub fn decode_plan(stored: &serde_json::Value) -> anyhow::Result<Plan> {
    Ok(Plan::deserialize(stored)?)
}

impl EscalationRow {
    /// The snapshot plan stored when the reminder fired.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        decode_plan(&self.plan).with_context(|| format!("escalation {} has an unreadable plan", self.id))
    }

    /// The row as the pure machine's state.
    pub fn episode(&self) -> anyhow::Result<Episode> {
        EpisodeColumns {
            status: self.status,
            current_tier: self.current_tier,
            loop_index: self.loop_index,
            fired_at: self.fired_at,
            loop_started_at: self.loop_started_at,
            next_step_at: self.next_step_at,
            ack_until: self.ack_until,
            end_reason: self.end_reason.clone(),
        }
        .decode()
        .with_context(|| format!("escalation {} has a state the machine does not know", self.id))
    }
}

/// The reminder's open episode (at most one exists), locked until the transaction ends.
pub async fn lock_open(conn: &mut AsyncPgConnection, reminder: ReminderId) -> QueryResult<Option<EscalationRow>> {
    escalations::table
        .filter(escalations::reminder_id.eq(reminder))
        .filter(escalations::status.eq_any(EpisodeStatus::OPEN))
        .select(EscalationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A delivery as the delivery log shows it (no payload: it may hold action links).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = deliveries)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    #[schema(value_type = Uuid)]
    pub id: DeliveryId,
    #[serde(skip)]
    #[schema(value_type = uuid::Uuid)]
    pub escalation_id: EpisodeId,
    pub tier: i16,
    pub loop_index: i16,
    pub target_kind: String,
    pub target_id: Uuid,
    pub channel: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub deferred_reason: Option<String>,
    pub last_error: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An episode with its deliveries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationView {
    #[schema(value_type = Uuid)]
    pub id: EpisodeId,
    pub occurrence_at: DateTime<Utc>,
    pub status: String,
    pub end_reason: Option<String>,
    pub current_tier: i16,
    pub loop_index: i16,
    pub fired_at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
    pub ack_until: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub acted_by: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

impl EscalationView {
    pub fn new(row: EscalationRow, deliveries: Vec<DeliveryView>) -> EscalationView {
        EscalationView {
            id: row.id,
            occurrence_at: row.occurrence_at,
            status: row.status.as_str().to_owned(),
            end_reason: row.end_reason,
            current_tier: row.current_tier,
            loop_index: row.loop_index,
            fired_at: row.fired_at,
            next_step_at: row.next_step_at,
            ack_until: row.ack_until,
            acknowledged_at: row.acknowledged_at,
            completed_at: row.completed_at,
            acted_by: row.acted_by,
            deliveries,
        }
    }
}

/// The owner's episodes of one reminder, newest first (at most `limit`), each with its deliveries.
pub async fn list_for_reminder(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: ReminderId,
    limit: i64,
) -> QueryResult<Vec<EscalationView>> {
    let rows: Vec<EscalationRow> = escalations::table
        .filter(escalations::reminder_id.eq(reminder))
        .filter(escalations::user_id.eq(owner))
        .order(escalations::fired_at.desc())
        .limit(limit)
        .select(EscalationRow::as_select())
        .load(conn)
        .await?;
    let ids: Vec<EpisodeId> = rows.iter().map(|r| r.id).collect();
    let all: Vec<DeliveryView> = deliveries::table
        .filter(deliveries::escalation_id.eq_any(&ids))
        .order((deliveries::loop_index.asc(), deliveries::tier.asc(), deliveries::created_at.asc()))
        .select(DeliveryView::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = all.iter().filter(|d| d.escalation_id == row.id).cloned().collect();
            EscalationView::new(row, own)
        })
        .collect())
}

/// The owner's open episodes across their reminders, oldest first (at most `limit`). Reached through the
/// owner's reminders and `escalations_one_open`, like the other by-user reads.
pub async fn open_for_user(conn: &mut AsyncPgConnection, owner: UserId, limit: i64) -> QueryResult<Vec<EscalationRow>> {
    use crate::db::schema::reminders;
    let owned = reminders::table.filter(reminders::user_id.eq(owner)).select(reminders::id);
    escalations::table
        .filter(escalations::reminder_id.eq_any(owned))
        .filter(escalations::user_id.eq(owner))
        .filter(escalations::status.eq_any(EpisodeStatus::OPEN))
        .order(escalations::fired_at.asc())
        .limit(limit)
        .select(EscalationRow::as_select())
        .load(conn)
        .await
}
