//! API load benchmark (issue 21, items 2 and 3): the release binary as a `--role api` process on a fresh
//! database, driven by a load generator in this program over 64 keep-alive connections, beside `pgbench`
//! running the same SQL at the same concurrency in the same run.
//!
//! 1. `POST /v1/reminders`: `BENCH_CREATES` (default 20 000) one-off reminders, each connection for its own
//!    user with that user's API key (64 users: one user's creates are serialised on purpose, by the lock on
//!    their subscription row that keeps a plan's reminder limit exact). Reported: requests/s, latency
//!    quantiles, and the CPU per request of the api process and of Postgres.
//! 2. `GET /v1/reminders` (first page) for a user with `BENCH_LIST_REMINDERS` (default 10 000, the issue's
//!    case) reminders: one client alone for `BENCH_LIST_SERIAL` (default 500) requests, for the latency a
//!    person sees (the target is p95 ≤ 20 ms), then 64 at once for `BENCH_LISTS` (default 20 000).
//! 3. `pgbench -c 64 -j 2` for as long as each API phase took, with the statements the api runs for one
//!    such request, in the order it runs them (`CREATE_SQL`, `LIST_SQL`: read off `pg_stat_statements`
//!    after a run of this bench; they change when the endpoints do). The target is each API rate ≥ 0.5× of
//!    its `pgbench` rate.
//!
//! The API phases pay for what `pgbench` does not: HTTP, JSON, authentication (an API-key hash lookup),
//! the rate limiter's Redis round trip, validation and the response. The ratio says how much of the
//! request that is.
//!
//! `cargo bench --bench api_load`. Needs the local PostgreSQL and Redis, and `pgbench` (Debian's
//! `postgresql-client`). Prints one JSON object and writes it to `bench-results/api_load.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{Process, cpu, quantile, round};
use serde_json::{Value, json};

const IN_FLIGHT: usize = 64;
const TARGET_RATIO: f64 = 0.5;
const LIST_P95_LIMIT_MS: f64 = 20.0;
/// The shared "Gentle" preset (migration 3): every user may use it, so no profile is set up first.
const PRESET_PROFILE: &str = "00000000-0000-4000-8000-000000000001";

/// What `POST /v1/reminders` runs for a one-off reminder with an API key, as one transaction where the api
/// uses one. `:user`, `:profile` and `:keyhash` are set by `pgbench -D`; `:n` numbers the titles.
const CREATE_SQL: &str = include_str!("sql/api_load_create.sql");
/// What `GET /v1/reminders` (first page, default size) runs; `:ids` is that page's ids.
const LIST_SQL: &str = include_str!("sql/api_load_list.sql");

#[tokio::main]
async fn main() {
    escalating_reminders::install_crypto_provider();
    let number = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let creates = number("BENCH_CREATES", 20_000);
    let serial_lists = number("BENCH_LIST_SERIAL", 500);
    let lists = number("BENCH_LISTS", 20_000);
    let list_reminders = number("BENCH_LIST_REMINDERS", 10_000);

    let common::Api { process: api, database, base, client } = common::start_api(IN_FLIGHT).await;
    // One at a time: the api bounds how many password hashes run at once and refuses the rest.
    let mut keys = Vec::with_capacity(IN_FLIGHT);
    for i in 0..IN_FLIGHT {
        keys.push(common::api_key(&client, &base, &format!("load{i}@example.com")).await);
    }

    let trigger_at = chrono::Utc::now() + chrono::Duration::days(30);
    let create = |i: usize| {
        json!({
            "title": format!("Load {i}"),
            "escalationProfileId": PRESET_PROFILE,
            "schedule": {"type": "once", "triggerAt": trigger_at},
        })
    };
    let url = format!("{base}/v1/reminders");
    let create_phase = phase(&api, creates, IN_FLIGHT, |worker, i| {
        client.post(&url).header("x-api-key", &keys[worker]).json(&create(i)).send()
    })
    .await;

    let mut conn = common::connect(&database).await;
    let variables = pgbench_variables(&mut conn, list_reminders).await;
    drop(conn);
    let list = |_, _| client.get(&url).header("x-api-key", &keys[0]).send();
    let serial_list = phase(&api, serial_lists, 1, list).await;
    let list_phase = phase(&api, lists, IN_FLIGHT, list).await;
    let seconds = |phase: &Value| phase["seconds"].as_f64().unwrap_or(10.0).ceil().max(5.0) as u64;
    let pg_list = pgbench(&database, "list", LIST_SQL, &variables, seconds(&list_phase));
    let pg_create = pgbench(&database, "create", CREATE_SQL, &variables, seconds(&create_phase));

    let ratio = |api: &Value, pg: &Value| {
        round(api["per_second"].as_f64().unwrap_or(f64::NAN) / pg["per_second"].as_f64().unwrap_or(f64::NAN), 3)
    };
    let list_p95 = serial_list["latency_ms"]["p95"].as_f64().unwrap_or(f64::NAN);
    let report = json!({
        "bench": "api_load",
        "in_flight": IN_FLIGHT,
        "reminders_of_the_listed_user": list_reminders,
        "create": {"api": create_phase, "pgbench": pg_create, "ratio": ratio(&create_phase, &pg_create)},
        "list": {"api": list_phase, "pgbench": pg_list, "ratio": ratio(&list_phase, &pg_list)},
        "list_one_client": serial_list,
        "target_ratio": TARGET_RATIO,
        "list_p95_limit_ms": LIST_P95_LIMIT_MS,
        "list_p95_ratio_to_limit": round(list_p95 / LIST_P95_LIMIT_MS, 3),
    });
    drop(api);
    common::drop_database(&database).await;
    common::report("api_load", &[report]);
}

/// Sends `total` requests from `in_flight` connections, each made by `request(connection, i)`; reports the rate, latency
/// quantiles, failures (anything but 2xx) and the CPU the api process and Postgres spent per request.
async fn phase<F, Fut>(api: &Process, total: usize, in_flight: usize, request: F) -> Value
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(total));
    let (_, api_before) = api.usage();
    let pg_before = cpu::postgres_seconds();
    let started = Instant::now();
    let worker = |connection| {
        let (next, failed, latencies, request) = (&next, &failed, &latencies, &request);
        async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                let ok = match request(connection, i).await {
                    Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                mine.push(sent.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().expect("latencies").extend(mine);
        }
    };
    futures_util::future::join_all((0..in_flight).map(worker)).await;
    let seconds = started.elapsed().as_secs_f64();
    let (_, api_after) = api.usage();
    let pg_seconds = cpu::postgres_seconds() - pg_before;
    let mut latencies = latencies.into_inner().expect("latencies");
    latencies.sort_by(f64::total_cmp);
    let per_request_us = |cpu_seconds: f64| round(cpu_seconds / total as f64 * 1e6, 0);
    json!({
        "requests": total,
        "in_flight": in_flight,
        "failed": failed.load(Ordering::Relaxed),
        "seconds": round(seconds, 2),
        "per_second": round(total as f64 / seconds, 0),
        "latency_ms": {
            "p50": round(quantile(&latencies, 0.50), 2),
            "p95": round(quantile(&latencies, 0.95), 2),
            "p99": round(quantile(&latencies, 0.99), 2),
        },
        "api_cpu_us_per_request": per_request_us(api_after - api_before),
        "postgres_cpu_us_per_request": per_request_us(pg_seconds),
    })
}

/// Gives the first user (`load0`) `reminders` reminders in all (the list's case) and the create script its
/// users (`api_load_users`: one per pgbench client, as the api load had one per connection); returns the list
/// script's variables: that user, their API key's hash (hex) and the ids of their first page, newest first.
async fn pgbench_variables(
    conn: &mut diesel_async::AsyncPgConnection,
    reminders: usize,
) -> Vec<(&'static str, String)> {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Listed {
        #[diesel(sql_type = Text)]
        user_id: String,
        #[diesel(sql_type = Text)]
        key_hash: String,
        #[diesel(sql_type = Text)]
        ids: String,
    }
    diesel::sql_query(
        "WITH owner AS (SELECT id FROM users WHERE email = 'load0@example.com'),
         created AS (
            INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, next_trigger_at)
            SELECT owner.id, 'Listed ' || g, $2, 'UTC', now() + interval '30 days'
            FROM owner, generate_series(1, $1 - (SELECT count(*) FROM reminders WHERE user_id = owner.id)) AS g
            RETURNING id, next_trigger_at)
         INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone)
         SELECT id, 'once', next_trigger_at, 'UTC' FROM created",
    )
    .bind::<BigInt, _>(reminders as i64)
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(PRESET_PROFILE).expect("uuid"))
    .execute(conn)
    .await
    .expect("the listed user's reminders");
    diesel::sql_query(
        "CREATE TABLE api_load_users AS
         SELECT (row_number() OVER (ORDER BY u.email) - 1)::int AS n, u.id AS user_id, encode(k.key_hash, 'hex') AS key_hash
         FROM users u JOIN api_keys k ON k.user_id = u.id WHERE u.email LIKE 'load%@example.com'",
    )
    .execute(conn)
    .await
    .expect("pgbench's users");
    diesel::sql_query("VACUUM ANALYZE").execute(conn).await.expect("analyze");
    let listed: Listed = diesel::sql_query(
        "SELECT u.id::text AS user_id, encode(k.key_hash, 'hex') AS key_hash,
                (SELECT array_agg(id ORDER BY created_at DESC, id DESC)::text FROM (
                    SELECT id, created_at FROM reminders WHERE user_id = u.id AND status != 'archived'
                    ORDER BY created_at DESC, id DESC LIMIT 20) page) AS ids
         FROM users u JOIN api_keys k ON k.user_id = u.id WHERE u.email = 'load0@example.com'",
    )
    .get_result(conn)
    .await
    .expect("the listed user");
    vec![
        ("user", listed.user_id),
        ("profile", PRESET_PROFILE.to_owned()),
        ("keyhash", listed.key_hash),
        ("ids", listed.ids),
    ]
}

/// Runs `sql` as a `pgbench` script with 64 clients for `seconds`; reports transactions per second (each
/// script run is one API request's worth of statements) and Postgres CPU per script run.
fn pgbench(database: &str, name: &str, sql: &str, variables: &[(&str, String)], seconds: u64) -> Value {
    let dir = std::env::temp_dir().join(format!("api_load_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("script directory");
    let script = dir.join(format!("{name}.sql"));
    std::fs::write(&script, sql).expect("write script");
    let pg_before = cpu::postgres_seconds();
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", &IN_FLIGHT.to_string(), "-j", "2", "-T", &seconds.to_string()])
        .args(variables.iter().flat_map(|(name, value)| ["-D".to_owned(), format!("{name}={value}")]))
        .arg("-f")
        .arg(&script)
        .args(["-h", "127.0.0.1", "-U", "postgres", database])
        .output()
        .expect("pgbench (Debian's postgresql-client)");
    let pg_seconds = cpu::postgres_seconds() - pg_before;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pgbench failed: {}{}", text, String::from_utf8_lossy(&output.stderr));
    let number_after = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let tps = number_after("tps = ");
    let runs = number_after("number of transactions actually processed: ");
    json!({
        "clients": IN_FLIGHT,
        "seconds": seconds,
        "per_second": round(tps, 0),
        "latency_ms_average": round(number_after("latency average = "), 2),
        "postgres_cpu_us_per_request": round(pg_seconds / runs * 1e6, 0),
    })
}
