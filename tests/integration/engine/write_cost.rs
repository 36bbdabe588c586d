//! What a delivery costs Postgres (measured in full by `benches/engine_writes.rs`): a worker's claim changes
//! no indexed column, so it is a HOT update that writes no index entry, and a claim whose worker died is still
//! found and taken back although no index holds the lease.

use std::time::Instant;

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
    engine::tick(&app.state, 7, &mut Some(Instant::now())).await;

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
    engine::tick(&app.state, 7, &mut Some(Instant::now())).await;
    let released =
        "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND last_error = 'lease expired; retrying'";
    assert_eq!(count(&mut conn, released).await, 20);
}
