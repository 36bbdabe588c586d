//! `trusted_contacts` queries, every one scoped to the owner except the consent lookups by token.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ContactId, UserId};
use serde::Serialize;

use crate::accounts::users::model::QuietHours;
use crate::db::schema::trusted_contacts;

/// A `trusted_contacts` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = trusted_contacts)]
pub struct ContactRow {
    pub id: ContactId,
    pub user_id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub relationship: Option<String>,
    pub consent_status: String,
    pub invited_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub opted_out_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub paused_reason: Option<String>,
    pub timezone: Option<String>,
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
}

/// A contact as the owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ContactId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub relationship: Option<String>,
    /// `pending` (invited), `accepted`, `declined` or `opted_out`. Only accepted contacts are reached.
    pub consent_status: String,
    pub invited_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub opted_out_at: Option<DateTime<Utc>>,
    /// Set while the owner's tier allows fewer trusted contacts than they have: this one, among the newest,
    /// is not asked until a slot frees or the tier rises.
    pub paused_reason: Option<String>,
    /// The contact's own IANA zone; null: the owner's.
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
    /// The contact's own quiet hours, on their zone's clock; null: the owner's. Deliveries to the contact
    /// inside them wait until they end.
    pub quiet_hours: Option<QuietHours>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ContactRow> for ContactView {
    fn from(row: ContactRow) -> Self {
        ContactView {
            id: row.id,
            name: row.name,
            email: row.email,
            phone: row.phone,
            relationship: row.relationship,
            consent_status: row.consent_status,
            invited_at: row.invited_at,
            accepted_at: row.accepted_at,
            opted_out_at: row.opted_out_at,
            paused_reason: row.paused_reason,
            timezone: row.timezone,
            quiet_hours: QuietHours::from_times(row.quiet_hours_start, row.quiet_hours_end),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Columns written on create and on a change of name, address, zone, quiet hours or consent.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = trusted_contacts)]
pub struct ContactChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub relationship: Option<Option<String>>,
    pub consent_status: Option<String>,
    pub invited_at: Option<Option<DateTime<Utc>>>,
    pub accepted_at: Option<Option<DateTime<Utc>>>,
    pub opted_out_at: Option<Option<DateTime<Utc>>>,
    pub timezone: Option<Option<String>>,
    pub quiet_hours_start: Option<Option<NaiveTime>>,
    pub quiet_hours_end: Option<Option<NaiveTime>>,
}

/// A new contact, invited at `invited_at`.
#[derive(Debug, Insertable)]
#[diesel(table_name = trusted_contacts)]
pub struct NewContact<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub relationship: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
    pub invited_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewContact<'_>) -> QueryResult<ContactRow> {
    diesel::insert_into(trusted_contacts::table)
        .values(new)
        .returning(ContactRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn list_for(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<ContactRow>> {
    trusted_contacts::table
        .filter(trusted_contacts::user_id.eq(owner))
        .order(trusted_contacts::created_at.asc())
        .select(ContactRow::as_select())
        .load(conn)
        .await
}

pub async fn count_for(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<i64> {
    trusted_contacts::table.filter(trusted_contacts::user_id.eq(owner)).count().get_result(conn).await
}

pub async fn find_for(conn: &mut AsyncPgConnection, owner: UserId, id: ContactId) -> QueryResult<Option<ContactRow>> {
    trusted_contacts::table
        .find(id)
        .filter(trusted_contacts::user_id.eq(owner))
        .select(ContactRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The contact a consent token names, whoever owns it (the token itself is checked by the caller).
pub async fn find_by_id(conn: &mut AsyncPgConnection, id: ContactId) -> QueryResult<Option<ContactRow>> {
    trusted_contacts::table.find(id).select(ContactRow::as_select()).first(conn).await.optional()
}

pub async fn update(conn: &mut AsyncPgConnection, id: ContactId, changes: &ContactChanges) -> QueryResult<ContactRow> {
    diesel::update(trusted_contacts::table.find(id))
        .set(changes)
        .returning(ContactRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_for(conn: &mut AsyncPgConnection, owner: UserId, id: ContactId) -> QueryResult<usize> {
    diesel::delete(trusted_contacts::table.find(id).filter(trusted_contacts::user_id.eq(owner))).execute(conn).await
}

/// A pending invitation as an SMS `YES` lists it: the contact and who invited them.
#[derive(Debug, Clone, Queryable)]
pub struct TextedInvitation {
    pub contact: ContactId,
    /// The inviting owner's display name.
    pub inviter: String,
}

/// The pending invitations whose current text went to `phone` and that were sent since `since` (older ones
/// have expired), oldest first: the order an SMS `YES 1`, `YES 2` numbers them in. An invitation only
/// emailed, or texted to the contact's previous number, is not among them.
pub async fn invitations_texted_to(
    conn: &mut AsyncPgConnection,
    phone: &str,
    since: DateTime<Utc>,
) -> QueryResult<Vec<TextedInvitation>> {
    use crate::db::schema::users;
    trusted_contacts::table
        .inner_join(users::table)
        .filter(trusted_contacts::phone.eq(phone))
        .filter(trusted_contacts::consent_status.eq("pending"))
        .filter(trusted_contacts::invited_at.ge(since))
        .filter(trusted_contacts::invitation_texted_at.ge(trusted_contacts::invited_at))
        .filter(users::deleted_at.is_null())
        .order((trusted_contacts::invited_at.asc(), trusted_contacts::id.asc()))
        .select((trusted_contacts::id, users::display_name))
        .load(conn)
        .await
}

/// Records that the contact's current invitation was texted to their number.
pub async fn mark_invitation_texted(conn: &mut AsyncPgConnection, id: ContactId, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(trusted_contacts::table.find(id))
        .set(trusted_contacts::invitation_texted_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts the contact's invitation if it is still pending; returns how many rows changed (0 or 1).
pub async fn accept_pending(conn: &mut AsyncPgConnection, id: ContactId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(trusted_contacts::table.find(id).filter(trusted_contacts::consent_status.eq("pending")))
        .set((trusted_contacts::consent_status.eq("accepted"), trusted_contacts::accepted_at.eq(now)))
        .execute(conn)
        .await
}
