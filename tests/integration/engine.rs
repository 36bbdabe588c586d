//! The engine end to end: real scheduler and worker loops against real Postgres and Redis, a local sink.

mod bad_rows;
mod faults;
mod fencing;
mod lifecycle;
mod pull_confirmation;
pub mod quiet_hours;
pub mod seed;
mod shards;
mod through_api;
mod write_cost;

use std::time::{Duration, Instant};

use seed::{Seed, count};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TestApp, TestDb, webhook_signed_by};

/// Waits until `check` holds, polling; fails the test after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Moves the app's clock on by `by` once no delivery is being sent. A jump of a lease's length (60 s) or
/// more while a send is in flight would expire its lease and have it sent again, which no real clock does;
/// the tests that jump check exact send counts.
pub async fn advance_settled(app: &TestApp, by: chrono::Duration) {
    eventually_counts(app, "no delivery in flight", "SELECT count(*) AS n FROM deliveries WHERE status = 'sending'", 0)
        .await;
    app.state.clock.advance(by);
}

/// True for a tier's delivery (`reminder.triggered` or `.escalated`), false for a lifecycle event such as
/// `reminder.expired`, which a webhook also hears once its episode gets there.
pub fn is_tier_delivery(request: &wiremock::Request) -> bool {
    let body = request.body_json::<serde_json::Value>().unwrap_or_default();
    matches!(body["type"].as_str(), Some("reminder.triggered" | "reminder.escalated"))
}

/// A webhook receiver that answers 200 to every POST.
pub async fn accepting_sink() -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;
    sink
}

/// Waits (up to 15 s) until the `count(*) AS n` query `sql` answers `n`.
pub async fn eventually_counts(app: &TestApp, what: &str, sql: &str, n: i64) {
    eventually(Duration::from_secs(15), what, || async {
        let mut conn = app.db.connect().await;
        count(&mut conn, sql).await == n
    })
    .await;
}

/// Deliveries sent on their second attempt.
pub const RETRIED: &str = "SELECT count(*) AS n FROM deliveries WHERE status = 'sent' AND attempts = 2";

/// Moves the clock past the retry ladder's first step (5 s ±10 %), waits until one delivery is sent on its
/// retry, and checks that the endpoint at `path` got the same `webhook-id` both times. Returns every request
/// the sink has received.
pub async fn first_retry_keeps_its_id(app: &TestApp, sink: &MockServer, path: &str) -> Vec<wiremock::Request> {
    app.state.clock.advance(chrono::Duration::seconds(6));
    eventually_counts(app, &format!("the retry to {path}"), RETRIED, 1).await;
    let requests = sink.received_requests().await.unwrap();
    let ids: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == path)
        .map(|r| r.headers.get("webhook-id").map(|id| id.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "a retry keeps its webhook-id");
    requests
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_reminder_reaches_the_webhook_sink_once_signed() {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let reminder = seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[hook.id])], 0).await;

    eventually(Duration::from_secs(15), "the sink receives the delivery", || async {
        sink.received_requests().await.unwrap_or_default().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let requests = sink.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "delivered exactly once");
    let request = &requests[0];
    assert!(webhook_signed_by(&hook.secret, request), "signature does not verify");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "reminder.triggered");
    assert_eq!(body["data"]["title"], "Take the pills");
    assert_eq!(body["data"]["reminderId"], reminder.to_string());
    let delivery_id = request.headers.get("webhook-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(body["data"]["deliveryId"], delivery_id.as_str());
    let mut conn = app.db.connect().await;
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM deliveries WHERE id = '{delivery_id}' AND status = 'sent'")
        )
        .await,
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations").await, 1);
    // A one-off reminder has no next occurrence after firing.
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM reminders WHERE next_trigger_at IS NULL").await, 1);
}

/// The scheduler sleeps until the next reminder is due, not a whole tick: with a 30 s tick, reminders due
/// 3 s and 5 s after it started fire on time (the tick alone would fire them 30 s in).
#[tokio::test(flavor = "multi_thread")]
async fn a_sleeping_scheduler_wakes_when_the_next_reminder_falls_due() {
    let sink = accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    for seconds in [3, 5] {
        seed.reminder_due_in(chrono::Duration::seconds(seconds), &[(0, &[hook.id])], 0).await;
    }
    let app = TestApp::spawn_on(db, "all", &[("SCHEDULER_TICK_MS", "30000")]).await;

    delivered_on_time(&app, &sink, 2, Duration::from_secs(15)).await;
}

/// Waits (up to `within`, well under the 30 s tick of the tests that call it) until `sink` holds `n`
/// deliveries, and checks that no episode fired before its occurrence.
async fn delivered_on_time(app: &TestApp, sink: &MockServer, n: usize, within: Duration) {
    eventually(within, "delivered long before the next tick", || async {
        sink.received_requests().await.unwrap_or_default().len() == n
    })
    .await;
    let mut conn = app.db.connect().await;
    let early = "SELECT count(*) AS n FROM escalations WHERE fired_at < occurrence_at";
    assert_eq!(count(&mut conn, early).await, 0, "nothing fires before it is due");
}

/// A reminder created to fall due before the sleeping scheduler's next look wakes it (`reminders_due_soon`):
/// with a 30 s tick and nothing due, the scheduler sleeps 30 s; one created 2 s before it is due still fires
/// on time.
#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_created_while_the_scheduler_sleeps_wakes_it() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[("SCHEDULER_TICK_MS", "30000")]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    // Its first tick finds nothing due; it then sleeps the whole tick.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    seed.reminder_due_in(chrono::Duration::seconds(2), &[(0, &[hook.id])], 0).await;
    delivered_on_time(&app, &sink, 1, Duration::from_secs(12)).await;
    assert!(started.elapsed() >= Duration::from_secs(2), "not before it is due");
}

#[tokio::test(flavor = "multi_thread")]
async fn later_tiers_fire_in_order_when_nobody_reacts() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let first = seed.webhook(&format!("{}/first", sink.uri())).await;
    let second = seed.webhook(&format!("{}/second", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[first.id]), (10, &[second.id])], 0).await;
    eventually(Duration::from_secs(15), "tier 1", || async {
        sink.received_requests().await.unwrap_or_default().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received_requests().await.unwrap().len(), 1, "tier 2 waits for its delay");

    // Ten minutes pass.
    advance_settled(&app, chrono::Duration::minutes(10)).await;
    eventually(Duration::from_secs(15), "tier 2", || async {
        sink.received_requests().await.unwrap_or_default().len() == 2
    })
    .await;
    let requests = sink.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/first");
    assert_eq!(requests[1].url.path(), "/second");
    let body: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["type"], "reminder.escalated");
    assert_eq!(body["data"]["tier"], 2);

    // The final wait ends the episode.
    advance_settled(&app, chrono::Duration::minutes(30)).await;
    let mut conn = app.db.connect().await;
    let expired = "SELECT count(*) AS n FROM escalations WHERE status = 'expired' AND end_reason = 'exhausted'";
    eventually_counts(&app, "episode expires", expired, 1).await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE tier > 0").await, 2);
    // Both webhooks were sent a delivery in the episode, so both hear that it expired.
    let told = "SELECT count(*) AS n FROM deliveries WHERE tier = 0 AND payload->>'type' = 'reminder.expired'";
    assert_eq!(count(&mut conn, told).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_redis_postgres_delivers_everything() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[("REDIS_URL", "")]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    for _ in 0..20 {
        seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id])], 0).await;
    }
    eventually(Duration::from_secs(20), "20 deliveries", || async {
        sink.received_requests().await.unwrap_or_default().len() >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received_requests().await.unwrap().len(), 20);
}

/// Episodes and deliveries carry no foreign keys (the engine writes them only under their parent's row
/// lock); delete triggers cascade instead, so a deleted reminder or user leaves nothing behind.
#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_reminder_or_its_owner_deletes_its_episodes_and_deliveries() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    // A second tier an hour later keeps both episodes open.
    let tiers: &[(u32, &[uuid::Uuid])] = &[(0, &[hook.id]), (60, &[hook.id])];
    let doomed = seed.reminder_due_in(chrono::Duration::zero(), tiers, 0).await;
    let kept = seed.reminder_due_in(chrono::Duration::zero(), tiers, 0).await;
    eventually_counts(&app, "both first tiers sent", "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'", 2)
        .await;

    let mut conn = app.db.connect().await;
    let of = |table: &str, reminder: uuid::Uuid| {
        format!("SELECT count(*) AS n FROM {table} WHERE reminder_id = '{reminder}'")
    };
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!("DELETE FROM reminders WHERE id = '{doomed}'")),
        &mut conn,
    )
    .await
    .expect("delete reminder");
    assert_eq!(count(&mut conn, &of("escalations", doomed)).await, 0);
    assert_eq!(count(&mut conn, &of("deliveries", doomed)).await, 0);
    assert_eq!(count(&mut conn, &of("escalations", kept)).await, 1, "another reminder's episode stays");
    assert_eq!(count(&mut conn, &of("deliveries", kept)).await, 1);

    let user = seed.user;
    diesel_async::RunQueryDsl::execute(diesel::sql_query(format!("DELETE FROM users WHERE id = '{user}'")), &mut conn)
        .await
        .expect("delete user");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations").await, 0);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_endpoints_are_retried_with_the_same_id_or_given_up() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/flaky"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/bad"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/gone"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&sink)
        .await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let flaky = seed.webhook(&format!("{}/flaky", sink.uri())).await;
    let bad = seed.webhook(&format!("{}/bad", sink.uri())).await;
    let gone = seed.webhook(&format!("{}/gone", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[flaky.id, bad.id, gone.id])], 0).await;
    eventually(Duration::from_secs(15), "first attempts", || async {
        sink.received_requests().await.unwrap_or_default().len() >= 3
    })
    .await;
    let requests = first_retry_keeps_its_id(&app, &sink, "/flaky").await;
    assert_eq!(requests.iter().filter(|r| r.url.path() == "/bad").count(), 1, "a 400 is not retried");
    let mut conn = app.db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'failed'").await, 2);
    assert_eq!(
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM user_agent_subscriptions WHERE id = '{}' AND NOT enabled", gone.id)
        )
        .await,
        1,
        "410 disables the subscription"
    );
}
