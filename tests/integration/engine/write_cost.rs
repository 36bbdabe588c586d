//! What a delivery costs Postgres (measured in full by `benches/engine_writes.rs`): a worker's claim changes
//! no indexed column, so it is a HOT update that writes no index entry, and a claim whose worker died is still
//! found and taken back although no index holds the lease.

use diesel_async::AsyncConnection;
use escalating_reminders::escalation::engine::{self, deliveries};

use super::seed::{Seed, count};
use crate::common::TestApp;
use crate::fixtures::exec;

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_writes_no_index_entry_and_an_expired_one_comes_back() {
    // The api role only: the test drives the scheduler's ticks and claims as a worker would.
    let app = TestApp::spawn_roles("api", &[]).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.subscription("pull", serde_json::json!({})).await;
    for _ in 0..20 {
        seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    }
    exec(&app, "UPDATE scheduler_leases SET epoch = 7 WHERE name = 'scheduler'").await;
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;

    let mut conn = app.db.connect().await;
    let now = app.state.clock.now();
    let (claimed, hot) = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let claimed = deliveries::claim_due(conn, 100, now, now + chrono::Duration::seconds(15)).await?;
            // This transaction's own row versions, before any statistics are flushed.
            let hot = count(conn, "SELECT pg_stat_get_xact_tuples_hot_updated('deliveries'::regclass) AS n").await;
            Ok((claimed.len(), hot))
        })
        .await
        .unwrap();
    assert_eq!(claimed, 20);
    assert_eq!(hot, 20, "every claim should be a HOT update (no new index entries)");

    // The worker died: once its lease has run out, the next tick puts every claim back.
    app.state.clock.advance(chrono::Duration::seconds(16));
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;
    let released =
        "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND last_error = 'lease expired; retrying'";
    assert_eq!(count(&mut conn, released).await, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_claim_behind_a_long_backlog_comes_back_with_the_sweep() {
    // A tick reads only the head of the queue for expired claims; a claim taken out of order, behind more
    // pending rows than that head holds, is found by the sweep that reads every owed row.
    let app = TestApp::spawn_roles("api", &[]).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.subscription("pull", serde_json::json!({})).await;
    seed.many_due_at(2_100, app.state.clock.now() - chrono::Duration::minutes(10), inbox).await;
    let late = seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    exec(&app, "UPDATE scheduler_leases SET epoch = 7 WHERE name = 'scheduler'").await;
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;

    let mut conn = app.db.connect().await;
    let sql = format!(
        "SELECT d.id FROM deliveries d JOIN escalations e ON e.id = d.escalation_id WHERE e.reminder_id = '{late}'"
    );
    let late_delivery: Vec<IdRow> = diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut conn).await.unwrap();
    let now = app.state.clock.now();
    let claimed =
        deliveries::claim_by_ids(&mut conn, &[late_delivery[0].id.into()], now, now + chrono::Duration::seconds(15))
            .await
            .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'").await, 2_100);

    app.state.clock.advance(chrono::Duration::seconds(16));
    let expired = "SELECT count(*) AS n FROM deliveries WHERE status = 'sending'";
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::just_ran()).await;
    assert_eq!(count(&mut conn, expired).await, 1, "a tick reads only the head of the queue");
    engine::tick(&app.state, engine::Lead::whole(7), &mut engine::Cadence::default()).await;
    assert_eq!(count(&mut conn, expired).await, 0, "the sweep finds the expired claim wherever it is");
    let released =
        format!("SELECT count(*) AS n FROM deliveries WHERE id = '{}' AND status = 'pending'", late_delivery[0].id);
    assert_eq!(count(&mut conn, &released).await, 1);
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}
