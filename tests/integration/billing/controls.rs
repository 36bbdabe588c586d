//! Delivery controls through the real engine (scheduler and worker in-process, movable clock): disabled
//! accounts get nothing, usage-suspended ones their window's allowance (counted when a delivery is sent, not
//! when it is created), and SMS past the monthly budget go by email.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use diesel_async::AsyncPgConnection;
use escalating_reminders::billing::controls::Settings;
use escalating_reminders::escalation::engine::deliveries;
use reminder_core::tiers::TierTable;
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::engine::eventually;
use crate::engine::quiet_hours::local_time;
use crate::engine::seed::{Seed, count};
use crate::fixtures::{exec, scalar, user, user_id};

async fn sink() -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&sink).await;
    sink
}

/// Tier deliveries the sink received (lifecycle events such as `reminder.expired` are not what a control
/// limits: each follows a tier delivery that was let through).
async fn received(sink: &MockServer) -> usize {
    let requests = sink.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| crate::engine::is_tier_delivery(r)).count()
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_disabled_account_gets_nothing_and_every_delivery_is_recorded() {
    let sink = sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    exec(
        &app,
        &format!("UPDATE subscriptions SET delivery_state = 'DELIVERY_DISABLED' WHERE user_id = '{}'", seed.user),
    )
    .await;
    seed.many_due_at(5, app.state.clock.now(), hook.id).await;

    let mut conn = app.db.connect().await;
    eventually(Duration::from_secs(15), "five deliveries recorded", || async {
        count(&mut app.db.connect().await, "SELECT count(*) AS n FROM deliveries").await == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received(&sink).await, 0, "nothing was sent");
    let held = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' \
                AND cancel_reason = 'delivery_disabled'";
    assert_eq!(count(&mut conn, held).await, 5);
}

/// API.md "Delivery rules that hold at send time": a delivery created while the account was active and still
/// pending (here a retry after a 503) when an admin disables deliveries is not sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_pending_when_the_account_is_disabled_is_cancelled_at_send_time() {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[hook.id])], 0).await;
    let retrying = "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND attempts = 1";
    eventually(Duration::from_secs(15), "the first attempt failed and waits to retry", || async {
        count(&mut app.db.connect().await, retrying).await == 1
    })
    .await;
    assert_eq!(received(&sink).await, 1);

    exec(
        &app,
        &format!("UPDATE subscriptions SET delivery_state = 'DELIVERY_DISABLED' WHERE user_id = '{}'", seed.user),
    )
    .await;
    crate::engine::advance_settled(&app, chrono::Duration::hours(2)).await;
    let cancelled = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' \
                     AND cancel_reason = 'delivery_disabled' AND attempts = 1";
    eventually(Duration::from_secs(15), "the retry was cancelled, not sent", || async {
        count(&mut app.db.connect().await, cancelled).await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received(&sink).await, 1, "no second attempt went out");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usage_suspended_account_gets_its_allowance_per_window_until_the_suspension_lifts() {
    let sink = sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let clock = app.state.clock.clone();
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let lifts_at = clock.now() + chrono::Duration::days(5);
    exec(
        &app,
        &format!(
            "UPDATE subscriptions SET delivery_state = 'USAGE_SUSPENDED', usage_suspended_until = '{}' \
             WHERE user_id = '{}'",
            at(lifts_at),
            seed.user
        ),
    )
    .await;

    // Window 1: twenty reminders due at once, three go out.
    seed.many_due_at(20, clock.now(), hook.id).await;
    let total = |n: i64| {
        let app = &app;
        async move { count(&mut app.db.connect().await, "SELECT count(*) AS n FROM deliveries WHERE tier > 0").await == n }
    };
    eventually(Duration::from_secs(30), "twenty deliveries recorded", || total(20)).await;
    eventually(Duration::from_secs(30), "three sent", || async { received(&sink).await == 3 }).await;
    let window_end = scalar(
        &app,
        "SELECT to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS value FROM delivery_window_usage",
    )
    .await;
    let held = format!(
        "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' AND attempts = 0 \
         AND cancel_reason LIKE 'usage suspended:%' AND cancel_reason LIKE '%resets at {window_end}'"
    );
    // Held back as workers claim them, so the last may be a batch behind the three sends.
    eventually(Duration::from_secs(30), "the rest are recorded with the reset time", || async {
        count(&mut app.db.connect().await, &held).await == 17
    })
    .await;
    // The sink may hear of a send before the worker has written its outcome.
    eventually(Duration::from_secs(30), "three recorded sent", || async {
        count(&mut app.db.connect().await, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await == 3
    })
    .await;

    // Window 2, after the first ended: a fresh allowance of three.
    crate::engine::advance_settled(&app, chrono::Duration::days(3) + chrono::Duration::minutes(1)).await;
    seed.many_due_at(20, clock.now(), hook.id).await;
    eventually(Duration::from_secs(30), "forty deliveries recorded", || total(40)).await;
    eventually(Duration::from_secs(30), "six sent", || async { received(&sink).await == 6 }).await;
    // Every one of window 2's rows is settled before the clock passes the suspension's end: one still waiting
    // for a worker then would rightly go out as the suspension lifts.
    let all_held =
        "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' AND cancel_reason LIKE 'usage suspended:%'";
    eventually(Duration::from_secs(30), "the rest of window 2 held back", || async {
        count(&mut app.db.connect().await, all_held).await == 34
    })
    .await;

    // Past `usage_suspended_until` the suspension has lifted itself: everything goes out.
    crate::engine::advance_settled(&app, chrono::Duration::days(2)).await;
    seed.many_due_at(5, clock.now(), hook.id).await;
    eventually(Duration::from_secs(30), "forty-five deliveries recorded", || total(45)).await;
    eventually(Duration::from_secs(30), "eleven sent", || async { received(&sink).await == 11 }).await;
    eventually(Duration::from_secs(30), "the subscription is active again", || async {
        scalar(&app, &format!("SELECT delivery_state AS value FROM subscriptions WHERE user_id = '{}'", seed.user))
            .await
            == "ACTIVE"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(received(&sink).await, 11, "nothing beyond the allowance was sent");
}

/// Suspends `user`'s usage for five days from `now`.
async fn suspend(app: &TestApp, user: Uuid, now: DateTime<Utc>) {
    let until = at(now + chrono::Duration::days(5));
    exec(
        app,
        &format!(
            "INSERT INTO subscriptions (user_id, delivery_state, usage_suspended_until) \
             VALUES ('{user}', 'USAGE_SUSPENDED', '{until}') ON CONFLICT (user_id) DO UPDATE \
             SET delivery_state = 'USAGE_SUSPENDED', usage_suspended_until = '{until}'"
        ),
    )
    .await;
}

/// Puts `user` in UTC with quiet hours from a minute ago to an hour from `now`.
async fn quiet_for_an_hour(app: &TestApp, user: Uuid, now: DateTime<Utc>) {
    let (start, end) = (local_time(now, chrono_tz::UTC, -1), local_time(now, chrono_tz::UTC, 60));
    exec(
        app,
        &format!(
            "UPDATE users SET timezone = 'UTC', quiet_hours_start = '{start}', quiet_hours_end = '{end}' \
             WHERE id = '{user}'"
        ),
    )
    .await;
}

const WINDOW_USED: &str = "SELECT coalesce(sum(deliveries), 0)::text AS value FROM delivery_window_usage";

/// API.md "Delivery rules that hold at send time": `USAGE_SUSPENDED` allowances count sends. Deliveries put off
/// by quiet hours and then acknowledged before they went out use none of it; those put off and then sent use
/// it when they go out.
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_deferred_by_quiet_hours_or_acknowledged_before_sending_use_no_allowance() {
    let sink = sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let clock = app.state.clock.clone();
    let token = user(&app, "suspended@example.com").await;
    let owner: Uuid = user_id(&app, &token).await.parse().unwrap();
    let seed = Seed::for_user(&app, owner);
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    suspend(&app, owner, clock.now()).await;
    quiet_for_an_hour(&app, owner, clock.now()).await;
    let deferred = |n: i64| {
        let app = &app;
        async move {
            let sql =
                "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND deferred_reason = 'quiet hours'";
            count(&mut app.db.connect().await, sql).await == n
        }
    };

    // Three fire in quiet hours and wait; the owner acknowledges each before it goes out.
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        acknowledged.push(seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id])], 0).await);
    }
    eventually(Duration::from_secs(15), "three deliveries put off by quiet hours", || deferred(3)).await;
    assert_eq!(scalar(&app, WINDOW_USED).await, "0", "a delivery put off is not a send");
    for reminder in &acknowledged {
        app.post(&format!("/v1/reminders/{reminder}/acknowledge"), json!({}), Some(&token)).await.data(200);
    }
    eventually(Duration::from_secs(15), "the acknowledged ones will not be sent", || deferred(0)).await;

    // Three more fire in quiet hours; when the window ends, the whole allowance is still there for them.
    for _ in 0..3 {
        seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id])], 0).await;
    }
    eventually(Duration::from_secs(15), "three more put off", || deferred(3)).await;
    assert_eq!(received(&sink).await, 0, "nothing is sent in quiet hours");
    crate::engine::advance_settled(&app, chrono::Duration::minutes(61)).await;
    eventually(Duration::from_secs(15), "the three are sent after quiet hours", || async {
        received(&sink).await == 3
    })
    .await;
    assert_eq!(scalar(&app, WINDOW_USED).await, "3", "counted when sent");
    let held = "SELECT count(*) AS n FROM deliveries WHERE cancel_reason LIKE 'usage suspended:%'";
    assert_eq!(count(&mut app.db.connect().await, held).await, 0);
}

/// Rows already pending when an admin suspends the account (here put off by quiet hours) are counted when
/// they would be sent: the allowance goes out, the rest are held back with the window's reset time.
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_pending_when_the_account_is_suspended_are_held_back_beyond_the_allowance() {
    let sink = sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let clock = app.state.clock.clone();
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    quiet_for_an_hour(&app, seed.user, clock.now()).await;
    seed.many_due_at(5, clock.now(), hook.id).await;
    let waiting = "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND deferred_reason = 'quiet hours'";
    eventually(Duration::from_secs(15), "five deliveries put off by quiet hours", || async {
        count(&mut app.db.connect().await, waiting).await == 5
    })
    .await;

    suspend(&app, seed.user, clock.now()).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(61)).await;
    eventually(Duration::from_secs(15), "the allowance of three is sent", || async { received(&sink).await == 3 })
        .await;
    let held = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' AND attempts = 0 \
                AND cancel_reason LIKE 'usage suspended: the allowance of 3 deliveries per window is used; the window resets at %'";
    eventually(Duration::from_secs(15), "the other two are held back", || async {
        count(&mut app.db.connect().await, held).await == 2
    })
    .await;
    assert_eq!(scalar(&app, WINDOW_USED).await, "3");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(received(&sink).await, 3, "nothing beyond the allowance was sent");
}

/// Ten workers claiming a suspended owner's twenty due deliveries at once, two each: three are let through
/// in all, and the window counts three.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_count_is_exact_when_workers_claim_at_once() {
    // No worker role: the test's tasks are the workers.
    let app = TestApp::spawn_roles("api,scheduler", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook("http://127.0.0.1:9/hook").await;
    exec(&app, &format!("UPDATE subscriptions SET delivery_state = 'USAGE_SUSPENDED' WHERE user_id = '{}'", seed.user))
        .await;
    seed.many_due_at(20, app.state.clock.now(), hook.id).await;
    eventually(Duration::from_secs(20), "twenty deliveries created", || async {
        count(&mut app.db.connect().await, "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'").await == 20
    })
    .await;
    let mut conn = app.db.connect().await;
    let ids: Vec<reminder_core::ids::DeliveryId> =
        diesel_async::RunQueryDsl::load::<Id>(diesel::sql_query("SELECT id FROM deliveries"), &mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.id.into())
            .collect();
    let now = app.state.clock.now();
    let mut tasks = tokio::task::JoinSet::new();
    for pair in ids.chunks(2) {
        let mut conn: AsyncPgConnection = app.db.connect().await;
        let pair = pair.to_vec();
        tasks.spawn(async move {
            let tiers = TierTable::default();
            let settings =
                Settings { tiers: &tiers, allowance_per_window: 3, window: chrono::Duration::days(3), config: None };
            let claimed = deliveries::claim_by_ids(&mut conn, &pair, now, now + chrono::Duration::minutes(1))
                .await
                .expect("claim");
            assert!(claimed.iter().all(|c| c.usage_suspended));
            let claimed: Vec<&deliveries::Claimed> = claimed.iter().collect();
            deliveries::within_allowance(&mut conn, settings, &claimed, now).await.expect("allowance").len()
        });
    }
    let through: usize = tasks.join_all().await.into_iter().sum();
    assert_eq!(through, 3, "twenty deliveries claimed in ten concurrent batches, three let through");
    assert_eq!(scalar(&app, "SELECT deliveries::text AS value FROM delivery_window_usage").await, "3");
    let held = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' AND attempts = 0 \
                AND cancel_reason LIKE 'usage suspended:%'";
    assert_eq!(count(&mut conn, held).await, 17);
}

/// Two workers read their clocks before queueing for the owner's lock, so the second to get it may carry the
/// earlier time. It must count against the window the first opened (which starts a moment after its own
/// clock), not open a second one beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_caller_whose_clock_is_behind_the_windows_start_counts_against_that_window() {
    let app = TestApp::spawn_roles("api", &[]).await;
    let seed = Seed::new(&app).await;
    exec(&app, &format!("UPDATE subscriptions SET delivery_state = 'USAGE_SUSPENDED' WHERE user_id = '{}'", seed.user))
        .await;
    let tiers = TierTable::default();
    let settings = Settings { tiers: &tiers, allowance_per_window: 3, window: chrono::Duration::days(3), config: None };
    let owner: reminder_core::ids::UserId = seed.user.into();
    let mut conn = app.db.connect().await;
    let later = app.state.clock.now();
    let earlier = later - chrono::Duration::milliseconds(1);
    let mut ask = async |now| {
        let allowed = escalating_reminders::billing::controls::allowance(&mut conn, settings, &[(owner, 2)], now)
            .await
            .expect("allowance");
        allowed[&owner].sends
    };
    assert_eq!(ask(later).await, 2, "the first caller opens the window and sends two");
    assert_eq!(ask(earlier).await, 1, "the second, with the earlier clock, gets what is left of that window");
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM delivery_window_usage").await, "1");
    assert_eq!(scalar(&app, WINDOW_USED).await, "3");
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_past_the_monthly_budget_fall_back_to_email_with_a_note() {
    let app = TestApp::spawn_roles("api,scheduler", &[("TIER_LIMITS", r#"{"FREE": {"smsPerMonth": 1}}"#)]).await;
    let clock = app.state.clock.clone();
    // Each user has an SMS and an email channel.
    let channels = async |seed: &Seed<'_>| (seed.sms("+15551234567").await, seed.email("me@example.com").await);
    // One user has used the month's budget, the other has not.
    let spent = Seed::new(&app).await;
    let fresh = Seed::new(&app).await;
    let (spent_sms, spent_email) = channels(&spent).await;
    let (fresh_sms, _) = channels(&fresh).await;
    // The budget's month is the engine clock's; a month that ends within the minute is stepped over first.
    if (clock.now() + chrono::Duration::minutes(1)).month() != clock.now().month() {
        clock.advance(chrono::Duration::minutes(2));
    }
    let month = escalating_reminders::billing::store::month_start(clock.now());
    exec(
        &app,
        &format!(
            "INSERT INTO usage_windows (user_id, metric, period_start, used) VALUES ('{}', 'sms', '{month}', 1)",
            spent.user
        ),
    )
    .await;
    spent.reminder_due_in(chrono::Duration::zero(), &[(0, &[spent_sms])], 0).await;
    fresh.reminder_due_in(chrono::Duration::zero(), &[(0, &[fresh_sms])], 0).await;
    eventually(Duration::from_secs(15), "both deliveries created", || async {
        count(&mut app.db.connect().await, "SELECT count(*) AS n FROM deliveries").await == 2
    })
    .await;
    let of = |user: Uuid| {
        format!(
            "SELECT channel || '/' || target_id || '/' || coalesce(deferred_reason, '-') AS value FROM deliveries WHERE user_id = '{user}'"
        )
    };
    let spent_row = scalar(&app, &of(spent.user)).await;
    assert!(spent_row.starts_with(&format!("email/{spent_email}/SMS budget of 1 this month used")), "{spent_row}");
    let fresh_row = scalar(&app, &of(fresh.user)).await;
    assert_eq!(fresh_row, format!("sms/{fresh_sms}/-"));

    // Each SMS sent counts once against the budget, however often its outcome is written.
    let id: reminder_core::ids::DeliveryId =
        scalar(&app, &format!("SELECT id::text AS value FROM deliveries WHERE user_id = '{}'", fresh.user))
            .await
            .parse()
            .unwrap();
    exec(&app, &format!("UPDATE deliveries SET status = 'sending', attempts = 1 WHERE id = '{id}'")).await;
    let sent = deliveries::Recorded {
        id,
        attempt: 1,
        status: reminder_core::status::DeliveryStatus::Sent,
        next_attempt_at: None,
        error: None,
        provider_message_id: Some("SM1".to_owned()),
        deferred_reason: None,
    };
    let mut conn = app.db.connect().await;
    for _ in 0..2 {
        deliveries::record_outcomes(&mut conn, std::slice::from_ref(&sent), clock.now()).await.unwrap();
    }
    let used =
        format!("SELECT used::text AS value FROM usage_windows WHERE user_id = '{}' AND metric = 'sms'", fresh.user);
    assert_eq!(scalar(&app, &used).await, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_downgrade_the_newest_excess_reminder_stops_escalating_and_the_rest_go_on() {
    let sink = sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{}'", seed.user)).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let later = chrono::Duration::hours(1);
    for _ in 0..3 {
        seed.reminder_due_in(later, &[(0, &[hook.id])], 0).await;
    }
    // The newest fires now and would escalate again after an hour.
    let newest = seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id]), (60, &[hook.id])], 0).await;
    eventually(Duration::from_secs(15), "the first tier is sent", || async { received(&sink).await == 1 }).await;

    crate::fixtures::override_tier(&app, seed.user, reminder_core::tiers::Tier::Free).await;
    let paused =
        scalar(&app, &format!("SELECT coalesce(paused_reason, '-') AS value FROM reminders WHERE id = '{newest}'"))
            .await;
    assert!(paused.contains("FREE tier allows 3"), "{paused}");
    assert_eq!(
        scalar(&app, &format!("SELECT status AS value FROM escalations WHERE reminder_id = '{newest}'")).await,
        "cancelled"
    );

    crate::engine::advance_settled(&app, chrono::Duration::hours(2)).await;
    eventually(Duration::from_secs(15), "the three within the limit are sent", || async { received(&sink).await == 4 })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received(&sink).await, 4, "the paused reminder escalated no further");
    assert_eq!(count(&mut app.db.connect().await, "SELECT count(*) AS n FROM escalations").await, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_downgrade_the_newest_excess_channel_is_not_used() {
    let (kept_sink, paused_sink) = (sink().await, sink().await);
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{}'", seed.user)).await;
    let kept = seed.webhook(&format!("{}/hook", kept_sink.uri())).await;
    let newest = seed.webhook(&format!("{}/hook", paused_sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::hours(1), &[(0, &[kept.id, newest.id])], 0).await;

    // FREE allows one channel: the newer webhook pauses, the older goes on.
    crate::fixtures::override_tier(&app, seed.user, reminder_core::tiers::Tier::Free).await;
    let reason = format!(
        "SELECT coalesce(paused_reason, '-') AS value FROM user_agent_subscriptions WHERE id = '{}'",
        newest.id
    );
    assert!(scalar(&app, &reason).await.contains("FREE tier allows 1 channel subscriptions"));

    crate::engine::advance_settled(&app, chrono::Duration::hours(2)).await;
    eventually(Duration::from_secs(15), "the kept channel is sent to", || async { received(&kept_sink).await == 1 })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received(&paused_sink).await, 0, "a paused channel is not used");
}
