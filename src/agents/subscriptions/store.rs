//! Subscription queries; every one is scoped to the owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::SubscriptionRow;
use crate::db::schema::{agent_definitions, user_agent_subscriptions as subs};

pub async fn list_for(conn: &mut AsyncPgConnection, owner: Uuid) -> QueryResult<Vec<SubscriptionRow>> {
    subs::table
        .filter(subs::user_id.eq(owner))
        .order(subs::created_at.asc())
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await
}

pub async fn find_for(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<Option<SubscriptionRow>> {
    subs::table
        .find(id)
        .filter(subs::user_id.eq(owner))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub struct NewSubscription<'a> {
    pub id: Uuid,
    pub owner: Uuid,
    pub agent_type: &'a str,
    pub name: Option<&'a str>,
    pub config: &'a serde_json::Value,
    pub secret_ciphertext: Option<Vec<u8>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSubscription<'_>) -> QueryResult<SubscriptionRow> {
    diesel::insert_into(subs::table)
        .values((
            subs::id.eq(new.id),
            subs::user_id.eq(new.owner),
            subs::agent_type.eq(new.agent_type),
            subs::name.eq(new.name),
            subs::config.eq(new.config),
            subs::secret_ciphertext.eq(new.secret_ciphertext),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = subs)]
pub struct SubscriptionChanges {
    pub name: Option<Option<String>>,
    pub config: Option<serde_json::Value>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub secret_ciphertext: Option<Option<Vec<u8>>>,
    pub previous_secret_ciphertext: Option<Option<Vec<u8>>>,
    pub previous_secret_expires_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    id: Uuid,
    changes: &SubscriptionChanges,
) -> QueryResult<Option<SubscriptionRow>> {
    diesel::update(subs::table.find(id).filter(subs::user_id.eq(owner)))
        .set(changes)
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The current secret, for rotation (moved to `previous`).
pub async fn secret_of(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<Option<Vec<u8>>> {
    subs::table
        .find(id)
        .filter(subs::user_id.eq(owner))
        .select(subs::secret_ciphertext)
        .first::<Option<Vec<u8>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

pub async fn delete(conn: &mut AsyncPgConnection, owner: Uuid, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(subs::table.find(id).filter(subs::user_id.eq(owner))).execute(conn).await?;
    Ok(deleted == 1)
}

/// `(agent_type, name, description, config_schema, min_tier)` of enabled agents.
pub type CatalogueRow = (String, String, String, serde_json::Value, String);

pub async fn catalogue(conn: &mut AsyncPgConnection) -> QueryResult<Vec<CatalogueRow>> {
    agent_definitions::table
        .filter(agent_definitions::enabled.eq(true))
        .order(agent_definitions::agent_type.asc())
        .select((
            agent_definitions::agent_type,
            agent_definitions::name,
            agent_definitions::description,
            agent_definitions::config_schema,
            agent_definitions::min_tier,
        ))
        .load(conn)
        .await
}
