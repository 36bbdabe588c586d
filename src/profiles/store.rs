//! Profile queries. Every read takes the caller's id: a user sees their own profiles and the presets, never
//! another user's.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ProfileId, UserId};
use uuid::Uuid;

use super::model::ProfileRow;
use crate::db::schema::{escalation_profiles as profiles, reminders, trusted_contacts, user_agent_subscriptions};
use crate::http::pagination::Page;

/// The values of a new profile or of a full replacement. A replacement must be able to clear optional
/// columns, so their `None` is written as NULL rather than skipped.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = profiles)]
pub struct ProfileValues {
    pub name: String,
    #[diesel(treat_none_as_null = true)]
    pub description: Option<String>,
    pub tiers: serde_json::Value,
    pub repeat_count: i16,
    pub ack_window_minutes: i32,
    #[diesel(treat_none_as_null = true)]
    pub loop_gap_minutes: Option<i32>,
}

/// The caller's own profile or a preset with `id`.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ProfileId,
) -> QueryResult<Option<ProfileRow>> {
    profiles::table
        .find(id)
        .filter(profiles::user_id.eq(owner).or(profiles::is_preset.eq(true)))
        .select(ProfileRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The caller's own profile with `id`, locked for an update in this transaction. Presets are not returned.
pub async fn lock_own(conn: &mut AsyncPgConnection, owner: UserId, id: ProfileId) -> QueryResult<Option<ProfileRow>> {
    profiles::table
        .find(id)
        .filter(profiles::user_id.eq(owner))
        .select(ProfileRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Presets first (in id order), then the caller's profiles by creation; one page and the total.
pub async fn list_visible(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    page: Page,
) -> QueryResult<(Vec<ProfileRow>, i64)> {
    let visible = || profiles::table.filter(profiles::user_id.eq(owner).or(profiles::is_preset.eq(true)));
    let total = visible().count().get_result(conn).await?;
    let rows = visible()
        .order((profiles::is_preset.desc(), profiles::created_at.asc(), profiles::id.asc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(ProfileRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

pub async fn insert(conn: &mut AsyncPgConnection, owner: UserId, values: &ProfileValues) -> QueryResult<ProfileRow> {
    diesel::insert_into(profiles::table)
        .values((profiles::user_id.eq(owner), values))
        .returning(ProfileRow::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the caller's profile and bumps its version.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ProfileId,
    values: &ProfileValues,
) -> QueryResult<ProfileRow> {
    diesel::update(profiles::table.find(id).filter(profiles::user_id.eq(owner)))
        .set((values, profiles::version.eq(profiles::version + 1)))
        .returning(ProfileRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_own(conn: &mut AsyncPgConnection, owner: UserId, id: ProfileId) -> QueryResult<usize> {
    diesel::delete(profiles::table.find(id).filter(profiles::user_id.eq(owner))).execute(conn).await
}

/// Reminders (archived included: the foreign key keeps them pointing here) that use the profile.
pub async fn reminders_using(conn: &mut AsyncPgConnection, id: ProfileId) -> QueryResult<i64> {
    reminders::table.filter(reminders::escalation_profile_id.eq(id)).count().get_result(conn).await
}

/// Which of `ids` are the caller's own channel subscriptions.
pub async fn own_subscription_ids(conn: &mut AsyncPgConnection, owner: UserId, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    user_agent_subscriptions::table
        .filter(user_agent_subscriptions::user_id.eq(owner))
        .filter(user_agent_subscriptions::id.eq_any(ids))
        .select(user_agent_subscriptions::id)
        .load(conn)
        .await
}

/// Which of `ids` are the caller's own trusted contacts.
pub async fn own_contact_ids(conn: &mut AsyncPgConnection, owner: UserId, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    trusted_contacts::table
        .filter(trusted_contacts::user_id.eq(owner))
        .filter(trusted_contacts::id.eq_any(ids))
        .select(trusted_contacts::id)
        .load(conn)
        .await
}

/// A channel subscription as a preview needs it.
#[derive(Debug, Clone, Queryable)]
pub struct SubscriptionBrief {
    pub id: Uuid,
    pub agent_type: String,
    pub enabled: bool,
    /// False while a new email address or phone number waits for its code: the engine skips it.
    pub verified: bool,
}

/// A trusted contact as a preview needs it.
#[derive(Debug, Clone, Queryable)]
pub struct ContactBrief {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub consent_status: String,
}

pub async fn subscriptions_of(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<SubscriptionBrief>> {
    user_agent_subscriptions::table
        .filter(user_agent_subscriptions::user_id.eq(owner))
        .order(user_agent_subscriptions::created_at.asc())
        .select((
            user_agent_subscriptions::id,
            user_agent_subscriptions::agent_type,
            user_agent_subscriptions::enabled,
            user_agent_subscriptions::verified_at.is_not_null(),
        ))
        .load(conn)
        .await
}

pub async fn contacts_of(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<ContactBrief>> {
    trusted_contacts::table
        .filter(trusted_contacts::user_id.eq(owner))
        .order(trusted_contacts::created_at.asc())
        .select((
            trusted_contacts::id,
            trusted_contacts::name,
            trusted_contacts::email,
            trusted_contacts::phone,
            trusted_contacts::timezone,
            trusted_contacts::consent_status,
        ))
        .load(conn)
        .await
}
