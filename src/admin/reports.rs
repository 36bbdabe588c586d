//! The stats the seed system's admins had, each over a range: revenue by month (MRR and ARR at list price,
//! paying subscriptions, new, changed and cancelled ones, churn, and what was collected), from the
//! subscription history billing's trigger keeps and the payments Square reported; and activity by domain
//! (reminders, escalations, deliveries by channel and outcome, channels) between two instants.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Date, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::tiers::{Tier, TierTable};
use serde::{Deserialize, Serialize};

use crate::http::{ApiError, FieldError};

/// The longest revenue report, in months, and the longest activity range, in days.
const MAX_MONTHS: u32 = 36;
const MAX_ACTIVITY_DAYS: i64 = 366;

/// `GET /v1/admin/stats/revenue`: months as `YYYY-MM`, both included; the last twelve by default.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// The first month, `YYYY-MM` (UTC).
    pub from: Option<String>,
    /// The last month, `YYYY-MM` (UTC); this month by default.
    pub to: Option<String>,
}

/// `GET /v1/admin/stats/activity`: the last 30 days by default; at most 366 days.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One month of revenue.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Subscriptions paying at the end of the month (ACTIVE or PAST_DUE on a paid tier).
    pub paying: i64,
    /// Monthly recurring revenue at the month's end, at the tier table's list prices, in cents.
    pub mrr_cents: i64,
    pub arr_cents: i64,
    /// Subscriptions that started paying in the month.
    pub new: i64,
    /// Moves between paid tiers in the month.
    pub changed: i64,
    /// Subscriptions that stopped paying in the month.
    pub cancelled: i64,
    /// Cancelled ÷ paying at the month's start; null when nobody paid then.
    pub churn_rate: Option<f64>,
    /// Payments Square reported paid in the month, in cents.
    pub collected_cents: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueStats {
    pub currency: &'static str,
    pub months: Vec<RevenueMonth>,
}

/// How many of something, by one or two names.
#[derive(Debug, Serialize, utoipa::ToSchema, diesel::QueryableByName)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityStats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Reminders created in the range (archived ones included).
    pub reminders_created: i64,
    /// Escalation episodes that fired in the range, by their status now (`name` is empty).
    pub escalations: Vec<Count>,
    /// Deliveries created in the range, by channel (`name`) and status now (`outcome`).
    pub deliveries: Vec<Count>,
    /// Channels added in the range, by kind (`name`; `outcome` is empty).
    pub channels_added: Vec<Count>,
}

fn month_of(text: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok().filter(|d| d.year() >= 2000);
    if parsed.is_none() {
        errors.push(FieldError::new(field, "must be a month as YYYY-MM, from 2000 on"));
    }
    parsed
}

impl RevenueQuery {
    /// The first days of the first and the last month asked for.
    pub fn checked(&self, now: DateTime<Utc>) -> Result<(NaiveDate, NaiveDate), ApiError> {
        let mut errors = Vec::new();
        let this_month = now.date_naive().with_day(1).unwrap_or(now.date_naive());
        let to = match &self.to {
            Some(text) => month_of(text, "to", &mut errors),
            None => Some(this_month),
        };
        let from = match &self.from {
            Some(text) => month_of(text, "from", &mut errors),
            None => to.and_then(|to| to.checked_sub_months(Months::new(11))),
        };
        if let (Some(from), Some(to)) = (from, to) {
            let span = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
            if span < 0 {
                errors.push(FieldError::new("to", "must not be before from"));
            } else if span >= MAX_MONTHS as i32 {
                errors.push(FieldError::new("to", format!("at most {MAX_MONTHS} months at once")));
            }
            if errors.is_empty() {
                return Ok((from, to));
            }
        }
        Err(ApiError::validation(errors))
    }
}

impl ActivityQuery {
    pub fn checked(&self, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or(to - chrono::Duration::days(30));
        let error = if from >= to {
            Some("must be after from".to_owned())
        } else if to - from > chrono::Duration::days(MAX_ACTIVITY_DAYS) {
            Some(format!("at most {MAX_ACTIVITY_DAYS} days after from"))
        } else {
            None
        };
        match error {
            Some(message) => Err(ApiError::validation(vec![FieldError::new("to", message)])),
            None => Ok((from, to)),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct MonthRow {
    #[diesel(sql_type = Date)]
    month: NaiveDate,
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = Text)]
    tier: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Per month: who pays at its end (by tier), at its start, the events in it, and what was collected; one
/// statement. A subscription pays at an instant when its last event before then is not a cancellation.
const REVENUE: &str = "
    WITH months AS (SELECT m::date AS month FROM generate_series($1::date, $2::date, interval '1 month') AS m),
    paying_at AS (
        SELECT months.month, edge, last.tier
        FROM months CROSS JOIN (VALUES ('end'), ('start')) AS e(edge)
        CROSS JOIN LATERAL (
            SELECT DISTINCT ON (user_id) kind, tier FROM subscription_events
            WHERE at < CASE WHEN edge = 'end' THEN months.month + interval '1 month' ELSE months.month END
            ORDER BY user_id, at DESC, id
        ) AS last
        WHERE last.kind <> 'cancelled'
    )
    SELECT month, 'paying_' || edge AS what, tier, count(*) AS n FROM paying_at GROUP BY 1, 2, 3
    UNION ALL
    SELECT date_trunc('month', at)::date, kind, '', count(*) FROM subscription_events
    WHERE at >= $1 AND at < $2::date + interval '1 month' GROUP BY 1, 2
    UNION ALL
    SELECT date_trunc('month', paid_at)::date, 'collected', '', sum(amount_cents)::bigint FROM payment_history
    WHERE status = 'PAID' AND paid_at >= $1 AND paid_at < $2::date + interval '1 month' GROUP BY 1";

pub async fn revenue(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<RevenueStats, ApiError> {
    let rows: Vec<MonthRow> = diesel::sql_query(REVENUE).bind::<Date, _>(from).bind::<Date, _>(to).load(conn).await?;
    let price = |tier: &str| Tier::parse(tier).map_or(0, |t| i64::from(tiers.get(t).price_cents));
    let mut months = Vec::new();
    let mut month = from;
    while month <= to {
        let of = |what: &'static str| rows.iter().filter(move |r| r.month == month && r.what == what);
        let sum = |what: &'static str| of(what).map(|r| r.n).sum::<i64>();
        let mrr_cents: i64 = of("paying_end").map(|r| r.n * price(&r.tier)).sum();
        let (cancelled, paying_at_start) = (sum("cancelled"), sum("paying_start"));
        months.push(RevenueMonth {
            month: month.format("%Y-%m").to_string(),
            paying: sum("paying_end"),
            mrr_cents,
            arr_cents: mrr_cents * 12,
            new: sum("started"),
            changed: sum("changed"),
            cancelled,
            churn_rate: (paying_at_start > 0).then(|| cancelled as f64 / paying_at_start as f64),
            collected_cents: sum("collected"),
        });
        let Some(next) = month.checked_add_months(Months::new(1)) else { break };
        month = next;
    }
    Ok(RevenueStats { currency: "USD", months })
}

pub async fn activity(
    conn: &mut AsyncPgConnection,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<ActivityStats, ApiError> {
    let counts = async |conn: &mut AsyncPgConnection, sql: &str| -> Result<Vec<Count>, ApiError> {
        Ok(diesel::sql_query(sql).bind::<Timestamptz, _>(from).bind::<Timestamptz, _>(to).load(conn).await?)
    };
    let reminders = counts(
        conn,
        "SELECT '' AS name, '' AS outcome, count(*) AS count FROM reminders WHERE created_at >= $1 AND created_at < $2",
    )
    .await?;
    let escalations = counts(
        conn,
        "SELECT '' AS name, status AS outcome, count(*) AS count FROM escalations
         WHERE fired_at >= $1 AND fired_at < $2 GROUP BY 2 ORDER BY 2",
    )
    .await?;
    let deliveries = counts(
        conn,
        "SELECT channel AS name, status AS outcome, count(*) AS count FROM deliveries
         WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await?;
    let channels_added = counts(
        conn,
        "SELECT agent_type AS name, '' AS outcome, count(*) AS count FROM user_agent_subscriptions
         WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1",
    )
    .await?;
    Ok(ActivityStats {
        from,
        to,
        reminders_created: reminders.iter().map(|c| c.count).sum(),
        escalations,
        deliveries,
        channels_added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn months_default_to_the_last_twelve_and_are_bounded() {
        let now = at("2026-12-07T10:00:00Z");
        let query = |from: Option<&str>, to: Option<&str>| RevenueQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        };
        let day = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(query(None, None).checked(now).unwrap(), (day(2026, 1), day(2026, 12)));
        assert_eq!(query(Some("2025-02"), Some("2025-02")).checked(now).unwrap(), (day(2025, 2), day(2025, 2)));
        assert!(query(Some("2026-05"), Some("2026-04")).checked(now).is_err(), "to before from");
        assert!(query(Some("2020-01"), Some("2026-12")).checked(now).is_err(), "more than 36 months");
        for bad in ["2026-13", "2026", "26-01", "1999-12", "2026-01-05", ""] {
            assert!(query(Some(bad), None).checked(now).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_activity_range_is_ordered_and_at_most_a_year() {
        let now = at("2026-12-07T10:00:00Z");
        let (from, to) = ActivityQuery { from: None, to: None }.checked(now).unwrap();
        assert_eq!((to - from).num_days(), 30);
        let query = |from: &str, to: &str| ActivityQuery { from: Some(at(from)), to: Some(at(to)) }.checked(now);
        assert!(query("2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z").is_err());
        assert!(query("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z").is_err());
        assert!(query("2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z").is_ok());
    }
}
