//! Fencing: a scheduler that lost its leadership (a paused process, a partition) must not write. Every engine
//! transaction checks the leader's epoch first, so fire and advance of a stale leader change nothing.

use escalating_reminders::escalation::engine;

use super::seed::{Seed, count};
use crate::common::TestApp;
use crate::fixtures::exec;

async fn counts(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db.connect().await;
    let episodes = count(&mut conn, "SELECT count(*) AS n FROM escalations").await;
    let deliveries = count(&mut conn, "SELECT count(*) AS n FROM deliveries").await;
    (episodes, deliveries)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_leader_can_neither_fire_nor_advance() {
    // The api role only: no scheduler of its own runs, the test drives the ticks.
    let app = TestApp::spawn_roles("api", &[]).await;
    let seed = Seed::new(&app).await;
    let first = seed.subscription("pull", serde_json::json!({})).await;
    let second = seed.subscription("pull", serde_json::json!({})).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[first]), (10, &[second])], 0).await;
    exec(&app, "UPDATE scheduler_leases SET epoch = 7 WHERE name = 'scheduler'").await;

    // The old leader (epoch 6) ticks: nothing fires.
    engine::tick(&app.state, engine::Lead::whole(6), &mut engine::Cadence::just_ran()).await;
    assert_eq!(counts(&app).await, (0, 0), "a stale leader fired");
    // The current leader fires: one episode, tier 1.
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;
    assert_eq!(counts(&app).await, (1, 1));

    // Tier 2 comes due; leadership moves on before the old leader advances.
    app.state.clock.advance(chrono::Duration::minutes(11));
    exec(&app, "UPDATE scheduler_leases SET epoch = 8 WHERE name = 'scheduler'").await;
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;
    assert_eq!(counts(&app).await, (1, 1), "a stale leader advanced");
    let tier = "SELECT count(*) AS n FROM escalations WHERE current_tier = 1";
    assert_eq!(count(&mut app.db.connect().await, tier).await, 1, "the episode is as the old leader left it");
    engine::tick(&app.state, engine::Lead::whole(8), &mut engine::Cadence::just_ran()).await;
    assert_eq!(counts(&app).await, (1, 2), "the current leader advances to tier 2");
}
