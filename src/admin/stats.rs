//! The dashboard numbers. Each is one aggregate query; the backlog is the same reading the scheduler's
//! gauges use, so the dashboard and `/metrics` cannot disagree.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::status::{DeliveryStatus, ReminderStatus};
use reminder_core::tiers::{Tier, TierTable};

use super::model::{DashboardStats, StatusCounts, TierCounts};
use crate::db::schema::{deliveries, reminders, subscriptions};

/// Deliveries created since `since`, by their status now.
pub async fn deliveries_by_status(conn: &mut AsyncPgConnection, since: DateTime<Utc>) -> QueryResult<StatusCounts> {
    let rows: Vec<(DeliveryStatus, i64)> = deliveries::table
        .filter(deliveries::created_at.ge(since))
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        let slot = match status {
            DeliveryStatus::Pending => &mut counts.pending,
            DeliveryStatus::Sending => &mut counts.sending,
            DeliveryStatus::Sent => &mut counts.sent,
            DeliveryStatus::Delivered => &mut counts.delivered,
            DeliveryStatus::Failed => &mut counts.failed,
            DeliveryStatus::Cancelled => &mut counts.cancelled,
        };
        *slot = n;
    }
    Ok(counts)
}

/// (sent + delivered) over everything that finished either way; cancelled deliveries were never attempted.
pub fn success_rate(counts: &StatusCounts) -> Option<f64> {
    let succeeded = counts.sent + counts.delivered;
    let finished = succeeded + counts.failed;
    (finished > 0).then(|| succeeded as f64 / finished as f64)
}

#[derive(diesel::QueryableByName)]
struct TierCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tier: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn users_by_tier(conn: &mut AsyncPgConnection) -> QueryResult<TierCounts> {
    // The tier in force, as the auth extractor computes it: the override, else the paid tier, else FREE.
    let rows: Vec<TierCount> = diesel::sql_query(
        "SELECT COALESCE(s.tier_override, s.tier, 'FREE') AS tier, count(*) AS n
         FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id
         WHERE u.deleted_at IS NULL GROUP BY 1",
    )
    .load(conn)
    .await?;
    let mut counts = TierCounts::default();
    for TierCount { tier, n } in rows {
        let Some(tier) = Tier::parse(&tier) else { continue };
        *match tier {
            Tier::Free => &mut counts.free,
            Tier::Personal => &mut counts.personal,
            Tier::Pro => &mut counts.pro,
            Tier::Family => &mut counts.family,
        } = n;
    }
    Ok(counts)
}

/// Revenue counts the tier paid for, not an admin's override (a grant brings in nothing).
async fn mrr_cents(conn: &mut AsyncPgConnection, tiers: &TierTable) -> QueryResult<i64> {
    let rows: Vec<(String, i64)> = subscriptions::table
        .filter(subscriptions::status.eq("ACTIVE"))
        .group_by(subscriptions::tier)
        .select((subscriptions::tier, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(tier, n)| Tier::parse(&tier).map(|t| i64::from(tiers.get(t).price_cents) * n))
        .sum())
}

/// Every dashboard number as of `now`, revenue at the tier table's list prices.
pub async fn dashboard(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    now: DateTime<Utc>,
) -> anyhow::Result<DashboardStats> {
    let users_by_tier = users_by_tier(conn).await?;
    let active_reminders =
        reminders::table.filter(reminders::status.eq_any(ReminderStatus::LIVE)).count().get_result(conn).await?;
    let deliveries_last_24h = deliveries_by_status(conn, now - Duration::hours(24)).await?;
    let backlog = crate::escalation::engine::backlog(conn, now).await?;
    Ok(DashboardStats {
        users_by_tier,
        active_reminders,
        delivery_success_rate: success_rate(&deliveries_last_24h),
        deliveries_last_24h,
        queue_depth: backlog.queue_depth,
        scheduler_lag_seconds: backlog.lag_seconds(now),
        mrr_cents: mrr_cents(conn, tiers).await?,
        currency: "USD",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rate_ignores_pending_and_cancelled() {
        let counts = StatusCounts { pending: 9, sent: 2, delivered: 1, failed: 1, cancelled: 5, ..Default::default() };
        assert_eq!(success_rate(&counts), Some(0.75));
        assert_eq!(success_rate(&StatusCounts { pending: 3, ..Default::default() }), None);
    }
}
