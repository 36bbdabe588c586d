//! Side by side with the queues people would pick instead (issue 21): `BENCH_N` (default 100 000) due
//! notifications delivered as webhook POSTs to one sink on loopback, 64 sends in flight, by
//! - our engine, reminders already due: fire + claim + send + outcome, with Redis and Postgres-only;
//! - BullMQ, graphile-worker and pg-boss from `../shared/peers` (enqueue + send), back to back in this run.
//!
//! For each it reports deliveries/s (N over the time from the first instant work could start — our due
//! instant, the peer's first add — to the N-th distinct arrival), lost and duplicate arrivals, p99 lateness,
//! the CPU seconds of Postgres (every backend, exited ones too), Redis and the worker processes over the
//! window, and Postgres CPU per delivery. Then the ratio of ours to the faster of BullMQ and graphile-worker
//! (the target is 1.5). The peers do less than our engine (no schedules, no escalation state, no
//! outcome log, an unsigned body).
//!
//! `cargo bench --bench peers_burst`. Needs the local PostgreSQL and Redis, and Node with npm: the peers are
//! copied to `bench-results/peers` and installed there with `npm ci` on first use. `PEERS_DIR` points at
//! another copy; `BENCH_PEERS=bullmq,graphile` picks peers (default all three). Prints one JSON object and
//! writes it to `bench-results/peers_burst.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::cpu::CpuReading;
use common::{Process, SinkLog, quantile, round};
use serde_json::{Value, json};

const SENDS_IN_FLIGHT: usize = 64;
const TARGET_RATIO: f64 = 1.5;
const DRAIN_LIMIT: Duration = Duration::from_secs(900);

#[tokio::main]
async fn main() {
    let common::Setup { n, database, env, mut conn } = common::setup().await;
    let (sink, log) = common::start_sink().await;
    common::seed(&mut conn, n, &sink).await;

    let mut rows = vec![ours(&mut conn, &env, &log, n, true).await, ours(&mut conn, &env, &log, n, false).await];
    let peers_dir = installed_peers();
    let wanted = std::env::var("BENCH_PEERS").unwrap_or_else(|_| "bullmq,graphile,pgboss".to_owned());
    for peer in wanted.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        rows.push(peer_run(&peers_dir, peer, &sink, &log, n).await);
    }

    let rate_of =
        |name: &str| rows.iter().find(|r| r["system"] == name).and_then(|r| r["deliveries_per_second"].as_f64());
    let best_peer = ["bullmq", "graphile-worker"].iter().filter_map(|name| rate_of(name)).fold(f64::NAN, f64::max);
    let ours_redis = rate_of("ours (redis)").unwrap_or(f64::NAN);
    let ours_pg = rate_of("ours (postgres only)").unwrap_or(f64::NAN);
    let summary = json!({
        "bench": "peers_burst",
        "n": n,
        "sends_in_flight": SENDS_IN_FLIGHT,
        "systems": rows,
        "faster_of_bullmq_and_graphile_per_second": round(best_peer, 0),
        "ratio_ours_redis_to_faster_peer": round(ours_redis / best_peer, 3),
        "ratio_ours_postgres_only_to_faster_peer": round(ours_pg / best_peer, 3),
        "target_ratio": TARGET_RATIO,
        "note": "peers enqueue and send; ours fires, claims, sends and records each outcome",
    });
    drop(conn);
    common::drop_database(&database).await;
    common::report("peers_burst", &[summary]);
}

/// Our engine on the seeded reminders, all due at one instant: a scheduler and a worker process.
async fn ours(
    conn: &mut diesel_async::AsyncPgConnection,
    env: &[(String, String)],
    log: &Arc<Mutex<SinkLog>>,
    n: i64,
    with_redis: bool,
) -> Value {
    use diesel_async::RunQueryDsl;
    // A second run starts as clean as the first: deleting the episodes deletes their deliveries.
    diesel::sql_query("DELETE FROM escalations").execute(conn).await.expect("clear episodes");
    for table in ["escalations", "deliveries", "reminders"] {
        diesel::sql_query(format!("VACUUM ANALYZE {table}")).execute(conn).await.expect("vacuum");
    }
    *log.lock().expect("sink log") = SinkLog::default();
    let mut env = env.to_vec();
    env.push(("WORKER_CONCURRENCY".to_owned(), SENDS_IN_FLIGHT.to_string()));
    if !with_redis {
        env.retain(|(key, _)| key != "REDIS_URL");
    }
    let due_at = common::make_all_due(conn, 15).await;
    let scheduler = Process::start(&["--role", "scheduler"], &env);
    let worker = Process::start(&["--role", "worker"], &env);
    let start = instant_of(due_at);
    tokio::time::sleep(start.saturating_duration_since(Instant::now())).await;
    let before = CpuReading::now();
    let (finished, end) = drained(log, n).await;
    let used = CpuReading::now().since(before);
    let processes = json!([scheduler.usage_json(), worker.usage_json()]);
    drop((scheduler, worker));
    let name = if with_redis { "ours (redis)" } else { "ours (postgres only)" };
    row(name, "Postgres", log, n, start, end, finished, used, processes)
}

/// One peer queue: setup, a worker waiting for the go, an enqueue of N, until the sink has seen N ids.
async fn peer_run(dir: &Path, peer: &str, sink: &str, log: &Arc<Mutex<SinkLog>>, n: i64) -> Value {
    let (script, name) = match peer {
        "bullmq" => ("bullmq.js", "bullmq"),
        "graphile" => ("graphile.js", "graphile-worker"),
        "pgboss" => ("pgboss.js", "pg-boss"),
        other => panic!("unknown peer {other}: BENCH_PEERS takes bullmq, graphile, pgboss"),
    };
    let run = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let urls = ["--redis-url", &common::redis_url(), "--pg-url", &common::server_url()];
    let setup = node(dir, script, &[&["setup", "--run", &run], &urls[..]].concat()).wait_json();
    *log.lock().expect("sink log") = SinkLog::default();
    let concurrency = SENDS_IN_FLIGHT.to_string();
    // graphile-worker's pool holds one connection per job in flight (and warns below that); the others ignore it.
    let pool = (SENDS_IN_FLIGHT + 2).to_string();
    let mut worker = node(
        dir,
        script,
        &[
            &[
                "worker",
                "--run",
                &run,
                "--sink",
                sink,
                "--concurrency",
                &concurrency,
                "--max-pool",
                &pool,
                "--wait-go",
                "1",
            ],
            &urls[..],
        ]
        .concat(),
    );
    worker.expect_ready();
    let mut enqueue =
        node(dir, script, &[&["enqueue", "--run", &run, "--n", &n.to_string(), "--wait-go", "1"], &urls[..]].concat());
    enqueue.expect_ready();
    let before = CpuReading::now();
    worker.go();
    enqueue.go();
    let enqueued = enqueue.wait_json();
    let start_ns = enqueued["enqueue_start_ns"].as_str().and_then(|s| s.parse::<i128>().ok()).unwrap_or_default();
    let start = instant_of(chrono::DateTime::from_timestamp_nanos(start_ns as i64));
    let (finished, end) = drained(log, n).await;
    let used = CpuReading::now().since(before);
    let (worker_rss, worker_cpu) = worker.usage();
    worker.stop();
    node(dir, script, &[&["cleanup", "--run", &run], &urls[..]].concat()).wait_json();
    let processes = json!([{"role": "worker", "peak_rss_mib": worker_rss, "cpu_seconds": worker_cpu},
        {"role": "enqueue", "summary": enqueued}]);
    let durable = match &setup["durability"] {
        Value::String(text) => text.clone(),
        Value::Null => "?".to_owned(),
        settings => settings.to_string(),
    };
    let mut row = row(name, &durable, log, n, start, end, finished, used, processes);
    row["version"] = setup["version"].clone();
    row
}

/// Waits until the sink has seen `n` distinct ids; returns whether it did and when the n-th arrived.
async fn drained(log: &Arc<Mutex<SinkLog>>, n: i64) -> (bool, Instant) {
    let finished = common::wait_until(DRAIN_LIMIT, || {
        let seen = log.lock().expect("sink log").arrivals.len() as i64;
        async move { seen >= n }
    })
    .await;
    // A moment more for late duplicates to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = log.lock().expect("sink log");
    let mut firsts: Vec<Instant> = log.arrivals.values().filter_map(|times| times.iter().min().copied()).collect();
    firsts.sort();
    let end = firsts.get((n as usize).saturating_sub(1)).or(firsts.last()).copied().unwrap_or_else(Instant::now);
    (finished, end)
}

#[allow(clippy::too_many_arguments)]
fn row(
    system: &str,
    durable: &str,
    log: &Arc<Mutex<SinkLog>>,
    n: i64,
    start: Instant,
    end: Instant,
    finished: bool,
    used: CpuReading,
    processes: Value,
) -> Value {
    let log = log.lock().expect("sink log");
    let mut lateness: Vec<f64> = log
        .arrivals
        .values()
        .filter_map(|times| times.iter().min())
        .map(|first| first.saturating_duration_since(start).as_secs_f64())
        .collect();
    lateness.sort_by(f64::total_cmp);
    let delivered = lateness.len() as i64;
    let duplicates: usize = log.arrivals.values().map(|times| times.len() - 1).sum();
    let drain = end.saturating_duration_since(start).as_secs_f64();
    json!({
        "system": system,
        "durable_in": durable,
        "finished": finished,
        "delivered": delivered,
        "lost": n - delivered,
        "duplicates": duplicates,
        "drain_seconds": round(drain, 2),
        "deliveries_per_second": round(delivered.min(n) as f64 / drain, 0),
        "p99_lateness_seconds": round(quantile(&lateness, 0.99), 2),
        "postgres_cpu_seconds": round(used.postgres, 1),
        "postgres_cpu_microseconds_per_delivery": round(used.postgres / delivered.max(1) as f64 * 1e6, 0),
        "redis_cpu_seconds": round(used.redis, 1),
        "machine_busy_cpu_seconds": round(used.machine, 1),
        "processes": processes,
    })
}

/// The `Instant` of a wall-clock time, through one pair of readings taken together.
fn instant_of(at: chrono::DateTime<Utc>) -> Instant {
    let (now_instant, now_wall) = (Instant::now(), Utc::now());
    match (at - now_wall).to_std() {
        Ok(ahead) => now_instant + ahead,
        Err(_) => now_instant.checked_sub((now_wall - at).to_std().unwrap_or_default()).unwrap_or(now_instant),
    }
}

/// The peers, installed: `PEERS_DIR`, or a copy of `../shared/peers` under `bench-results/peers` with its
/// locked dependencies (`npm ci`) installed once.
fn installed_peers() -> PathBuf {
    if let Ok(dir) = std::env::var("PEERS_DIR") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = manifest.join("bench-results/peers");
    if !copy.join("node_modules").is_dir() {
        let shared = manifest.join("../shared/peers");
        std::fs::create_dir_all(&copy).expect("peers directory");
        for entry in std::fs::read_dir(&shared).expect("../shared/peers holds the peer queues") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, copy.join(path.file_name().expect("name"))).expect("copy a peer file");
            }
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&copy)
            .status()
            .expect("npm");
        assert!(status.success(), "npm ci in {} failed", copy.display());
    }
    copy
}

/// A peer script as a child process speaking JSON lines on stdout.
struct Node {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

fn node(dir: &Path, script: &str, args: &[&str]) -> Node {
    let mut child = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start node");
    let stdin = child.stdin.take();
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    Node { child, stdin, lines }
}

impl Node {
    fn next_json(&mut self) -> Value {
        let line = self.lines.next().expect("a JSON line from the peer").expect("read the peer's output");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("peer printed {line:?}: {err}"))
    }

    fn expect_ready(&mut self) {
        let line = self.next_json();
        assert_eq!(line["ready"], true, "peer did not say ready: {line}");
    }

    fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").and_then(|()| stdin.flush()).expect("send go");
    }

    /// The last JSON line before the process exits.
    fn wait_json(mut self) -> Value {
        let mut last = Value::Null;
        while let Some(Ok(line)) = self.lines.next() {
            last = serde_json::from_str(&line).unwrap_or(Value::Null);
        }
        let status = self.child.wait().expect("wait for node");
        assert!(status.success(), "peer exited with {status}");
        last
    }

    /// Peak RSS (MiB) and CPU seconds so far.
    fn usage(&self) -> (f64, f64) {
        common::usage_of(self.child.id())
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
