//! Subscription, payment and usage queries. Every function takes the user id it acts for.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use reminder_core::tiers::Tier;

use super::model::{Invoice, SubscriptionRow};
use crate::db::schema::{
    payment_history, reminders, subscriptions, trusted_contacts, usage_windows, user_agent_subscriptions, users,
    watchers,
};
use crate::http::pagination::Page;

pub async fn find(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the user's subscription row (creating a FREE one for an account that has none) until the
/// transaction ends. Quota checks hold it from count to insert, so two concurrent creates queue up here
/// and the second counts the first one's row.
pub async fn lock(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<SubscriptionRow> {
    diesel::insert_into(subscriptions::table)
        .values(subscriptions::user_id.eq(user))
        .on_conflict(subscriptions::user_id)
        .do_nothing()
        .execute(conn)
        .await?;
    subscriptions::table
        .filter(subscriptions::user_id.eq(user))
        .select(SubscriptionRow::as_select())
        .for_update()
        .first(conn)
        .await
}

/// The subscription row that belongs to a Square subscription id.
pub async fn find_by_square_id(conn: &mut AsyncPgConnection, square_id: &str) -> QueryResult<Option<UserId>> {
    subscriptions::table
        .filter(subscriptions::square_subscription_id.eq(square_id))
        .select(subscriptions::user_id)
        .first(conn)
        .await
        .optional()
}

/// Whether a live (not deleted) user has this id.
pub async fn user_exists(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.find(user).filter(users::deleted_at.is_null())))
        .get_result(conn)
        .await
}

/// Changes from Square, applied as one update.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = subscriptions)]
pub struct SquareChanges {
    pub tier: Option<String>,
    pub status: Option<String>,
    pub square_subscription_id: Option<Option<String>>,
    pub square_customer_id: Option<Option<String>>,
    pub current_period_end: Option<Option<DateTime<Utc>>>,
    pub cancel_at_period_end: Option<bool>,
}

pub async fn apply_square(conn: &mut AsyncPgConnection, user: UserId, changes: &SquareChanges) -> QueryResult<usize> {
    diesel::update(subscriptions::table.filter(subscriptions::user_id.eq(user))).set(changes).execute(conn).await
}

pub async fn set_tier_override(conn: &mut AsyncPgConnection, user: UserId, tier: Option<Tier>) -> QueryResult<usize> {
    diesel::update(subscriptions::table.filter(subscriptions::user_id.eq(user)))
        .set(subscriptions::tier_override.eq(tier.map(Tier::as_str)))
        .execute(conn)
        .await
}

pub async fn set_delivery_state(
    conn: &mut AsyncPgConnection,
    user: UserId,
    state: &str,
    reason: Option<&str>,
    until: Option<DateTime<Utc>>,
) -> QueryResult<usize> {
    diesel::update(subscriptions::table.filter(subscriptions::user_id.eq(user)))
        .set((
            subscriptions::delivery_state.eq(state),
            subscriptions::delivery_state_reason.eq(reason),
            subscriptions::usage_suspended_until.eq(until),
        ))
        .execute(conn)
        .await
}

pub async fn invoices(conn: &mut AsyncPgConnection, user: UserId, page: Page) -> QueryResult<(Vec<Invoice>, i64)> {
    let total = payment_history::table.filter(payment_history::user_id.eq(user)).count().get_result(conn).await?;
    let rows = payment_history::table
        .filter(payment_history::user_id.eq(user))
        .order((payment_history::created_at.desc(), payment_history::id.desc()))
        .select(Invoice::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// One payment as Square reported it; a repeat of the same payment id updates its status.
pub struct NewPayment<'a> {
    pub user: UserId,
    pub invoice_id: Option<&'a str>,
    pub payment_id: Option<&'a str>,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub status: &'a str,
    pub description: Option<&'a str>,
    pub paid_at: Option<DateTime<Utc>>,
}

pub async fn record_payment(conn: &mut AsyncPgConnection, p: &NewPayment<'_>) -> QueryResult<usize> {
    let values = (
        payment_history::user_id.eq(p.user),
        payment_history::square_invoice_id.eq(p.invoice_id),
        payment_history::square_payment_id.eq(p.payment_id),
        payment_history::amount_cents.eq(p.amount_cents),
        payment_history::currency.eq(p.currency),
        payment_history::status.eq(p.status),
        payment_history::description.eq(p.description),
        payment_history::paid_at.eq(p.paid_at),
    );
    diesel::insert_into(payment_history::table)
        .values(values)
        .on_conflict(payment_history::square_payment_id)
        .do_update()
        .set((payment_history::status.eq(p.status), payment_history::paid_at.eq(p.paid_at)))
        .execute(conn)
        .await
}

/// Updates the status of a known payment (payment.updated); unknown payments are left alone.
pub async fn update_payment(conn: &mut AsyncPgConnection, payment_id: &str, status: &str) -> QueryResult<usize> {
    diesel::update(payment_history::table.filter(payment_history::square_payment_id.eq(payment_id)))
        .set(payment_history::status.eq(status))
        .execute(conn)
        .await
}

/// The first day of `at`'s calendar month (UTC): the SMS budget's period.
pub fn month_start(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive().with_day(1).unwrap_or(at.date_naive())
}

pub async fn count_reminders(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    reminders::table
        .filter(reminders::user_id.eq(user))
        .filter(reminders::status.eq_any(reminder_core::status::ReminderStatus::LIVE))
        .count()
        .get_result(conn)
        .await
}

pub async fn count_channels(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    user_agent_subscriptions::table.filter(user_agent_subscriptions::user_id.eq(user)).count().get_result(conn).await
}

/// Contacts that hold a slot: invited or accepted (declined and opted-out ones free theirs).
pub async fn count_calendars(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    crate::db::schema::calendars::table
        .filter(crate::db::schema::calendars::user_id.eq(user))
        .count()
        .get_result(conn)
        .await
}

pub async fn count_contacts(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    trusted_contacts::table
        .filter(trusted_contacts::user_id.eq(user))
        .filter(trusted_contacts::consent_status.eq_any(["pending", "accepted"]))
        .count()
        .get_result(conn)
        .await
}

/// IMAP mailbox watchers (email watchers on the inbound address are not limited by tier).
pub async fn count_mailbox_watchers(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    watchers::table.filter(watchers::user_id.eq(user)).filter(watchers::kind.eq("imap")).count().get_result(conn).await
}

pub async fn sms_used(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> QueryResult<i64> {
    let used: Option<i32> = usage_windows::table
        .filter(usage_windows::user_id.eq(user))
        .filter(usage_windows::metric.eq("sms"))
        .filter(usage_windows::period_start.eq(month_start(now)))
        .select(usage_windows::used)
        .first(conn)
        .await
        .optional()?;
    Ok(used.map_or(0, i64::from))
}
