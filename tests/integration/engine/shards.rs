//! Scheduler shards across processes (`SCHEDULER_SHARDS`): the processes share the shards out, a killed
//! leader's shard moves to the survivor within two seconds, and every reminder fires once.

use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use super::faults::{env, seen};
use super::seed::{Seed, count};
use super::{accepting_sink, eventually};
use crate::common::{BinaryProcess, TestDb};

#[derive(diesel::QueryableByName)]
struct Holder {
    #[diesel(sql_type = Text)]
    holder: String,
}

/// The holder of each shard's lease row, in shard order.
async fn holders(db: &TestDb) -> Vec<String> {
    let mut conn = db.connect().await;
    diesel::sql_query(
        "SELECT coalesce(holder, '') AS holder FROM scheduler_leases WHERE name LIKE 'scheduler:%/2' ORDER BY name",
    )
    .load::<Holder>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.holder)
    .collect()
}

fn holder_of(process: &BinaryProcess) -> String {
    format!("local:{}", process.pid())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_shards_led_by_two_processes_move_within_two_seconds_when_one_is_killed_and_fire_once() {
    let sink = accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let env = env(&db, &[("SCHEDULER_SHARDS", "2"), ("DELIVERY_LEASE_SECS", "5"), ("OFFER_TIMEOUT_SECS", "3")]);
    let mut first = BinaryProcess::start(&["--role", "scheduler,worker"], &env);
    eventually(Duration::from_secs(20), "the first process leads both shards", || async {
        holders(&db).await == [holder_of(&first), holder_of(&first)]
    })
    .await;
    let second = BinaryProcess::start(&["--role", "scheduler,worker"], &env);
    eventually(Duration::from_secs(20), "the first process hands one shard to the second", || async {
        let mut held = holders(&db).await;
        held.sort();
        let mut expected = vec![holder_of(&first), holder_of(&second)];
        expected.sort();
        held == expected
    })
    .await;

    seed.many_due_at(1000, chrono::Utc::now() + chrono::Duration::seconds(1), hook.id).await;
    eventually(Duration::from_secs(30), "the burst starts", || async {
        !sink.received_requests().await.unwrap_or_default().is_empty()
    })
    .await;
    first.signal("KILL").await;
    let killed = Instant::now();
    eventually(Duration::from_secs(10), "the second process leads both shards", || async {
        holders(&db).await == [holder_of(&second), holder_of(&second)]
    })
    .await;
    let moved = killed.elapsed();
    eprintln!("the killed leader's shard moved after {moved:?}");
    assert!(moved <= Duration::from_secs(2), "the killed leader's shard moved after {moved:?}");
    let _ = first.wait_exit(Duration::from_secs(5)).await;

    eventually(Duration::from_secs(60), "all 1000 delivered", || async { seen(&sink).await.len() == 1000 }).await;
    let mut conn = db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations").await, 1000, "one episode per reminder");
    assert_eq!(
        count(&mut conn, "SELECT count(DISTINCT reminder_shard(reminder_id, 2)) AS n FROM escalations").await,
        2,
        "both shards had reminders"
    );
    eventually(Duration::from_secs(30), "every row sent", || async {
        let mut conn = db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await == 1000
    })
    .await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries").await, 1000);
    let repeats: usize = seen(&sink).await.values().map(|n| n - 1).sum();
    // Only what the killed process's worker held may repeat (at-least-once, same webhook-id).
    assert!(repeats <= 300, "{repeats} repeated sends");
}
