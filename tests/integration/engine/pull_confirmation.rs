//! A pull agent may read its inbox and confirm a notification before the worker that put it there has
//! recorded the send: the confirmation must stand.

use escalating_reminders::escalation::engine::{self, deliveries};
use reminder_core::status::DeliveryStatus;

use super::seed::{Seed, count};
use crate::common::TestApp;
use crate::fixtures::exec;

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_that_arrives_before_the_workers_outcome_is_kept() {
    // The api role only: the test plays the scheduler and the worker.
    let app = TestApp::spawn_roles("api", &[]).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.subscription("pull", serde_json::json!({})).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    exec(&app, "UPDATE scheduler_leases SET epoch = 7 WHERE name = 'scheduler'").await;
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;

    let mut conn = app.db.connect().await;
    let now = app.state.clock.now();
    let claimed = deliveries::claim_due(&mut conn, 10, now, now + chrono::Duration::seconds(15)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let delivery = &claimed[0];
    // The worker has put the notification in the inbox; the agent confirms it at once.
    assert_eq!(deliveries::mark_pulled(&mut conn, delivery.id, now).await.unwrap(), 1);
    // Then the worker records its send, which must not turn `delivered` back into `sent`.
    let sent = deliveries::Recorded {
        id: delivery.id,
        attempt: delivery.attempts,
        status: DeliveryStatus::Sent,
        next_attempt_at: None,
        error: None,
        provider_message_id: None,
        deferred_reason: None,
    };
    deliveries::record_outcomes(&mut conn, &[sent], now).await.unwrap();
    let delivered = "SELECT count(*) AS n FROM deliveries WHERE status = 'delivered' AND delivered_at IS NOT NULL
                     AND sent_at IS NOT NULL";
    assert_eq!(count(&mut conn, delivered).await, 1);
}
