//! Engine benchmark, scenario "burst": `BENCH_N` (default 100 000) reminders due at the same instant, one
//! webhook tier each, a sink on loopback, and the real binary as a `--role scheduler` and a `--role worker`
//! process. In the same run it measures the ceilings of the pieces — a plain batched `UPDATE … RETURNING`
//! of N rows and a plain HTTP POST loop to the same sink (one request after another on one keep-alive
//! connection, as the issue defines it) — and reports the result as a ratio to the slower of the two (the
//! composite limit: a pipeline cannot beat its slowest stage). The sink's throughput with 64 connections at
//! once is reported beside it, with the ratio to that too, so the reader sees how far concurrency goes.
//! The ceilings are measured before and after the runs, and the ratios use their mean (the machines this
//! runs on change speed within minutes). Then the same burst runs again with no-op channels: the engine's
//! own Postgres and Redis work, without HTTP.
//!
//! `cargo bench --bench engine_burst`. Needs the local PostgreSQL and Redis (`TEST_DATABASE_URL`,
//! `TEST_REDIS_URL`). Prints one JSON object and writes it to `bench-results/engine_burst.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Process, quantile, round};
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use serde_json::json;

const TARGET_RATIO: f64 = 0.6;
const SENDS_IN_FLIGHT: usize = 64;

#[derive(diesel::QueryableByName)]
struct Seconds {
    #[diesel(sql_type = diesel::sql_types::Double)]
    seconds: f64,
}

#[tokio::main]
async fn main() {
    let common::Setup { n, database, mut env, mut conn } = common::setup().await;
    let (sink, log) = common::start_sink().await;

    let before = Ceilings::measure(&sink, &mut conn, n).await;
    *log.lock().expect("sink log") = common::SinkLog::default();

    common::seed(&mut conn, n, &sink).await;
    env.push(("WORKER_CONCURRENCY".to_owned(), SENDS_IN_FLIGHT.to_string()));
    // Everything becomes due at one instant ahead, after the update has committed and the roles started.
    let due_at = common::make_all_due(&mut conn, 20).await;
    let scheduler = Process::start(&["--role", "scheduler"], &env);
    let worker = Process::start(&["--role", "worker"], &env);
    let committed_early = Utc::now() + chrono::Duration::seconds(2) < due_at;
    // Arrival instants are converted to wall time through one pair of readings taken together.
    let (base_instant, base_wall) = (Instant::now(), Utc::now());
    let busy_before = common::cpu::machine_busy_seconds();

    let finished = common::wait_until(Duration::from_secs(900), || {
        let seen = log.lock().expect("sink log").arrivals.len() as i64;
        async move { seen >= n }
    })
    .await;
    let busy = common::cpu::machine_busy_seconds() - busy_before;
    // A moment more for late duplicates to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let roles = [scheduler.usage_json(), worker.usage_json()];
    drop((scheduler, worker));

    let arrivals = std::mem::take(&mut log.lock().expect("sink log").arrivals);
    let due_instant = base_instant + (due_at - base_wall).to_std().unwrap_or_default();
    let mut lateness: Vec<f64> = arrivals
        .values()
        .filter_map(|times| times.iter().min())
        .map(|first| first.saturating_duration_since(due_instant).as_secs_f64())
        .collect();
    lateness.sort_by(f64::total_cmp);
    let delivered = lateness.len() as i64;
    let duplicates: usize = arrivals.values().map(|t| t.len() - 1).sum();
    let drain = lateness.last().copied().unwrap_or(f64::NAN);
    let rate = delivered as f64 / drain;
    // How long the scheduler took to fire everything (the rest of the drain is offering and sending).
    let fired_within: Seconds = diesel::sql_query(
        "SELECT COALESCE(EXTRACT(EPOCH FROM max(created_at) - $1)::float8, 0) AS seconds FROM escalations",
    )
    .bind::<Timestamptz, _>(due_at)
    .get_result(&mut conn)
    .await
    .expect("fire time");
    let sent_rows = common::count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await;
    common::drain::clear(&mut conn).await;
    let due_at = common::make_all_due(&mut conn, 10).await;
    let without_http = common::drain::noop_burst(&mut conn, &env, &[], n, 1, due_at).await;
    // This machine's speed drifts within minutes, so the ceilings are measured on both sides of the runs and
    // the ratios use their mean.
    let after = Ceilings::measure(&sink, &mut conn, n).await;
    let mean = |f: fn(&Ceilings) -> f64| (f(&before) + f(&after)) / 2.0;
    let (http_ceiling, http_concurrent, update_ceiling) =
        (mean(|c| c.http_loop), mean(|c| c.http_concurrent), mean(|c| c.update));
    let composite = http_ceiling.min(update_ceiling);
    let p99 = quantile(&lateness, 0.99);
    let ratio = rate / composite;
    // The pieces share the same cores, so a delivery that needs one of each cannot beat doing them one after
    // the other: the serial composite, reported beside the headline ratio.
    let serial = 1.0 / (1.0 / http_ceiling + 1.0 / update_ceiling);
    let report = json!({
        "scenario": "burst",
        "reminders": n,
        "finished": finished,
        "due_set_before_due_time": committed_early,
        "delivered": delivered,
        "lost": n - delivered,
        "duplicates": duplicates,
        "deliveries_marked_sent": sent_rows,
        "drain_seconds": round(drain, 2),
        "all_fired_after_seconds": round(fired_within.seconds, 2),
        "deliveries_per_second": round(rate, 0),
        "lateness_seconds": {"p50": round(quantile(&lateness, 0.5), 2), "p99": round(p99, 2), "max": round(drain, 2)},
        "ceiling": {
            "update_returning_rows_per_second": round(update_ceiling, 0),
            "http_post_loop_per_second": round(http_ceiling, 0),
            "composite_per_second": round(composite, 0),
            "http_post_64_connections_per_second": round(http_concurrent, 0),
            "serial_composite_per_second": round(serial, 0),
            "before_the_runs": before.json(),
            "after_the_runs": after.json(),
        },
        "ratio_to_serial_composite": round(rate / serial, 3),
        // Everything the machine did from the roles' start to the last arrival (Postgres, Redis, both roles,
        // the sink), per delivery: the budget a faster engine has to shrink.
        "machine_busy_cpu_seconds": round(busy, 1),
        "machine_cpu_microseconds_per_delivery": round(busy / delivered as f64 * 1e6, 0),
        "ratio_to_composite": round(ratio, 3),
        // The same burst again with no-op channels: the engine's own Postgres and Redis work, nothing sent.
        // The ratio of this to the composite bounds what any sender could reach on this write path.
        "without_http": json!({
            "finished": without_http.finished,
            "deliveries_per_second": round(without_http.rate(), 0),
            "drain_seconds": round(without_http.drain, 2),
            "ratio_to_composite": round(without_http.rate() / composite, 3),
            "roles": without_http.roles,
        }),
        "ratio_to_64_connection_http": round(rate / http_concurrent, 3),
        "target_ratio": TARGET_RATIO,
        "ratio_met": ratio >= TARGET_RATIO,
        "p99_within_1_1_drain": p99 <= 1.1 * drain,
        "roles": roles,
    });
    drop(conn);
    common::drop_database(&database).await;
    common::report("engine_burst", &[report]);
}

/// The pieces' ceilings, measured at one moment.
struct Ceilings {
    http_loop: f64,
    http_concurrent: f64,
    update: f64,
}

impl Ceilings {
    async fn measure(sink: &str, conn: &mut diesel_async::AsyncPgConnection, n: i64) -> Ceilings {
        let posts = (n as usize).min(30_000);
        Ceilings {
            http_loop: common::http_post_ceiling(sink, posts, 1).await,
            http_concurrent: common::http_post_ceiling(sink, posts, SENDS_IN_FLIGHT).await,
            update: common::update_ceiling(conn, n).await,
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "http_post_loop_per_second": round(self.http_loop, 0),
            "http_post_64_connections_per_second": round(self.http_concurrent, 0),
            "update_returning_rows_per_second": round(self.update, 0),
        })
    }
}
