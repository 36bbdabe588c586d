//! Subscription queries; every one is scoped to the owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{SubscriptionId, UserId};

use super::model::SubscriptionRow;
use crate::db::schema::{agent_definitions, user_agent_subscriptions as subs};

pub async fn list_for(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<SubscriptionRow>> {
    subs::table
        .filter(subs::user_id.eq(owner))
        .order(subs::created_at.asc())
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await
}

pub async fn find_for(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
) -> QueryResult<Option<SubscriptionRow>> {
    subs::table
        .find(id)
        .filter(subs::user_id.eq(owner))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub struct NewSubscription<'a> {
    pub id: SubscriptionId,
    pub owner: UserId,
    pub agent_type: &'a str,
    pub name: Option<&'a str>,
    pub config: &'a serde_json::Value,
    pub secret_ciphertext: Option<Vec<u8>>,
    /// Set for channels that need no verification; `None` leaves an email or SMS channel waiting for its code.
    pub verified_at: Option<DateTime<Utc>>,
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
            subs::verified_at.eq(new.verified_at),
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
    pub verified_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
    changes: &SubscriptionChanges,
) -> QueryResult<Option<SubscriptionRow>> {
    diesel::update(subs::table.find(id).filter(subs::user_id.eq(owner)))
        .set(changes)
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// A marketplace subscription's settings as stored: the shown config and the sealed write-only ones.
#[derive(Debug, Queryable)]
pub struct StoredSettings {
    pub id: SubscriptionId,
    pub config: serde_json::Value,
    pub sealed: Option<Vec<u8>>,
}

/// Every subscription of one marketplace type, across owners (a type's schema changed; see
/// `sealed_settings::reseal_type`).
pub async fn settings_of_type(conn: &mut AsyncPgConnection, agent_type: &str) -> QueryResult<Vec<StoredSettings>> {
    subs::table
        .filter(subs::agent_type.eq(agent_type))
        .select((subs::id, subs::config, subs::secret_ciphertext))
        .load(conn)
        .await
}

/// Replaces `row`'s settings, only while they are still what was read; returns 1 when written.
pub async fn replace_settings(
    conn: &mut AsyncPgConnection,
    row: &StoredSettings,
    config: &serde_json::Value,
    sealed: Option<&[u8]>,
) -> QueryResult<usize> {
    let unchanged = subs::config.eq(&row.config).and(subs::secret_ciphertext.is_not_distinct_from(&row.sealed));
    diesel::update(subs::table.find(row.id).filter(unchanged))
        .set((subs::config.eq(config), subs::secret_ciphertext.eq(sealed)))
        .execute(conn)
        .await
}

/// The current secret, for rotation (moved to `previous`).
pub async fn secret_of(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
) -> QueryResult<Option<Vec<u8>>> {
    subs::table
        .find(id)
        .filter(subs::user_id.eq(owner))
        .select(subs::secret_ciphertext)
        .first::<Option<Vec<u8>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// Stores a new verification code (its hash) for an unverified channel; false when there is none such.
pub async fn set_code(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let updated =
        diesel::update(subs::table.find(id).filter(subs::user_id.eq(owner)).filter(subs::verified_at.is_null()))
            .set((
                subs::verification_code_hash.eq(hash),
                subs::verification_expires_at.eq(expires_at),
                subs::verification_attempts.eq(0),
            ))
            .execute(conn)
            .await?;
    Ok(updated == 1)
}

/// A channel's code hash and expiry as stored (both set together).
type CodeColumns = (Option<Vec<u8>>, Option<DateTime<Utc>>);

/// Counts one guess at the channel's code and returns the code's hash and expiry; `None` when no code is
/// waiting or its guesses are used up.
pub async fn count_attempt(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
    max_attempts: i32,
) -> QueryResult<Option<(Vec<u8>, DateTime<Utc>)>> {
    let found: Option<CodeColumns> = diesel::update(
        subs::table
            .find(id)
            .filter(subs::user_id.eq(owner))
            .filter(subs::verified_at.is_null())
            .filter(subs::verification_code_hash.is_not_null())
            .filter(subs::verification_attempts.lt(max_attempts)),
    )
    .set(subs::verification_attempts.eq(subs::verification_attempts + 1))
    .returning((subs::verification_code_hash, subs::verification_expires_at))
    .get_result(conn)
    .await
    .optional()?;
    Ok(found.and_then(|(hash, expires)| Some((hash?, expires?))))
}

/// Marks the channel verified if its code is still the one that was checked.
pub async fn mark_verified(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<SubscriptionRow>> {
    diesel::update(subs::table.find(id).filter(subs::user_id.eq(owner)).filter(subs::verification_code_hash.eq(hash)))
        .set((
            subs::verified_at.eq(now),
            subs::verification_code_hash.eq(None::<Vec<u8>>),
            subs::verification_expires_at.eq(None::<DateTime<Utc>>),
            subs::verification_attempts.eq(0),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes the owner's subscription; how many rows went (0 or 1).
pub async fn delete(conn: &mut AsyncPgConnection, owner: UserId, id: SubscriptionId) -> QueryResult<usize> {
    diesel::delete(subs::table.find(id).filter(subs::user_id.eq(owner))).execute(conn).await
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
