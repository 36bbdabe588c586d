//! Health: the live reading, and the scheduler's snapshot per 5-minute slot, driven by a movable clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use escalating_reminders::admin::health::{self, slot_start};
use escalating_reminders::escalation::engine::Lead;
use serde_json::json;

use super::admin;
use crate::common::TestApp;
use crate::fixtures::{exec, scalar};

async fn snapshot_count(app: &TestApp) -> i64 {
    scalar(app, "SELECT count(*)::text AS value FROM system_health_snapshots").await.parse().unwrap()
}

/// Waits until a snapshot of the slot starting at `slot` exists.
async fn wait_for_slot(app: &TestApp, slot: DateTime<Utc>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let sql =
        format!("SELECT count(*)::text AS value FROM system_health_snapshots WHERE taken_at = '{}'", slot.to_rfc3339());
    while scalar(app, &sql).await != "1" {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the snapshot of {slot}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_writes_one_snapshot_per_five_minute_slot() {
    let app = TestApp::spawn_roles("all", &[]).await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    // Real time runs on under the app's clock: start early in a slot, so that no slot boundary passes
    // between the steps below that assume one slot (the writes, the history, the ranged read).
    let into_slot = app.state.clock.now().timestamp().rem_euclid(300);
    if into_slot > 200 {
        app.state.clock.advance(chrono::Duration::seconds(301 - into_slot));
    }
    let first = slot_start(app.state.clock.now());
    wait_for_slot(&app, first).await;
    // Five minutes pass on the app's clock: the next slot gets its own row from the scheduler.
    let current = slot_start(app.state.clock.now());
    app.state.clock.advance(chrono::Duration::minutes(5));
    wait_for_slot(&app, current + chrono::Duration::minutes(5)).await;
    // Another pass within a slot that is written adds nothing.
    let epoch: i64 = scalar(&app, "SELECT epoch::text AS value FROM scheduler_leases WHERE name = 'scheduler'")
        .await
        .parse()
        .unwrap();
    let mut conn = app.state.db.get().await.unwrap();
    health::snapshot(&app.state, &mut conn, Lead::whole(epoch)).await.unwrap();
    let again = health::snapshot(&app.state, &mut conn, Lead::whole(epoch)).await.unwrap();
    assert_eq!(again, 0);

    let history = app.get("/v1/admin/health/history", Some(&root.token)).await;
    let snapshots = history.data(200).as_array().unwrap().clone();
    // Normally two; three when real time crossed a slot boundary during the test. Never two in one slot.
    assert!(snapshots.len() >= 2, "{snapshots:?}");
    assert_eq!(history.body["meta"]["pagination"]["totalItems"], json!(snapshot_count(&app).await));
    let taken: Vec<DateTime<Utc>> = snapshots.iter().map(|s| s["takenAt"].as_str().unwrap().parse().unwrap()).collect();
    for at in &taken {
        assert_eq!(at.timestamp() % 300, 0, "{at} starts a 5-minute slot");
    }
    for pair in taken.windows(2) {
        assert_eq!(pair[0] - pair[1], chrono::Duration::minutes(5), "newest first, one slot apart");
    }
    let reading = &snapshots[0]["reading"];
    assert_eq!(reading["status"], "ok");
    assert_eq!(reading["database"], "ok");
    assert_eq!(reading["redis"], "ok");
    assert!(reading["queueDepth"].is_i64() && reading["deliveriesLast5Minutes"]["sent"].is_i64(), "{reading}");

    let now = app.get("/v1/admin/health", Some(&root.token)).await;
    let now = now.data(200);
    assert_eq!(now["reading"]["status"], "ok");
    assert_eq!(now["lastSnapshot"]["takenAt"], snapshots[0]["takenAt"]);
    let ranged = app
        .get(&format!("/v1/admin/health/history?from={}", snapshots[0]["takenAt"].as_str().unwrap()), Some(&root.token))
        .await;
    assert_eq!(ranged.data(200).as_array().unwrap().len(), 1);
    assert_eq!(ranged.body["meta"]["pagination"]["totalItems"], json!(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_leader_cannot_write_a_snapshot_and_old_ones_are_pruned() {
    // The api role only: no scheduler runs, so the test holds the only epochs in play.
    let app = TestApp::spawn().await;
    let current: i64 = scalar(
        &app,
        "UPDATE scheduler_leases SET epoch = epoch + 2 WHERE name = 'scheduler' RETURNING epoch::text AS value",
    )
    .await
    .parse()
    .unwrap();
    // A snapshot past the 30-day retention, and one within it.
    exec(
        &app,
        "INSERT INTO system_health_snapshots (taken_at, status, data) VALUES
             (date_trunc('hour', now()) - interval '31 days', 'ok', '{}'),
             (date_trunc('hour', now()) - interval '29 days', 'ok', '{}')",
    )
    .await;
    let mut conn = app.state.db.get().await.unwrap();
    let stale = health::snapshot(&app.state, &mut conn, Lead::whole(current - 1)).await;
    assert!(stale.is_err(), "the old leader's write is refused");
    assert_eq!(snapshot_count(&app).await, 2, "and it pruned nothing");
    // Two leaders in a handover both passing the fence for one slot still write one row.
    let first = health::snapshot(&app.state, &mut conn, Lead::whole(current)).await.unwrap();
    let second = health::snapshot(&app.state, &mut conn, Lead::whole(current)).await.unwrap();
    assert_eq!((first, second), (1, 0));
    // The current slot's row and the 29-day-old one remain; the 31-day-old one is pruned.
    assert_eq!(snapshot_count(&app).await, 2);
    let oldest =
        scalar(&app, "SELECT (min(taken_at) > now() - interval '30 days')::text AS value FROM system_health_snapshots")
            .await;
    assert_eq!(oldest, "true");
}
