//! Fault tests with real processes: kill -9 a worker, kill -9 the scheduler leader under load, Redis
//! restarted empty. Each counts what reached the sink: lost = 0, duplicates only where the design allows.

use std::collections::HashMap;
use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::seed::{Seed, count};
use super::{accepting_sink, eventually};
use crate::common::postgres::OwnPostgres;
use crate::common::{BinaryProcess, TestDb, base_env, free_port};

/// Delivery ids the sink saw, with how often each arrived.
pub(super) async fn seen(sink: &MockServer) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for request in sink.received_requests().await.unwrap_or_default() {
        if let Some(id) = request.headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
            *ids.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    ids
}

pub(super) fn env(db: &TestDb, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = base_env(db);
    env.insert("LOG_FORMAT".into(), "json".into());
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_due_at_once_fire_exactly_once_across_a_scheduler_takeover() {
    let sink = accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    // Short leases and offer timeout: the killed process's claims come back within seconds, not a minute.
    let env = env(&db, &[("DELIVERY_LEASE_SECS", "5"), ("OFFER_TIMEOUT_SECS", "3")]);
    let mut first = BinaryProcess::start(&["--role", "scheduler,worker"], &env);
    first.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("a leader");
    let second = BinaryProcess::start(&["--role", "scheduler,worker"], &env);
    second.wait_for_line("worker started", Duration::from_secs(20)).await.expect("second worker");

    seed.many_due_at(1000, chrono::Utc::now() + chrono::Duration::seconds(1), hook.id).await;
    // Kill the leader while the burst is being fired and sent.
    eventually(Duration::from_secs(30), "the burst starts", || async {
        !sink.received_requests().await.unwrap_or_default().is_empty()
    })
    .await;
    first.signal("KILL").await;
    let _ = first.wait_exit(Duration::from_secs(5)).await;

    eventually(Duration::from_secs(60), "all 1000 delivered", || async { seen(&sink).await.len() == 1000 }).await;
    let mut conn = db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations").await, 1000, "one episode per reminder");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries").await, 1000);
    eventually(Duration::from_secs(30), "every row sent", || async {
        let mut conn = db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await == 1000
    })
    .await;
    let seen = seen(&sink).await;
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    // Only what the killed process held may repeat (at-least-once, same webhook-id): a worker holds at most
    // 3 batches of 100 claims, and a send repeats only if it finished before its outcome was written.
    assert!(repeats <= 300, "{repeats} repeated sends");
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_a_worker_mid_batch_loses_nothing() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(100)))
        .mount(&sink)
        .await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let env = env(&db, &[("WORKER_CONCURRENCY", "4"), ("DELIVERY_LEASE_SECS", "5"), ("OFFER_TIMEOUT_SECS", "3")]);
    let scheduler = BinaryProcess::start(&["--role", "scheduler"], &env);
    scheduler.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("leader");
    let mut doomed = BinaryProcess::start(&["--role", "worker"], &env);
    doomed.wait_for_line("worker started", Duration::from_secs(20)).await.expect("worker");
    seed.many_due_at(200, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(30), "sending has begun", || async { seen(&sink).await.len() >= 10 }).await;
    doomed.signal("KILL").await;
    let _ = doomed.wait_exit(Duration::from_secs(5)).await;
    let before_survivor = seen(&sink).await.len();
    assert!(before_survivor < 200, "the worker finished before it was killed; the test proves nothing");
    let survivor = BinaryProcess::start(&["--role", "worker"], &env);
    survivor.wait_for_line("worker started", Duration::from_secs(20)).await.expect("survivor");

    eventually(Duration::from_secs(60), "all 200 delivered", || async { seen(&sink).await.len() == 200 }).await;
    let repeats: usize = seen(&sink).await.values().map(|n| n - 1).sum();
    // In flight: the 4 concurrent sends, plus those that finished while their outcome write was under way —
    // up to 4 for each of the 3 batches a worker keeps in flight.
    assert!(repeats <= 16, "only sends in flight when the worker died may repeat, saw {repeats}");
    let mut conn = db.connect().await;
    eventually(Duration::from_secs(20), "every row sent", || async {
        let mut conn = db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await == 200
    })
    .await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries").await, 200);
}

/// With the default lease and offer settings, a killed worker's claimed deliveries and the stream entries it
/// had read come back within about 20 s (lease renewed while sending; XAUTOCLAIM of a dead consumer), not
/// after the minute the old lease took.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_workers_deliveries_come_back_within_seconds_with_the_default_lease() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .mount(&sink)
        .await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let env = env(&db, &[("WORKER_CONCURRENCY", "4")]);
    let scheduler = BinaryProcess::start(&["--role", "scheduler"], &env);
    scheduler.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("leader");
    let mut doomed = BinaryProcess::start(&["--role", "worker"], &env);
    doomed.wait_for_line("worker started", Duration::from_secs(20)).await.expect("worker");
    seed.many_due_at(40, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(30), "sending has begun", || async { seen(&sink).await.len() >= 4 }).await;
    doomed.signal("KILL").await;
    let killed_at = std::time::Instant::now();
    let _ = doomed.wait_exit(Duration::from_secs(5)).await;
    assert!(seen(&sink).await.len() < 40, "the worker finished before it was killed; the test proves nothing");
    let survivor = BinaryProcess::start(&["--role", "worker"], &env);
    survivor.wait_for_line("worker started", Duration::from_secs(20)).await.expect("survivor");

    eventually(Duration::from_secs(60), "all 40 delivered", || async { seen(&sink).await.len() == 40 }).await;
    let took = killed_at.elapsed();
    // The old 60 s lease kept the dead worker's claims for a minute; the bound leaves room for a slow machine.
    assert!(took < Duration::from_secs(40), "the dead worker's deliveries took {took:?} to come back");
    let repeats: usize = seen(&sink).await.values().map(|n| n - 1).sum();
    // Only sends in flight when it died may repeat: 4 sends, and those finished but not yet recorded in
    // each of its 3 batches.
    assert!(repeats <= 16, "{repeats} repeated sends");
}

/// A Redis of our own, so killing it does not disturb other tests.
struct OwnRedis {
    child: Option<tokio::process::Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> OwnRedis {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH");
        tokio::time::sleep(Duration::from_millis(300)).await;
        OwnRedis { child: Some(child) }
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_restarted_empty_mid_run_loses_nothing() {
    let sink = accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let redis_port = free_port();
    let mut redis = OwnRedis::start(redis_port).await;
    let api_port = free_port();
    let env = env(
        &db,
        &[
            ("REDIS_URL", &format!("redis://127.0.0.1:{redis_port}")),
            ("PORT", &api_port.to_string()),
            ("OFFER_TIMEOUT_SECS", "2"),
        ],
    );
    let app = BinaryProcess::start(&["--role", "all"], &env);
    app.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("leader");

    seed.many_due_at(50, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(30), "first 50", || async { seen(&sink).await.len() == 50 }).await;

    redis.kill().await;
    seed.many_due_at(50, chrono::Utc::now(), hook.id).await;
    let health: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{api_port}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "the API keeps answering and says so");
    eventually(Duration::from_secs(30), "50 more without redis", || async { seen(&sink).await.len() == 100 }).await;

    let _redis = OwnRedis::start(redis_port).await;
    seed.many_due_at(50, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(30), "50 more after redis came back empty", || async {
        seen(&sink).await.len() == 150
    })
    .await;
    let health: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{api_port}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["checks"]["redis"], "ok");
    let repeats: usize = seen(&sink).await.values().map(|n| n - 1).sum();
    assert_eq!(repeats, 0, "no process died, so nothing may be sent twice");
    // The consumer group was re-created on the new, empty Redis.
    let groups = tokio::process::Command::new("redis-cli")
        .args(["-p", &redis_port.to_string(), "--scan", "--pattern", "*dispatch*"])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&groups.stdout).contains("dispatch"), "stream recreated");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_mid_run_every_role_reconnects() {
    let sink = accepting_sink().await;
    let cluster = tokio::task::spawn_blocking(OwnPostgres::start_new).await.unwrap();
    let db = TestDb::on_server(&format!("postgres://postgres@127.0.0.1:{}", cluster.port)).await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let api_port = free_port();
    let env = env(&db, &[("PORT", &api_port.to_string())]);
    let api = BinaryProcess::start(&["--role", "api"], &env);
    // Every role listens (health and metrics), each on a port of its own.
    let own_port = || {
        let mut env = env.clone();
        env.remove("PORT");
        env
    };
    let scheduler = BinaryProcess::start(&["--role", "scheduler"], &own_port());
    let worker = BinaryProcess::start(&["--role", "worker"], &own_port());
    scheduler.wait_for_line("scheduler became leader", Duration::from_secs(30)).await.expect("leader");
    worker.wait_for_line("worker started", Duration::from_secs(30)).await.expect("worker");
    seed.many_due_at(20, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(30), "first 20", || async { seen(&sink).await.len() == 20 }).await;

    tokio::task::spawn_blocking({
        let (dir, port) = (cluster.dir.clone(), cluster.port);
        move || OwnPostgres { dir, port }.stop_without_cleanup()
    })
    .await
    .unwrap();
    let down: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{api_port}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(down["checks"]["database"], "down");
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::spawn_blocking({
        let (dir, port) = (cluster.dir.clone(), cluster.port);
        move || OwnPostgres { dir, port }.start_without_cleanup()
    })
    .await
    .unwrap();

    // No process was restarted: each reconnects by itself.
    seed.many_due_at(20, chrono::Utc::now(), hook.id).await;
    eventually(Duration::from_secs(60), "20 more after the restart", || async { seen(&sink).await.len() == 40 }).await;
    eventually(Duration::from_secs(20), "health is ok again", || async {
        match reqwest::get(format!("http://127.0.0.1:{api_port}/health")).await {
            Ok(res) => res.json::<serde_json::Value>().await.is_ok_and(|h| h["checks"]["database"] == "ok"),
            Err(_) => false,
        }
    })
    .await;
    let repeats: usize = seen(&sink).await.values().map(|n| n - 1).sum();
    assert_eq!(repeats, 0);
    for process in [&api, &scheduler, &worker] {
        assert!(process.pid() > 0);
    }
    drop(db);
    drop(cluster);
}
