//! Revenue by month from the subscription history billing's trigger keeps (real updates of `subscriptions`,
//! moved into past months) and the payments recorded; activity between two instants.

use escalating_reminders::admin::reports::RevenueMonth;
use reminder_core::tiers::Tier;
use serde_json::Value;

use super::{admin, customer};
use crate::common::TestApp;
use crate::engine::seed::Seed;
use crate::fixtures::{exec, scalar};

/// Runs `change` on `user`'s subscription row, then dates the event it recorded at `at`.
async fn change_on(app: &TestApp, user: &str, change: &str, at: &str) {
    exec(app, &format!("UPDATE subscriptions SET {change} WHERE user_id = '{user}'")).await;
    exec(
        app,
        &format!(
            "UPDATE subscription_events SET at = '{at}' WHERE id = \
             (SELECT id FROM subscription_events WHERE user_id = '{user}' ORDER BY at DESC, id LIMIT 1) \
             AND at > now() - interval '1 minute'"
        ),
    )
    .await;
}

fn month(body: &Value, name: &str) -> Value {
    body["months"].as_array().unwrap().iter().find(|m| m["month"] == name).cloned().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn revenue_by_month_follows_the_subscription_history_and_the_payments() {
    let app = TestApp::spawn().await;
    let support = admin(&app, "support@example.com", "READONLY").await;
    let (_, a) = customer(&app, "a@example.com").await;
    let (_, b) = customer(&app, "b@example.com").await;
    let (_, c) = customer(&app, "c@example.com").await;
    change_on(&app, &a, "tier = 'PRO', status = 'ACTIVE'", "2026-09-15T10:00:00Z").await;
    change_on(&app, &b, "tier = 'PERSONAL', status = 'ACTIVE'", "2026-09-20T10:00:00Z").await;
    change_on(&app, &b, "tier = 'PRO'", "2026-10-05T10:00:00Z").await;
    change_on(&app, &a, "status = 'CANCELED'", "2026-11-10T10:00:00Z").await;
    change_on(&app, &c, "tier = 'PERSONAL', status = 'ACTIVE'", "2026-11-02T10:00:00Z").await;
    // Neither a failed payment (PAST_DUE: at risk, still paying) nor an admin's grant is a revenue event.
    exec(&app, &format!("UPDATE subscriptions SET status = 'PAST_DUE' WHERE user_id = '{c}'")).await;
    exec(&app, &format!("UPDATE subscriptions SET status = 'ACTIVE' WHERE user_id = '{c}'")).await;
    exec(&app, &format!("UPDATE subscriptions SET tier_override = 'FAMILY' WHERE user_id = '{a}'")).await;
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM subscription_events").await, "5");
    exec(
        &app,
        &format!(
            "INSERT INTO payment_history (user_id, amount_cents, currency, status, paid_at) VALUES \
             ('{b}', 1500, 'USD', 'PAID', '2026-10-01T12:00:00Z'), ('{b}', 999, 'USD', 'FAILED', '2026-10-02T12:00:00Z'), \
             ('{c}', 900, 'USD', 'PAID', '2026-11-03T12:00:00Z')"
        ),
    )
    .await;

    let reply = app.get("/v1/admin/stats/revenue?from=2026-08&to=2026-11", Some(&support.token)).await;
    let body = reply.data(200).clone();
    assert_eq!(body["months"].as_array().unwrap().len(), 4);
    let price = |tier| i64::from(app.state.config.tier_limits.get(tier).price_cents);
    let (pro, personal) = (price(Tier::Pro), price(Tier::Personal));
    let expect = |name: &str, paying, mrr: i64, new, changed, cancelled, churn: Option<f64>, collected| {
        let got: RevenueMonth = serde_json::from_value(month(&body, name)).expect("a month");
        assert_eq!(
            (
                got.paying,
                got.mrr_cents,
                got.arr_cents,
                got.new,
                got.changed,
                got.cancelled,
                got.churn_rate,
                got.collected_cents
            ),
            (paying, mrr, mrr * 12, new, changed, cancelled, churn, collected),
            "{name}: {body}"
        );
    };
    expect("2026-08", 0, 0, 0, 0, 0, None, 0);
    expect("2026-09", 2, pro + personal, 2, 0, 0, None, 0);
    expect("2026-10", 2, 2 * pro, 0, 1, 0, Some(0.0), 1500);
    expect("2026-11", 2, pro + personal, 1, 0, 1, Some(0.5), 900);

    for bad in ["?from=2026-13", "?to=2026-02&from=2026-05", "?from=2020-01&to=2026-01", "?from=26-1"] {
        app.get(&format!("/v1/admin/stats/revenue{bad}"), Some(&support.token))
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_counts_what_happened_in_the_range() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook("http://127.0.0.1:9/hook").await;
    seed.many_due_at(3, app.state.clock.now() + chrono::Duration::days(1), hook.id).await;
    let reminder = scalar(&app, "SELECT id::text AS value FROM reminders LIMIT 1").await;
    let episode = crate::fixtures::acknowledged_episode(&app, &reminder, &seed.user.to_string()).await;
    let delivery = |channel: &str, status: &str, at: &str| {
        format!(
            "('{episode}', '{reminder}', '{}', 1, 0, 'subscription', gen_random_uuid(), '{channel}', '{status}', {at})",
            seed.user
        )
    };
    let rows = [
        delivery("email", "sent", "now()"),
        delivery("email", "sent", "now()"),
        delivery("sms", "failed", "now()"),
        delivery("email", "sent", "now() - interval '40 days'"),
    ];
    crate::fixtures::insert_deliveries(&app, &rows).await;

    let stats = app.get("/v1/admin/stats/activity", Some(&root.token)).await.data(200).clone();
    assert_eq!(stats["remindersCreated"], 3);
    assert_eq!(stats["escalations"], serde_json::json!([{"name": "", "outcome": "acknowledged", "count": 1}]));
    let deliveries: Vec<(String, String, i64)> = stats["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (d["name"].as_str().unwrap().into(), d["outcome"].as_str().unwrap().into(), d["count"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        deliveries,
        [("email".into(), "sent".into(), 2), ("sms".into(), "failed".into(), 1)],
        "the 40-day-old one is out of range"
    );
    assert_eq!(stats["channelsAdded"][0]["name"], "webhook");

    let long_ago = "?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z";
    let empty = app.get(&format!("/v1/admin/stats/activity{long_ago}"), Some(&root.token)).await.data(200).clone();
    assert_eq!((empty["remindersCreated"].as_i64(), empty["deliveries"].as_array().map(Vec::len)), (Some(0), Some(0)));
    let backwards = "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z";
    app.get(&format!("/v1/admin/stats/activity{backwards}"), Some(&root.token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
}
