//! Admin queries: roles, user search and detail, support notes, and the writes to a user's
//! `subscriptions` row. Those writes (delivery state, tier override) live only here so the billing module's
//! functions can take their place in one edit.

use chrono::{DateTime, Utc};
use diesel::helper_types::{IntoBoxed, LeftJoin};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use reminder_core::status::ReminderStatus;
use reminder_core::tiers::Tier;
use uuid::Uuid;

use super::model::{AdminEntry, DeliveryState, SubscriptionControls, SupportNote, UserSummary, UserUsage};
use super::permissions::Role;
use crate::db::schema::{
    admin_users, deliveries, reminders, subscriptions, support_notes, user_agent_subscriptions, users,
};
use crate::http::pagination::Page;

/// The caller's admin record and role, if they are an admin.
pub async fn admin_role(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<Option<(Uuid, Role)>> {
    let row: Option<(Uuid, String)> = admin_users::table
        .filter(admin_users::user_id.eq(user_id).and(admin_users::revoked_at.is_null()))
        .select((admin_users::id, admin_users::role))
        .first(conn)
        .await
        .optional()?;
    // The column's CHECK allows only the four roles; anything else is treated as no role at all.
    Ok(row.and_then(|(id, role)| Role::parse(&role).map(|role| (id, role))))
}

type UsersWithSubscription<'a> = IntoBoxed<'a, LeftJoin<users::table, subscriptions::table>, Pg>;

/// Users whose email contains `q` (any case); all users without `q`.
fn users_matching(q: Option<&str>) -> UsersWithSubscription<'static> {
    let query = users::table.left_join(subscriptions::table).into_boxed();
    match q {
        Some(q) => query.filter(users::email.ilike(format!("%{}%", escape_like(q)))),
        None => query,
    }
}

/// `%`, `_` and `\` match themselves in a search, not as wildcards.
fn escape_like(text: &str) -> String {
    text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

type SummaryRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// One page of search results, newest accounts first, and the number of matches.
pub async fn search_users(
    conn: &mut AsyncPgConnection,
    q: Option<&str>,
    page: Page,
) -> QueryResult<(Vec<UserSummary>, i64)> {
    let total: i64 = users_matching(q).count().get_result(conn).await?;
    let rows: Vec<SummaryRow> = users_matching(q)
        .order((users::created_at.desc(), users::id))
        .limit(page.limit())
        .offset(page.offset())
        .select((
            users::id,
            users::email,
            users::display_name,
            subscriptions::tier.nullable(),
            subscriptions::tier_override.nullable(),
            subscriptions::status.nullable(),
            subscriptions::delivery_state.nullable(),
            users::created_at,
            users::deleted_at,
        ))
        .load(conn)
        .await?;
    let summaries = rows
        .into_iter()
        .map(|(id, email, display_name, tier, over, status, delivery, created_at, deleted_at)| UserSummary {
            id,
            email,
            display_name,
            tier: effective_tier(tier.as_deref(), over.as_deref()),
            subscription_status: status.unwrap_or_else(|| "ACTIVE".to_owned()),
            delivery_state: delivery.unwrap_or_else(|| DeliveryState::Active.as_str().to_owned()),
            created_at,
            deleted_at,
        })
        .collect();
    Ok((summaries, total))
}

/// The override when there is one, else the paid tier; FREE for an account without a subscription row.
fn effective_tier(tier: Option<&str>, over: Option<&str>) -> String {
    over.or(tier).unwrap_or(Tier::Free.as_str()).to_owned()
}

/// The user's account fields: (email, display name, timezone, created, deleted).
pub type AccountRow = (String, String, String, DateTime<Utc>, Option<DateTime<Utc>>);

pub async fn account(conn: &mut AsyncPgConnection, user_id: UserId) -> QueryResult<Option<AccountRow>> {
    users::table
        .find(user_id)
        .select((users::email, users::display_name, users::timezone, users::created_at, users::deleted_at))
        .first(conn)
        .await
        .optional()
}

/// How much the user uses the service: live reminders, channel subscriptions, deliveries since `since`.
pub async fn usage(conn: &mut AsyncPgConnection, user_id: UserId, since: DateTime<Utc>) -> QueryResult<UserUsage> {
    let live_reminders = reminders::table
        .filter(reminders::user_id.eq(user_id))
        .filter(reminders::status.eq_any(ReminderStatus::LIVE))
        .count()
        .get_result(conn)
        .await?;
    let channel_subscriptions = user_agent_subscriptions::table
        .filter(user_agent_subscriptions::user_id.eq(user_id))
        .count()
        .get_result(conn)
        .await?;
    let deliveries_last_24h = deliveries::table
        .filter(deliveries::user_id.eq(user_id))
        .filter(deliveries::created_at.ge(since))
        .count()
        .get_result(conn)
        .await?;
    Ok(UserUsage { live_reminders, channel_subscriptions, deliveries_last_24h })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
struct ControlsRow {
    tier: String,
    tier_override: Option<String>,
    status: String,
    delivery_state: String,
    delivery_state_reason: Option<String>,
    usage_suspended_until: Option<DateTime<Utc>>,
    current_period_end: Option<DateTime<Utc>>,
    cancel_at_period_end: bool,
}

impl From<ControlsRow> for SubscriptionControls {
    fn from(row: ControlsRow) -> Self {
        SubscriptionControls {
            effective_tier: effective_tier(Some(&row.tier), row.tier_override.as_deref()),
            tier: row.tier,
            tier_override: row.tier_override,
            status: row.status,
            delivery_state: row.delivery_state,
            delivery_state_reason: row.delivery_state_reason,
            usage_suspended_until: row.usage_suspended_until,
            current_period_end: row.current_period_end,
            cancel_at_period_end: row.cancel_at_period_end,
        }
    }
}

/// The user's subscription; a user without a row reads as `default_tier`, active, delivering.
pub async fn controls(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    default_tier: Tier,
) -> QueryResult<SubscriptionControls> {
    let row: Option<ControlsRow> = subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .select(ControlsRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into).unwrap_or_else(|| SubscriptionControls {
        tier: default_tier.as_str().to_owned(),
        tier_override: None,
        effective_tier: default_tier.as_str().to_owned(),
        status: "ACTIVE".to_owned(),
        delivery_state: DeliveryState::Active.as_str().to_owned(),
        delivery_state_reason: None,
        usage_suspended_until: None,
        current_period_end: None,
        cancel_at_period_end: false,
    }))
}

/// The user's subscription row, created with `default_tier` when missing, locked until the transaction ends.
pub async fn lock_controls(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    default_tier: Tier,
) -> QueryResult<SubscriptionControls> {
    diesel::insert_into(subscriptions::table)
        .values((subscriptions::user_id.eq(user_id), subscriptions::tier.eq(default_tier.as_str())))
        .on_conflict(subscriptions::user_id)
        .do_nothing()
        .execute(conn)
        .await?;
    let row: ControlsRow = subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .select(ControlsRow::as_select())
        .for_update()
        .first(conn)
        .await?;
    Ok(row.into())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = support_notes)]
struct NoteRow {
    id: Uuid,
    user_id: UserId,
    admin_user_id: Uuid,
    body: String,
    pinned: bool,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

impl From<NoteRow> for SupportNote {
    fn from(row: NoteRow) -> Self {
        SupportNote {
            id: row.id,
            user_id: row.user_id,
            admin_id: row.admin_user_id,
            body: row.body,
            pinned: row.pinned,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn add_note(
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    admin_id: Uuid,
    body: &str,
) -> QueryResult<SupportNote> {
    diesel::insert_into(support_notes::table)
        .values((
            support_notes::user_id.eq(user_id),
            support_notes::admin_user_id.eq(admin_id),
            support_notes::body.eq(body),
        ))
        .returning(NoteRow::as_returning())
        .get_result(conn)
        .await
        .map(Into::into)
}

/// The user's note `id`, locked until the transaction ends.
pub async fn lock_note(conn: &mut AsyncPgConnection, user_id: UserId, id: Uuid) -> QueryResult<Option<SupportNote>> {
    support_notes::table
        .filter(support_notes::id.eq(id).and(support_notes::user_id.eq(user_id)))
        .select(NoteRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
        .map(|row| row.map(Into::into))
}

/// Writes a note's new text and pin (the caller has locked and checked it).
pub async fn update_note(
    conn: &mut AsyncPgConnection,
    note: &SupportNote,
    now: DateTime<Utc>,
) -> QueryResult<SupportNote> {
    diesel::update(support_notes::table.find(note.id))
        .set((
            support_notes::body.eq(&note.body),
            support_notes::pinned.eq(note.pinned),
            support_notes::updated_at.eq(now),
        ))
        .returning(NoteRow::as_returning())
        .get_result(conn)
        .await
        .map(Into::into)
}

pub async fn delete_note(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(support_notes::table.find(id)).execute(conn).await
}

/// The user's notes, pinned first, then newest first, and how many there are.
pub async fn notes(conn: &mut AsyncPgConnection, user_id: UserId, page: Page) -> QueryResult<(Vec<SupportNote>, i64)> {
    let of_user = support_notes::user_id.eq(user_id);
    let total = support_notes::table.filter(of_user).count().get_result(conn).await?;
    let rows: Vec<NoteRow> = support_notes::table
        .filter(of_user)
        .order((support_notes::pinned.desc(), support_notes::created_at.desc(), support_notes::id))
        .limit(page.limit())
        .offset(page.offset())
        .select(NoteRow::as_select())
        .load(conn)
        .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Every admin whose role is not revoked, SUPER_ADMIN first, then by email.
pub async fn admins(conn: &mut AsyncPgConnection) -> QueryResult<Vec<AdminEntry>> {
    let rows: Vec<(UserId, Uuid, String, String, String, DateTime<Utc>)> = admin_users::table
        .inner_join(users::table)
        .filter(admin_users::revoked_at.is_null())
        .order((admin_users::role.ne("SUPER_ADMIN"), users::email))
        .select((
            admin_users::user_id,
            admin_users::id,
            users::email,
            users::display_name,
            admin_users::role,
            admin_users::updated_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(user_id, admin_id, email, display_name, role, updated_at)| {
            Some(AdminEntry { user_id, admin_id, email, display_name, role: Role::parse(&role)?, updated_at })
        })
        .collect())
}

/// Locks every admin row (in id order) and answers the users who are SUPER_ADMIN now. Every role change
/// takes this lock first, so two admins demoting each other at once cannot leave none: the second waits,
/// then sees the first's change.
pub async fn lock_super_admins(conn: &mut AsyncPgConnection) -> QueryResult<Vec<UserId>> {
    let rows: Vec<(UserId, String, Option<DateTime<Utc>>)> = admin_users::table
        .order(admin_users::id)
        .select((admin_users::user_id, admin_users::role, admin_users::revoked_at))
        .for_update()
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, role, revoked)| role == Role::SuperAdmin.as_str() && revoked.is_none())
        .map(|(user, _, _)| user)
        .collect())
}

/// Gives `user` the admin role `role` (making the row, or bringing a revoked one back).
pub async fn grant_role(conn: &mut AsyncPgConnection, user: UserId, role: Role) -> QueryResult<usize> {
    diesel::insert_into(admin_users::table)
        .values((admin_users::user_id.eq(user), admin_users::role.eq(role.as_str())))
        .on_conflict(admin_users::user_id)
        .do_update()
        .set((admin_users::role.eq(role.as_str()), admin_users::revoked_at.eq(None::<DateTime<Utc>>)))
        .execute(conn)
        .await
}

/// Ends `user`'s admin role; the row stays so the log and notes still name who acted. False when they had none.
pub async fn revoke_role(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(admin_users::table.filter(admin_users::user_id.eq(user).and(admin_users::revoked_at.is_null())))
        .set(admin_users::revoked_at.eq(now))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("ada@example.com"), "ada@example.com");
    }

    #[test]
    fn the_override_wins_and_no_row_means_free() {
        assert_eq!(effective_tier(Some("PERSONAL"), Some("PRO")), "PRO");
        assert_eq!(effective_tier(Some("PERSONAL"), None), "PERSONAL");
        assert_eq!(effective_tier(None, None), "FREE");
    }
}
