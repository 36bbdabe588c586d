//! Marketplace agent queries. A developer's reads are scoped to the developer; the review and the channel's
//! bookkeeping go by id. `agent_definitions` follows the status: an approved type has an enabled row there
//! (the catalogue and subscriptions use it), any other status a disabled one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::model::{AgentRow, SUSPEND_AFTER_FAILURES};
use crate::db::schema::{agent_definitions, marketplace_agents as agents};

pub struct NewAgent {
    pub id: Uuid,
    pub developer: UserId,
    pub agent_type: String,
    pub name: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub config_schema: serde_json::Value,
    pub callback_url: Option<String>,
    pub secret_ciphertext: Vec<u8>,
    pub timeout_ms: i32,
    pub max_payload_bytes: i32,
    pub requests_per_minute: i32,
    pub allowed_hosts: Vec<String>,
}

/// Inserts a pending type; None when the name is taken (by a marketplace type or a built-in).
pub async fn insert(conn: &mut AsyncPgConnection, new: NewAgent) -> QueryResult<Option<AgentRow>> {
    diesel::insert_into(agents::table)
        .values((
            agents::id.eq(new.id),
            agents::developer_id.eq(new.developer),
            agents::agent_type.eq(new.agent_type),
            agents::name.eq(new.name),
            agents::description.eq(new.description),
            agents::capabilities.eq(new.capabilities),
            agents::config_schema.eq(new.config_schema),
            agents::callback_url.eq(new.callback_url),
            agents::secret_ciphertext.eq(new.secret_ciphertext),
            agents::timeout_ms.eq(new.timeout_ms),
            agents::max_payload_bytes.eq(new.max_payload_bytes),
            agents::requests_per_minute.eq(new.requests_per_minute),
            agents::allowed_hosts.eq(new.allowed_hosts),
        ))
        .on_conflict_do_nothing()
        .returning(AgentRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn list_for(conn: &mut AsyncPgConnection, developer: UserId) -> QueryResult<Vec<AgentRow>> {
    agents::table
        .filter(agents::developer_id.eq(developer))
        .order(agents::created_at.asc())
        .select(AgentRow::as_select())
        .load(conn)
        .await
}

pub async fn find_for(conn: &mut AsyncPgConnection, developer: UserId, id: Uuid) -> QueryResult<Option<AgentRow>> {
    agents::table
        .find(id)
        .filter(agents::developer_id.eq(developer))
        .select(AgentRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AgentRow>> {
    agents::table.find(id).select(AgentRow::as_select()).first(conn).await.optional()
}

pub async fn find_by_type(conn: &mut AsyncPgConnection, agent_type: &str) -> QueryResult<Option<AgentRow>> {
    agents::table.filter(agents::agent_type.eq(agent_type)).select(AgentRow::as_select()).first(conn).await.optional()
}

/// Types in `status` (all when None), oldest first: the review queue.
pub async fn list_by_status(conn: &mut AsyncPgConnection, status: Option<&str>) -> QueryResult<Vec<AgentRow>> {
    let mut query = agents::table.order(agents::created_at.asc()).select(AgentRow::as_select()).into_boxed();
    if let Some(status) = status {
        query = query.filter(agents::status.eq(status.to_owned()));
    }
    query.limit(500).load(conn).await
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = agents)]
pub struct AgentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub callback_url: Option<Option<String>>,
    pub config_schema: Option<serde_json::Value>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub timeout_ms: Option<i32>,
    pub max_payload_bytes: Option<i32>,
    pub requests_per_minute: Option<i32>,
    pub status: Option<String>,
    pub status_reason: Option<Option<String>>,
    pub consecutive_failures: Option<i32>,
    pub approved_at: Option<Option<DateTime<Utc>>>,
}

/// Applies `changes` and keeps the type's catalogue row in step with its status.
pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: &AgentChanges) -> QueryResult<AgentRow> {
    let row: AgentRow = diesel::update(agents::table.find(id))
        .set(changes)
        .returning(AgentRow::as_returning())
        .get_result(conn)
        .await?;
    sync_definition(conn, &row).await?;
    Ok(row)
}

async fn sync_definition(conn: &mut AsyncPgConnection, row: &AgentRow) -> QueryResult<()> {
    let enabled = row.status == "approved";
    if !enabled {
        diesel::update(agent_definitions::table.find(&row.agent_type))
            .set(agent_definitions::enabled.eq(false))
            .execute(conn)
            .await?;
        return Ok(());
    }
    diesel::insert_into(agent_definitions::table)
        .values((
            agent_definitions::agent_type.eq(&row.agent_type),
            agent_definitions::name.eq(&row.name),
            agent_definitions::description.eq(&row.description),
            agent_definitions::config_schema.eq(&row.config_schema),
            agent_definitions::enabled.eq(true),
        ))
        .on_conflict(agent_definitions::agent_type)
        .do_update()
        .set((
            agent_definitions::name.eq(&row.name),
            agent_definitions::description.eq(&row.description),
            agent_definitions::config_schema.eq(&row.config_schema),
            agent_definitions::enabled.eq(true),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records one send's result: a success clears the failure count (written only when there was one), a
/// failure counts, and the [`SUSPEND_AFTER_FAILURES`]th in a row suspends the type. The suspended type when
/// this call suspended it.
pub async fn record_send(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    failure: Option<&str>,
) -> QueryResult<Option<AgentRow>> {
    let Some(failure) = failure else {
        diesel::update(agents::table.find(id).filter(agents::consecutive_failures.gt(0)))
            .set((agents::consecutive_failures.eq(0), agents::last_failure.eq(None::<String>)))
            .execute(conn)
            .await?;
        return Ok(None);
    };
    let row: AgentRow = diesel::update(agents::table.find(id))
        .set((agents::consecutive_failures.eq(agents::consecutive_failures + 1), agents::last_failure.eq(failure)))
        .returning(AgentRow::as_returning())
        .get_result(conn)
        .await?;
    if row.status != "approved" || row.consecutive_failures < SUSPEND_AFTER_FAILURES {
        return Ok(None);
    }
    let reason =
        format!("suspended after {} failed deliveries in a row; the last: {failure}", row.consecutive_failures);
    let changes =
        AgentChanges { status: Some("suspended".to_owned()), status_reason: Some(Some(reason)), ..Default::default() };
    update(conn, id, &changes).await.map(Some)
}
