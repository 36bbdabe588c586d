//! A million reminders (issue 21, target 2): does the engine slow down when the table is large, and is a
//! steady stream of due reminders delivered on time?
//!
//! 1. **Burst in a small table**: `BENCH_N` (default 100 000) reminders, all due at once, drained with no-op
//!    channels (`WORKER_NOOP_CHANNELS`: the engine's own Postgres and Redis work) by one scheduler and one
//!    worker.
//! 2. **The same burst in a large table**: `BENCH_TABLE` (default 1 000 000) active reminders, of which the
//!    same `BENCH_N` fall due at once and the rest later. The target is a rate within 20 % of step 1's
//!    (`ratio` ≥ 0.8).
//! 3. **Steady**: in the large table, `BENCH_STEADY_RATE` (default 1 000) reminders fall due each second for
//!    `BENCH_STEADY_SECS` (default 300), spread evenly within each second, delivered as signed webhooks to a
//!    sink on loopback by one scheduler and one worker. Lateness is the time from a reminder's due instant to
//!    its arrival at the sink; the target is p99 ≤ 500 ms (`p99_to_limit` ≤ 1).
//!
//! `cargo bench --bench million`. Needs the local PostgreSQL and Redis. Prints one JSON object and writes it
//! to `bench-results/million.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::cpu::CpuReading;
use common::{Process, quantile, round};
use diesel::sql_types::{Double, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

const BURST_RATIO_TARGET: f64 = 0.8;
const STEADY_P99_LIMIT_SECONDS: f64 = 0.5;

fn number(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |c| c.get() as f64)
}

#[tokio::main]
async fn main() {
    let common::Setup { n, database, env, mut conn } = common::setup().await;
    let table = number("BENCH_TABLE", 1_000_000);
    let rate = number("BENCH_STEADY_RATE", 1000);
    let steady_secs = number("BENCH_STEADY_SECS", 300);
    let steady_n = rate * steady_secs;
    let (sink, log) = common::start_sink().await;

    let burst_user = common::seed(&mut conn, n, &sink).await;
    let small = burst(&mut conn, &env, n, burst_user).await;

    // The rest of the large table: the steady stream's reminders (armed later) and reminders due over the
    // next month, a second apart.
    let seeding = Instant::now();
    let steady_user = common::seed(&mut conn, steady_n, &sink).await;
    let background = (table - n - steady_n).max(0);
    common::seed_due(&mut conn, background, &sink, "now() + interval '30 days' + g * interval '1 second'").await;
    let seeded_in = seeding.elapsed().as_secs_f64();
    let large = burst(&mut conn, &env, n, burst_user).await;
    // The burst's reminders are one-offs: armed again for next month, the table keeps its size.
    common::make_due(&mut conn, 30 * 86_400, Some(burst_user)).await;

    let steady = steady(&mut conn, &env, &log, steady_user, rate, steady_n).await;
    let ratio = large["deliveries_per_second"].as_f64().unwrap_or(0.0)
        / small["deliveries_per_second"].as_f64().unwrap_or(f64::INFINITY);
    let report = json!({
        "bench": "million",
        "cores": cores(),
        "burst": n,
        "table": table,
        "seeded_large_table_in_seconds": round(seeded_in, 1),
        "burst_in_small_table": small,
        "burst_in_large_table": large,
        "burst_ratio_large_to_small": round(ratio, 3),
        "burst_ratio_target": BURST_RATIO_TARGET,
        "steady": steady,
    });
    drop(conn);
    common::drop_database(&database).await;
    common::report("million", &[report]);
}

/// The `user`'s `n` reminders due at once, drained with no-op channels; clears the episodes afterwards.
async fn burst(conn: &mut AsyncPgConnection, env: &[(String, String)], n: i64, user: Uuid) -> Value {
    common::drain::clear(conn).await;
    let due_at = common::make_due(conn, 10, Some(user)).await;
    let cpu_before = CpuReading::now();
    let drained = common::drain::noop_burst(conn, env, &[], n, 1, due_at).await;
    let cpu = CpuReading::now().since(cpu_before);
    let reminders = common::count(conn, "SELECT count(*) AS n FROM reminders").await;
    json!({
        "reminders_in_table": reminders,
        "finished": drained.finished,
        "sent": drained.sent,
        "lost": n - drained.sent,
        "fired_after_seconds": round(drained.fired_after, 2),
        "drain_seconds": round(drained.drain, 2),
        "deliveries_per_second": round(drained.rate(), 0),
        "postgres_cpu_us_per_delivery": round(cpu.postgres * 1e6 / n as f64, 0),
        "roles": drained.roles,
    })
}

#[derive(diesel::QueryableByName)]
struct Due {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Double)]
    due: f64,
    #[diesel(sql_type = Double)]
    fired: f64,
}

/// The `user`'s `total` reminders due `rate` a second, from 15 s on; delivered to the sink for real.
async fn steady(
    conn: &mut AsyncPgConnection,
    env: &[(String, String)],
    log: &std::sync::Arc<std::sync::Mutex<common::SinkLog>>,
    user: Uuid,
    rate: i64,
    total: i64,
) -> Value {
    common::drain::clear(conn).await;
    let start = chrono::Utc::now() + chrono::Duration::seconds(15);
    diesel::sql_query(
        "WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM reminders WHERE user_id = $1),
              due AS (UPDATE reminders r SET status = 'active',
                             next_trigger_at = $2 + make_interval(secs => numbered.i::float8 / $3)
                      FROM numbered WHERE r.id = numbered.id RETURNING r.id, r.next_trigger_at)
         UPDATE reminder_schedules s SET trigger_at = due.next_trigger_at FROM due WHERE s.reminder_id = due.id",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Timestamptz, _>(start)
    .bind::<Double, _>(rate as f64)
    .execute(conn)
    .await
    .expect("steady schedule");
    diesel::sql_query("VACUUM ANALYZE reminders").execute(conn).await.expect("analyze");
    // The sink's clock is an Instant; this pair turns arrivals into wall-clock seconds like the database's.
    let (instant0, wall0) = (Instant::now(), SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64());
    let cpu_before = CpuReading::now();
    let processes = [Process::start(&["--role", "scheduler"], env), Process::start(&["--role", "worker"], env)];
    let end = start + chrono::Duration::milliseconds(total * 1000 / rate.max(1));
    let limit = (end - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(60);
    let arrived = || log.lock().unwrap().arrivals.len() as i64;
    let finished = common::wait_until(limit, || async { arrived() >= total }).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // late duplicates would arrive now
    let cpu = CpuReading::now().since(cpu_before);
    let window = instant0.elapsed().as_secs_f64();
    let roles: Vec<Value> = processes.iter().map(Process::usage_json).collect();
    drop(processes);

    let due: Vec<Due> = diesel::sql_query(
        "SELECT d.id::text AS id, EXTRACT(EPOCH FROM e.occurrence_at)::float8 AS due,
                EXTRACT(EPOCH FROM e.fired_at)::float8 AS fired
         FROM deliveries d JOIN escalations e ON e.id = d.escalation_id WHERE d.user_id = $1",
    )
    .bind::<SqlUuid, _>(user)
    .load(conn)
    .await
    .expect("due instants");
    let due: HashMap<String, (f64, f64)> = due.into_iter().map(|d| (d.id, (d.due, d.fired))).collect();
    let sink = log.lock().unwrap();
    let mut lateness = Vec::with_capacity(sink.arrivals.len());
    let mut duplicates = 0;
    for (id, times) in &sink.arrivals {
        duplicates += times.len() - 1;
        if let (Some((due, _)), Some(first)) = (due.get(id), times.iter().min()) {
            let arrived_at = wall0 + first.duration_since(instant0).as_secs_f64();
            lateness.push(arrived_at - due);
        }
    }
    let mut firing: Vec<f64> = due.values().map(|(due, fired)| fired - due).collect();
    lateness.sort_by(f64::total_cmp);
    firing.sort_by(f64::total_cmp);
    let p99 = quantile(&lateness, 0.99);
    json!({
        "due_per_second": rate,
        "seconds": total / rate.max(1),
        "finished": finished,
        "delivered": lateness.len(),
        "lost": total - lateness.len() as i64,
        "duplicates": duplicates,
        "lateness_seconds": {
            "p50": round(quantile(&lateness, 0.5), 3),
            "p99": round(p99, 3),
            "max": round(lateness.last().copied().unwrap_or(0.0), 3),
        },
        "firing_lateness_seconds": {
            "p50": round(quantile(&firing, 0.5), 3),
            "p99": round(quantile(&firing, 0.99), 3),
        },
        "p99_limit_seconds": STEADY_P99_LIMIT_SECONDS,
        "p99_to_limit": round(p99 / STEADY_P99_LIMIT_SECONDS, 3),
        "postgres_cpu_us_per_delivery": round(cpu.postgres * 1e6 / total as f64, 0),
        "machine_busy_share": round(cpu.machine / (cores() * window), 2),
        "roles": roles,
    })
}
