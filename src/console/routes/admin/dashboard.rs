//! `/admin`: the admin API's numbers as a page. Today's figures, revenue by month over a range of months
//! (MRR and ARR, paying, new, changed and cancelled subscriptions, churn, collected) and activity over a
//! range of days (reminders, escalations, deliveries by channel and outcome, channels added), each chart with
//! its table.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::{AdminViewer, admin_page};
use crate::admin::permissions::Permission;
use crate::admin::reports::{self, ActivityQuery, ActivityStats, RevenueQuery, RevenueStats};
use crate::admin::stats;
use crate::console::chart::series::{Layout, Series, columns, money};
use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, blank_is_none};
use crate::state::AppState;

/// The ranges as the page's two forms send them: months as `YYYY-MM`, days as `YYYY-MM-DD` (UTC, both
/// included). Blank is the report's default.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ranges {
    from: String,
    to: String,
    since: String,
    until: String,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
    query: web::Query<Ranges>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewSystem)?;
    let now = state.clock.now();
    let mut errors = Errors::new();
    let asked = RevenueQuery { from: blank_is_none(&query.from), to: blank_is_none(&query.to) };
    let months = match asked.checked(now) {
        Ok(months) => months,
        Err(err) => {
            errors.extend(super::refused(err, "revenue_")?);
            RevenueQuery { from: None, to: None }.checked(now)?
        }
    };
    let activity = ActivityQuery {
        from: super::utc_day(&query.since, 0, "activity_from", &mut errors),
        to: super::utc_day(&query.until, 1, "activity_to", &mut errors),
    };
    let range = match activity.checked(now) {
        Ok(range) => range,
        Err(err) => {
            errors.extend(super::refused(err, "activity_")?);
            ActivityQuery { from: None, to: None }.checked(now)?
        }
    };
    let mut conn = state.db.get().await?;
    let today =
        stats::dashboard(&mut conn, &state.config.tier_limits, now).await.map_err(crate::http::ApiError::from)?;
    let revenue = reports::revenue(&mut conn, &state.config.tier_limits, months).await?;
    let activity = reports::activity(&mut conn, range).await?;
    drop(conn);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let context = json!({
        "today": today,
        "mrr": money(today.mrr_cents, today.currency),
        "successRate": today.delivery_success_rate.map(|rate| format!("{:.1}%", rate * 100.0)),
        "revenue": revenue_view(&revenue),
        "activity": activity_view(&activity),
        "ranges": {
            "from": months.0.format("%Y-%m").to_string(),
            "to": months.1.format("%Y-%m").to_string(),
            "since": range.0.format("%Y-%m-%d").to_string(),
            // The form names the last day included; the range ends at the next midnight.
            "until": (range.1 - chrono::Duration::seconds(1)).format("%Y-%m-%d").to_string(),
        },
        "errors": errors,
    });
    Ok(admin_page(&req, &state, &who, "dashboard", "admin_dashboard.html", status, context))
}

fn revenue_view(revenue: &RevenueStats) -> serde_json::Value {
    let currency = revenue.currency;
    let labels: Vec<(String, String)> = revenue
        .months
        .iter()
        .map(|m| {
            let first = NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d").ok();
            let short = first.map_or_else(|| m.month.clone(), |d| d.format("%b").to_string());
            let long = first.map_or_else(|| m.month.clone(), |d| d.format("%b %Y").to_string());
            (short, long)
        })
        .collect();
    let mrr = columns(
        "Monthly recurring revenue by month",
        &labels,
        &[Series { name: "MRR", class: "bar-money", values: revenue.months.iter().map(|m| m.mrr_cents).collect() }],
        Layout::Beside,
        |cents| money(cents, currency),
    );
    let movement = columns(
        "New and cancelled subscriptions by month",
        &labels,
        &[
            Series { name: "new", class: "bar-new", values: revenue.months.iter().map(|m| m.new).collect() },
            Series {
                name: "cancelled",
                class: "bar-lost",
                values: revenue.months.iter().map(|m| m.cancelled).collect(),
            },
        ],
        Layout::Beside,
        |n| n.to_string(),
    );
    let rows: Vec<_> = revenue
        .months
        .iter()
        .zip(&labels)
        .map(|(m, (_, long))| {
            json!({"month": long, "paying": m.paying, "mrr": money(m.mrr_cents, currency),
                   "arr": money(m.arr_cents, currency), "new": m.new, "changed": m.changed, "cancelled": m.cancelled,
                   "churn": m.churn_rate.map(|rate| format!("{:.1}%", rate * 100.0)),
                   "collected": money(m.collected_cents, currency)})
        })
        .collect();
    json!({"mrr": mrr, "movement": movement, "rows": rows})
}

/// Delivery statuses in the order a delivery moves through them, each with its chart colour.
const OUTCOMES: [(&str, &str); 6] = [
    ("delivered", "bar-delivered"),
    ("sent", "bar-sent"),
    ("sending", "bar-sending"),
    ("pending", "bar-pending"),
    ("failed", "bar-failed"),
    ("cancelled", "bar-cancelled"),
];

fn activity_view(activity: &ActivityStats) -> serde_json::Value {
    let mut channels: Vec<&str> = activity.deliveries.iter().map(|c| c.name.as_str()).collect();
    channels.sort_unstable();
    channels.dedup();
    let count = |channel: &str, outcome: &str| {
        activity.deliveries.iter().filter(|c| c.name == channel && c.outcome == outcome).map(|c| c.count).sum::<i64>()
    };
    // Statuses the report has that the list above does not know still count, under their own name.
    let mut outcomes: Vec<(String, String)> =
        OUTCOMES.iter().map(|(name, class)| ((*name).to_owned(), (*class).to_owned())).collect();
    for c in &activity.deliveries {
        if !outcomes.iter().any(|(name, _)| *name == c.outcome) {
            outcomes.push((c.outcome.clone(), "bar-other".to_owned()));
        }
    }
    outcomes.retain(|(name, _)| channels.iter().any(|channel| count(channel, name) > 0));
    let labels: Vec<(String, String)> = channels.iter().map(|c| ((*c).to_owned(), (*c).to_owned())).collect();
    let series: Vec<Series<'_>> = outcomes
        .iter()
        .map(|(name, class)| Series { name, class, values: channels.iter().map(|c| count(c, name)).collect() })
        .collect();
    let chart = columns("Deliveries by channel and outcome", &labels, &series, Layout::Stacked, |n| n.to_string());
    let table: Vec<_> = channels
        .iter()
        .map(|channel| {
            let counts: Vec<i64> = outcomes.iter().map(|(name, _)| count(channel, name)).collect();
            json!({"channel": channel, "counts": counts, "total": counts.iter().sum::<i64>()})
        })
        .collect();
    let escalations: i64 = activity.escalations.iter().map(|c| c.count).sum();
    let added: i64 = activity.channels_added.iter().map(|c| c.count).sum();
    json!({
        "remindersCreated": activity.reminders_created,
        "escalations": activity.escalations, "escalationsTotal": escalations,
        "channelsAdded": activity.channels_added, "channelsTotal": added,
        "deliveries": chart,
        "outcomes": outcomes.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "table": table,
        "deliveriesTotal": activity.deliveries.iter().map(|c| c.count).sum::<i64>(),
    })
}
