//! Retry timing the receiver asks for: `429` with `Retry-After` is retried no sooner than asked, with the
//! same `webhook-id`. (500 → retried, 400 → never, 410 → disabled: `engine::failing_endpoints_…`.)

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::engine::seed::Seed;
use crate::engine::{RETRIED, eventually_counts, first_retry_keeps_its_id};
use crate::fixtures::scalar;

/// Seconds between when the outcome was written and the next attempt it scheduled.
async fn wait_asked(app: &TestApp, route: &str) -> f64 {
    let sql = format!(
        "SELECT extract(epoch FROM d.next_attempt_at - d.updated_at)::text AS value FROM deliveries d
         JOIN user_agent_subscriptions s ON s.id = d.target_id WHERE s.config->>'url' LIKE '%{route}'"
    );
    scalar(app, &sql).await.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_and_the_retry_keeps_its_id() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(path("/slow-down"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .up_to_n_times(1)
        .mount(&sink)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let busy = seed.webhook(&format!("{}/busy", sink.uri())).await;
    let slow = seed.webhook(&format!("{}/slow-down", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[busy.id, slow.id])], 0).await;
    eventually_counts(
        &app,
        "both first attempts recorded",
        "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND attempts = 1",
        2,
    )
    .await;
    let busy_wait = wait_asked(&app, "/busy").await;
    assert!(busy_wait >= 2.0, "retried {busy_wait} s later, sooner than Retry-After: 2");
    let slow_wait = wait_asked(&app, "/slow-down").await;
    assert!(slow_wait >= 120.0, "Retry-After: 120 asked for longer than the ladder: {slow_wait} s");

    // Past the ladder's first step, not yet past 120 s.
    let requests = first_retry_keeps_its_id(&app, &sink, "/busy").await;
    assert_eq!(requests.iter().filter(|r| r.url.path() == "/slow-down").count(), 1, "still waiting as asked");

    crate::engine::advance_settled(&app, chrono::Duration::seconds(120)).await;
    eventually_counts(&app, "the slow endpoint's retry", RETRIED, 2).await;
}
