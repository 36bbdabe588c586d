//! The top-of-the-hour spike (issue 21, SCALING.md): `BENCH_N` (default 1 000 000) reminders due in the same
//! second, drained with no-op channels (the engine's own Postgres and Redis work; HTTP is measured by
//! `engine_burst` and `peers_burst`), once with one scheduler and once with `SCHEDULER_SHARDS=2` and two
//! scheduler processes, one worker each time. For each it reports when the last reminder fired, when the
//! last delivery was recorded, deliveries/s, lost rows, and the CPU of Postgres and of every process, so
//! the projection for more machines in SCALING.md can be checked against this machine.
//!
//! `cargo bench --bench spike`. Needs the local PostgreSQL and Redis. Prints one JSON object and writes it to
//! `bench-results/spike.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cpu::CpuReading;
use common::round;
use serde_json::json;

#[tokio::main]
async fn main() {
    let common::Setup { n, database, env, mut conn } = common::setup().await;
    let n = if std::env::var("BENCH_N").is_ok() { n } else { 1_000_000 };
    let seeding = std::time::Instant::now();
    common::seed(&mut conn, n, "http://127.0.0.1:9/unused").await;
    let seeded_in = seeding.elapsed().as_secs_f64();

    let mut runs = Vec::new();
    for shards in [1_usize, 2] {
        common::drain::clear(&mut conn).await;
        // Making a million rows due takes a while: the due instant is far enough ahead for the update to commit.
        let due_at = common::make_all_due(&mut conn, 10 + n / 50_000).await;
        let cpu_before = CpuReading::now();
        let shard_count = shards.to_string();
        let extra = [("SCHEDULER_SHARDS", shard_count.as_str())];
        let drained = common::drain::noop_burst(&mut conn, &env, &extra, n, shards, due_at).await;
        let cpu = CpuReading::now().since(cpu_before);
        runs.push(json!({
            "scheduler_shards": shards,
            "scheduler_processes": shards,
            "worker_processes": 1,
            "finished": drained.finished,
            "all_fired_after_seconds": round(drained.fired_after, 2),
            "fired_per_second": round(n as f64 / drained.fired_after, 0),
            "drain_seconds": round(drained.drain, 2),
            "deliveries_per_second": round(drained.rate(), 0),
            "lost": n - drained.sent,
            "postgres_cpu_microseconds_per_delivery": round(cpu.postgres / n as f64 * 1e6, 0),
            "cpu_seconds": {
                "postgres": round(cpu.postgres, 1),
                "redis": round(cpu.redis, 1),
                "machine": round(cpu.machine, 1),
            },
            "roles": drained.roles,
        }));
    }
    let report = json!({
        "bench": "spike",
        "reminders_due_in_one_second": n,
        "seeded_in_seconds": round(seeded_in, 1),
        "cores": std::thread::available_parallelism().map(|c| c.get()).unwrap_or(0),
        "runs": runs,
    });
    drop(conn);
    common::drop_database(&database).await;
    common::report("spike", &[report]);
}
