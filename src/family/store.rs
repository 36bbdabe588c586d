//! `family_members` and `reminder_shares`. Reads of `reminders`, `escalations` and `users` are joins for the
//! member's view; nothing here writes another domain's table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use uuid::Uuid;

use super::model::{ShareView, SharedReminderView};
use crate::db::schema::{family_members, reminder_shares, reminders, users};

/// A row of the owner's group with the member's name.
#[derive(Debug, Clone, Queryable)]
pub struct GroupRow {
    pub id: Uuid,
    pub email: String,
    pub status: String,
    pub member_id: Option<UserId>,
    pub display_name: Option<String>,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub joined_at: Option<DateTime<Utc>>,
}

/// The owner's invitations (live ones) and members, oldest first; only `one` of them when given.
pub async fn group(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    now: DateTime<Utc>,
    one: Option<Uuid>,
) -> QueryResult<Vec<GroupRow>> {
    let mut query = family_members::table
        .left_join(users::table.on(users::id.nullable().eq(family_members::member_id)))
        .filter(family_members::owner_id.eq(owner))
        .filter(family_members::status.eq("active").or(family_members::expires_at.gt(now)))
        .into_boxed();
    if let Some(id) = one {
        query = query.filter(family_members::id.eq(id));
    }
    query
        .order(family_members::invited_at.asc())
        .select((
            family_members::id,
            family_members::email,
            family_members::status,
            family_members::member_id,
            users::display_name.nullable(),
            family_members::invited_at,
            family_members::expires_at,
            family_members::joined_at,
        ))
        .load(conn)
        .await
}

/// The user ids of the owner's active members.
pub async fn active_member_ids(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Vec<UserId>> {
    family_members::table
        .filter(family_members::owner_id.eq(owner))
        .filter(family_members::status.eq("active"))
        .select(family_members::member_id.assume_not_null())
        .load(conn)
        .await
}

/// The family `member` belongs to: owner id, name, address, joined.
pub async fn membership_of(
    conn: &mut AsyncPgConnection,
    member: UserId,
) -> QueryResult<Option<(UserId, String, String, DateTime<Utc>)>> {
    family_members::table
        .inner_join(users::table.on(users::id.eq(family_members::owner_id)))
        .filter(family_members::member_id.eq(member))
        .filter(family_members::status.eq("active"))
        .filter(users::deleted_at.is_null())
        .select((
            family_members::owner_id,
            users::display_name,
            users::email,
            family_members::joined_at.assume_not_null(),
        ))
        .first(conn)
        .await
        .optional()
}

/// Places taken in the owner's group by addresses other than `email`: members and invitations still open
/// (inviting an address again takes no second place).
pub async fn places_taken_by_others(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    family_members::table
        .filter(family_members::owner_id.eq(owner))
        .filter(family_members::email.ne(email))
        .filter(family_members::status.eq("active").or(family_members::expires_at.gt(now)))
        .count()
        .get_result(conn)
        .await
}

/// Invites `email` (again: a repeated invitation gets a new token and expiry). `None` when the address is
/// already a member.
pub async fn invite(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    email: &str,
    token_hash: &[u8],
    (now, expires_at): (DateTime<Utc>, DateTime<Utc>),
) -> QueryResult<Option<Uuid>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let row: Option<Id> = diesel::sql_query(
        "INSERT INTO family_members (owner_id, email, status, token_hash, invited_at, expires_at)
         VALUES ($1, $2, 'invited', $3, $4, $5)
         ON CONFLICT (owner_id, email) DO UPDATE
             SET token_hash = EXCLUDED.token_hash, invited_at = EXCLUDED.invited_at, expires_at = EXCLUDED.expires_at
             WHERE family_members.status = 'invited'
         RETURNING id",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Text, _>(email)
    .bind::<diesel::sql_types::Bytea, _>(token_hash)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(expires_at)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.id))
}

/// An invitation found by its token, locked.
#[derive(Debug, Queryable)]
pub struct Invitation {
    pub id: Uuid,
    pub owner_id: UserId,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn lock_invitation(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<Option<Invitation>> {
    family_members::table
        .filter(family_members::token_hash.eq(token_hash))
        .filter(family_members::status.eq("invited"))
        .select((family_members::id, family_members::owner_id, family_members::email, family_members::expires_at))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Makes `member` a member through invitation `id`; the token is used up.
pub async fn join(conn: &mut AsyncPgConnection, id: Uuid, member: UserId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(family_members::table.find(id))
        .set((
            family_members::status.eq("active"),
            family_members::member_id.eq(member),
            family_members::joined_at.eq(now),
            family_members::token_hash.eq(None::<Vec<u8>>),
        ))
        .execute(conn)
        .await
}

/// Deletes the owner's invitation or membership `id`; answers the member it ended, if one had joined.
pub async fn remove(conn: &mut AsyncPgConnection, owner: UserId, id: Uuid) -> QueryResult<Option<Option<UserId>>> {
    diesel::delete(family_members::table.find(id).filter(family_members::owner_id.eq(owner)))
        .returning(family_members::member_id)
        .get_result(conn)
        .await
        .optional()
}

/// Ends `member`'s membership; answers the owner of the family left.
pub async fn leave(conn: &mut AsyncPgConnection, member: UserId) -> QueryResult<Option<UserId>> {
    diesel::delete(
        family_members::table.filter(family_members::member_id.eq(member)).filter(family_members::status.eq("active")),
    )
    .returning(family_members::owner_id)
    .get_result(conn)
    .await
    .optional()
}

/// Ends every share of the owner's reminders with `member`.
pub async fn unshare_all(conn: &mut AsyncPgConnection, owner: UserId, member: UserId) -> QueryResult<usize> {
    diesel::delete(
        reminder_shares::table
            .filter(reminder_shares::owner_id.eq(owner))
            .filter(reminder_shares::member_id.eq(member)),
    )
    .execute(conn)
    .await
}

/// The owner's reminder `reminder`, unless archived.
#[diesel::dsl::auto_type]
fn own_reminder(owner: UserId, reminder: ReminderId) -> _ {
    reminders::table
        .filter(reminders::id.eq(reminder))
        .filter(reminders::user_id.eq(owner))
        .filter(reminders::status.ne("archived"))
        .select(reminders::id)
}

/// Whether `reminder` is the owner's and not archived (a read: it takes no lock the scheduler would skip).
pub async fn is_own_reminder(conn: &mut AsyncPgConnection, owner: UserId, reminder: ReminderId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(own_reminder(owner, reminder))).get_result(conn).await
}

/// [`is_own_reminder`], locking the reminder so its shares change one at a time.
pub async fn lock_own_reminder(conn: &mut AsyncPgConnection, owner: UserId, reminder: ReminderId) -> QueryResult<bool> {
    let found: Option<ReminderId> = own_reminder(owner, reminder).for_update().first(conn).await.optional()?;
    Ok(found.is_some())
}

/// Makes the reminder's shares exactly `members`.
pub async fn set_shares(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: ReminderId,
    members: &[UserId],
) -> QueryResult<()> {
    diesel::delete(
        reminder_shares::table
            .filter(reminder_shares::reminder_id.eq(reminder))
            .filter(reminder_shares::member_id.ne_all(members)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = members
        .iter()
        .map(|member| {
            (
                reminder_shares::reminder_id.eq(reminder),
                reminder_shares::member_id.eq(*member),
                reminder_shares::owner_id.eq(owner),
            )
        })
        .collect();
    diesel::insert_into(reminder_shares::table).values(rows).on_conflict_do_nothing().execute(conn).await?;
    Ok(())
}

/// Who the reminder is shared with.
pub async fn shares_of(conn: &mut AsyncPgConnection, reminder: ReminderId) -> QueryResult<Vec<ShareView>> {
    let rows: Vec<(UserId, String, String, DateTime<Utc>)> = reminder_shares::table
        .inner_join(users::table.on(users::id.eq(reminder_shares::member_id)))
        .filter(reminder_shares::reminder_id.eq(reminder))
        .order(users::display_name.asc())
        .select((reminder_shares::member_id, users::display_name, users::email, reminder_shares::created_at))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(member_id, display_name, email, shared_at)| ShareView { member_id, display_name, email, shared_at })
        .collect())
}

/// A share only counts while its member is still in the owner's family.
const LIVE_SHARE: &str = "EXISTS (SELECT 1 FROM family_members f WHERE f.owner_id = s.owner_id
    AND f.member_id = s.member_id AND f.status = 'active')";

#[derive(QueryableByName)]
struct SharedRow {
    #[diesel(sql_type = SqlUuid)]
    id: ReminderId,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Text)]
    owner_name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_trigger_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    snoozed_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    escalation_status: Option<String>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    escalation_tier: Option<i16>,
}

/// The reminders shared with `member` (all of them, or the one `only`), newest share first.
pub async fn shared_with(
    conn: &mut AsyncPgConnection,
    member: UserId,
    only: Option<ReminderId>,
) -> QueryResult<Vec<SharedReminderView>> {
    let rows: Vec<SharedRow> = diesel::sql_query(format!(
        "SELECT r.id, r.title, r.description, u.display_name AS owner_name, r.status, r.next_trigger_at,
                r.snoozed_until, e.status AS escalation_status, e.current_tier AS escalation_tier
         FROM reminder_shares s
         JOIN reminders r ON r.id = s.reminder_id
         JOIN users u ON u.id = s.owner_id AND u.deleted_at IS NULL
         LEFT JOIN escalations e ON e.reminder_id = r.id AND e.status IN ('active', 'acknowledged')
         WHERE s.member_id = $1 AND r.status <> 'archived' AND ($2::uuid IS NULL OR r.id = $2) AND {LIVE_SHARE}
         ORDER BY s.created_at DESC, r.id
         LIMIT 500"
    ))
    .bind::<SqlUuid, _>(member)
    .bind::<Nullable<SqlUuid>, _>(only)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SharedReminderView {
            id: row.id,
            title: row.title,
            description: row.description,
            owner_name: row.owner_name,
            status: row.status,
            next_trigger_at: row.next_trigger_at,
            snoozed_until: row.snoozed_until,
            escalation_status: row.escalation_status,
            escalation_tier: row.escalation_tier,
        })
        .collect())
}

#[derive(QueryableByName)]
struct OwnerRow {
    #[diesel(sql_type = SqlUuid)]
    owner_id: UserId,
}

/// The owner of `reminder` when it is shared with `member` (and the member is still in that family).
pub async fn owner_sharing(
    conn: &mut AsyncPgConnection,
    member: UserId,
    reminder: ReminderId,
) -> QueryResult<Option<UserId>> {
    let row: Option<OwnerRow> = diesel::sql_query(format!(
        "SELECT s.owner_id FROM reminder_shares s WHERE s.member_id = $1 AND s.reminder_id = $2 AND {LIVE_SHARE}"
    ))
    .bind::<SqlUuid, _>(member)
    .bind::<SqlUuid, _>(reminder)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.owner_id))
}

/// A member of the owner's family, and whether a reminder is shared with them.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberShare {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub timezone: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub shared: bool,
}

/// The owner's active members, each with whether `reminder` is shared with them (true for every member when
/// there is no reminder, as in the profile editor's sketch): for previews and the reminder's page.
pub async fn members_with_share(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: Option<ReminderId>,
) -> QueryResult<Vec<MemberShare>> {
    diesel::sql_query(
        "SELECT u.id, u.display_name AS name, u.email, u.timezone,
                ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM reminder_shares s
                                             WHERE s.reminder_id = $2 AND s.member_id = u.id)) AS shared
         FROM family_members f JOIN users u ON u.id = f.member_id AND u.deleted_at IS NULL
         WHERE f.owner_id = $1 AND f.status = 'active'
         ORDER BY u.display_name",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Nullable<SqlUuid>, _>(reminder)
    .load(conn)
    .await
}
