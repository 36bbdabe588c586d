//! Channel health through the engine: a tier whose every delivery failed for good moves on to the next
//! tier at once; a tier where someone was reached waits out its delay as planned.

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::engine::eventually;
use crate::engine::seed::{Seed, count};

async fn hits(sink: &MockServer, route: &str) -> usize {
    sink.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == route).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tier_that_failed_entirely_fires_the_next_tier_at_once() {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).and(path("/refuses")).respond_with(ResponseTemplate::new(400)).mount(&sink).await;
    Mock::given(method("POST")).and(path("/gone")).respond_with(ResponseTemplate::new(410)).mount(&sink).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let refuses = seed.webhook(&format!("{}/refuses", sink.uri())).await;
    let gone = seed.webhook(&format!("{}/gone", sink.uri())).await;
    let works = seed.webhook(&format!("{}/works", sink.uri())).await;
    let escalate_hopeless = seed.webhook(&format!("{}/after-hopeless", sink.uri())).await;
    let escalate_reached = seed.webhook(&format!("{}/after-reached", sink.uri())).await;
    // Tier 2 is an hour later in both; only the first reminder's tier 1 reaches nobody.
    let hopeless = seed
        .reminder_due_in(chrono::Duration::zero(), &[(0, &[refuses.id, gone.id]), (60, &[escalate_hopeless.id])], 0)
        .await;
    let reached = seed
        .reminder_due_in(chrono::Duration::zero(), &[(0, &[refuses.id, works.id]), (60, &[escalate_reached.id])], 0)
        .await;

    eventually(Duration::from_secs(15), "tier 2 of the hopeless reminder", || async {
        hits(&sink, "/after-hopeless").await == 1
    })
    .await;
    let mut conn = app.db.connect().await;
    let tier = |reminder: uuid::Uuid, tier: i16| {
        format!("SELECT count(*) AS n FROM escalations WHERE reminder_id = '{reminder}' AND current_tier = {tier}")
    };
    assert_eq!(count(&mut conn, &tier(hopeless, 2)).await, 1);
    let sent = format!(
        "SELECT count(*) AS n FROM deliveries WHERE reminder_id = '{hopeless}' AND tier = 2 AND status = 'sent'"
    );
    assert_eq!(count(&mut conn, &sent).await, 1);

    // The other reminder's tier 1 reached someone: its tier 2 still waits for the hour (nobody moved the clock).
    eventually(Duration::from_secs(15), "tier 1 outcomes of the other reminder", || async {
        let mut conn = app.db.connect().await;
        count(
            &mut conn,
            &format!(
                "SELECT count(*) AS n FROM deliveries WHERE reminder_id = '{reached}' AND status IN ('sent', 'failed')"
            ),
        )
        .await
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hits(&sink, "/after-reached").await, 0, "tier 2 waits when tier 1 reached someone");
    assert_eq!(count(&mut conn, &tier(reached, 1)).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_running_out_count_as_a_permanent_failure() {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).and(path("/down")).respond_with(ResponseTemplate::new(503)).mount(&sink).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let down = seed.webhook(&format!("{}/down", sink.uri())).await;
    let later = seed.webhook(&format!("{}/tier-2", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[down.id]), (60, &[later.id])], 0).await;
    let pending_retry = "SELECT count(*) AS n FROM deliveries WHERE tier = 1 AND status = 'pending' AND attempts = 1";
    eventually(Duration::from_secs(15), "the first attempt is scheduled for a retry", || async {
        count(&mut app.db.connect().await, pending_retry).await == 1
    })
    .await;
    assert_eq!(hits(&sink, "/tier-2").await, 0, "a retry still pending keeps tier 2 waiting");
    // Skip to the ladder's last step (the 18 hours of back-off it takes are not the point here).
    crate::fixtures::exec(&app, "UPDATE deliveries SET attempts = 6 WHERE tier = 1").await;
    app.state.clock.advance(chrono::Duration::seconds(6));
    eventually(Duration::from_secs(15), "tier 2 once the retries ran out", || async {
        hits(&sink, "/tier-2").await == 1
    })
    .await;
    let mut conn = app.db.connect().await;
    let gave_up =
        "SELECT count(*) AS n FROM deliveries WHERE tier = 1 AND status = 'failed' AND last_error LIKE 'gave up%'";
    assert_eq!(count(&mut conn, gave_up).await, 1);
}
