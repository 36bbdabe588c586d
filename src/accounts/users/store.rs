//! User queries. Every function takes the connection so callers compose them in one transaction.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use super::model::{NewUser, User};
use crate::db::schema::{subscriptions, users};

pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table).values(new).returning(User::as_returning()).get_result(conn).await
}

/// The live (not deleted) account with this email, compared case-insensitively.
pub async fn find_live_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ").bind::<diesel::sql_types::Text, _>(email),
        )
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The live user with `id`.
pub async fn find_live(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<User>> {
    users::table.find(id).filter(users::deleted_at.is_null()).select(User::as_select()).first(conn).await.optional()
}

/// The user's effective tier (an admin override wins), FREE when there is no subscription row.
pub async fn tier_of(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<String> {
    let row: Option<(String, Option<String>)> = subscriptions::table
        .filter(subscriptions::user_id.eq(user))
        .select((subscriptions::tier, subscriptions::tier_override))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(tier, over)| over.unwrap_or(tier)).unwrap_or_else(|| "FREE".to_owned()))
}

pub async fn insert_subscription(conn: &mut AsyncPgConnection, user: UserId, tier: &str) -> QueryResult<usize> {
    diesel::insert_into(subscriptions::table)
        .values((subscriptions::user_id.eq(user), subscriptions::tier.eq(tier)))
        .on_conflict(subscriptions::user_id)
        .do_nothing()
        .execute(conn)
        .await
}

/// Changes to a user row; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub timezone: Option<String>,
    pub quiet_hours_start: Option<Option<NaiveTime>>,
    pub quiet_hours_end: Option<Option<NaiveTime>>,
    pub preferences: Option<serde_json::Value>,
    pub password_hash: Option<String>,
}

impl UserChanges {
    /// True when nothing would be set (diesel cannot build an UPDATE without columns).
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.timezone.is_none()
            && self.quiet_hours_start.is_none()
            && self.quiet_hours_end.is_none()
            && self.preferences.is_none()
            && self.password_hash.is_none()
    }
}

/// Applies `changes`; an empty change set reads the row instead (a PATCH of `{}` is a valid no-op).
pub async fn update(conn: &mut AsyncPgConnection, id: UserId, changes: &UserChanges) -> QueryResult<User> {
    if changes.is_empty() {
        return find_live(conn, id).await?.ok_or(diesel::result::Error::NotFound);
    }
    diesel::update(users::table.find(id).filter(users::deleted_at.is_null()))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Records that the owner confirmed the address; a later confirmation keeps the first time.
pub async fn mark_email_verified(conn: &mut AsyncPgConnection, id: UserId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::email_verified_at.is_null()))
        .set(users::email_verified_at.eq(now))
        .execute(conn)
        .await
}

/// Soft delete: the row stays for 30 days, the address is freed at once.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: UserId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::deleted_at.is_null()))
        .set((users::deleted_at.eq(now), users::purge_after.eq(now + chrono::Duration::days(30))))
        .execute(conn)
        .await
}

/// Locks the live user row: decisions that count the user's things (a family's places) take it first.
pub async fn lock(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserId>> {
    users::table
        .find(id)
        .filter(users::deleted_at.is_null())
        .select(users::id)
        .for_update()
        .first(conn)
        .await
        .optional()
}
