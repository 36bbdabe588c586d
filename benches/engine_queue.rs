//! Engine benchmark, scenario "queue only": `BENCH_N` (default 100 000) pending deliveries already offered
//! to the dispatch stream, and one `--role worker` process with no-op channels (`WORKER_NOOP_CHANNELS`):
//! read, claim, "send", record, acknowledge — the queue path without receivers. In the same run it
//! measures the ceiling: a plain Redis Streams `XREADGROUP COUNT 100` + `XACK` loop over N entries.
//!
//! `cargo bench --bench engine_queue`. Needs the local PostgreSQL and Redis. Prints one JSON object and
//! writes it to `bench-results/engine_queue.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Process, round};
use deadpool_redis::redis::{self, AsyncCommands, Value};
use serde_json::json;
use uuid::Uuid;

const TARGET_RATIO: f64 = 0.3;
const TARGET_RSS_MIB: f64 = 32.0;

async fn xadd_all(redis: &mut redis::aio::MultiplexedConnection, key: &str, ids: &[Uuid]) {
    for chunk in ids.chunks(1000) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.cmd("XADD").arg(key).arg("*").arg("d").arg(id.to_string()).ignore();
        }
        pipe.query_async::<()>(redis).await.expect("xadd");
    }
}

/// Entries/s of the plainest consumer-group loop: read 100, acknowledge them, repeat.
async fn stream_ceiling(redis: &mut redis::aio::MultiplexedConnection, key: &str, n: usize) -> f64 {
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    xadd_all(redis, key, &ids).await;
    let _: () = redis.xgroup_create(key, "ceiling", "0").await.expect("group");
    let started = Instant::now();
    let mut seen = 0;
    while seen < n {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("ceiling")
            .arg("c1")
            .arg("COUNT")
            .arg(100)
            .arg("STREAMS")
            .arg(key)
            .arg(">")
            .query_async(redis)
            .await
            .expect("xreadgroup");
        let entry_ids = entry_ids(&reply);
        if entry_ids.is_empty() {
            break;
        }
        seen += entry_ids.len();
        let _: () = redis.xack(key, "ceiling", &entry_ids).await.expect("xack");
    }
    let rate = seen as f64 / started.elapsed().as_secs_f64();
    let _: () = redis.del(key).await.expect("del");
    rate
}

/// The workers' group on `key`: entries read and entries read but not yet acknowledged.
async fn group_progress(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> (i64, i64) {
    let reply: Value = redis::cmd("XINFO").arg("GROUPS").arg(key).query_async(redis).await.unwrap_or(Value::Nil);
    let Value::Array(groups) = reply else { return (0, 0) };
    for group in groups {
        let fields: Vec<(String, Value)> = match group {
            Value::Array(flat) => flat
                .chunks(2)
                .filter_map(|pair| match pair {
                    [Value::BulkString(k), v] => Some((String::from_utf8_lossy(k).into_owned(), v.clone())),
                    _ => None,
                })
                .collect(),
            Value::Map(pairs) => pairs
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::BulkString(k) => Some((String::from_utf8_lossy(&k).into_owned(), v)),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let is_workers = matches!(field("name"), Some(Value::BulkString(name)) if name == b"workers");
        if is_workers {
            let number = |v: Option<Value>| if let Some(Value::Int(i)) = v { i } else { 0 };
            return (number(field("entries-read")), number(field("pending")));
        }
    }
    (0, 0)
}

fn entry_ids(reply: &Value) -> Vec<String> {
    let Value::Array(streams) = reply else { return Vec::new() };
    let mut ids = Vec::new();
    for stream in streams {
        let Value::Array(pair) = stream else { continue };
        let Some(Value::Array(entries)) = pair.get(1) else { continue };
        for entry in entries {
            if let Value::Array(parts) = entry
                && let Some(Value::BulkString(id)) = parts.first()
            {
                ids.push(String::from_utf8_lossy(id).into_owned());
            }
        }
    }
    ids
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[tokio::main]
async fn main() {
    // Scoped here: its `first` would shadow the slice method in the reply parsing above.
    use diesel_async::RunQueryDsl;

    let common::Setup { n, database, mut env, mut conn } = common::setup().await;
    let client = redis::Client::open(common::redis_url()).expect("redis url");
    let mut redis = client.get_multiplexed_async_connection().await.expect("redis");
    let prefix = format!("bench:{database}:");

    let ceiling = stream_ceiling(&mut redis, &format!("{prefix}ceiling"), n as usize).await;
    // Every job is two row writes in Postgres (claim, outcome): this bounds the worker whatever Redis does.
    let update_ceiling = common::update_ceiling(&mut conn, n).await;

    // N open episodes, each owing one pending webhook delivery, offered to the stream as the scheduler would.
    common::seed(&mut conn, n, "http://127.0.0.1:9/unused").await;
    diesel::sql_query(
        "INSERT INTO escalations (reminder_id, user_id, occurrence_at, plan, fired_at, loop_started_at,
                                  scheduler_epoch, current_tier)
         SELECT id, user_id, now(), '{}'::jsonb, now(), now(), 0, 1 FROM reminders",
    )
    .execute(&mut conn)
    .await
    .expect("episodes");
    let ids: Vec<Id> = diesel::sql_query(
        "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                 channel, offered_at, payload)
         SELECT e.id, e.reminder_id, e.user_id, 1, 0, 'subscription', s.id, 'webhook', now(),
                jsonb_build_object('type', 'reminder.escalated', 'title', 'Bulk', 'tier', 1)
         FROM escalations e JOIN user_agent_subscriptions s ON s.user_id = e.user_id
         RETURNING id",
    )
    .load(&mut conn)
    .await
    .expect("deliveries");
    diesel::sql_query("VACUUM ANALYZE deliveries").execute(&mut conn).await.expect("analyze");
    let ids: Vec<Uuid> = ids.into_iter().map(|row| row.id).collect();
    xadd_all(&mut redis, &format!("{prefix}dispatch"), &ids).await;

    env.push(("WORKER_NOOP_CHANNELS".to_owned(), "true".to_owned()));
    let started = Instant::now();
    let worker = Process::start(&["--role", "worker"], &env);
    let deadline = started + Duration::from_secs(900);
    // Progress is read from the consumer group (entries read, entries not yet acknowledged), not by
    // counting rows: a count over N deliveries every 50 ms would take CPU from the worker it measures.
    // The worker acknowledges an entry only after its outcome is written.
    let dispatch = format!("{prefix}dispatch");
    let finished = loop {
        let (read, pending) = group_progress(&mut redis, &dispatch).await;
        if (read >= n && pending == 0) || Instant::now() >= deadline {
            break read >= n && pending == 0;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let usage = worker.usage_json();
    drop(worker);
    let sent = common::count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await;
    let sent_twice = common::count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE attempts > 1").await;
    let rate = sent as f64 / elapsed;
    let ratio = rate / ceiling;
    let rss = usage["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
    let report = json!({
        "scenario": "queue_only",
        "jobs": n,
        "finished": finished,
        "sent": sent,
        "lost": n - sent,
        "claimed_more_than_once": sent_twice,
        "seconds": round(elapsed, 2),
        "jobs_per_second": round(rate, 0),
        "ceiling_stream_read_ack_per_second": round(ceiling, 0),
        "ratio_to_ceiling": round(ratio, 3),
        "ceiling_postgres_update_returning_rows_per_second": round(update_ceiling, 0),
        "ratio_to_half_the_postgres_ceiling": round(rate / (update_ceiling / 2.0), 3),
        "target_ratio": TARGET_RATIO,
        "ratio_met": ratio >= TARGET_RATIO,
        "worker": usage,
        "worker_rss_met": rss <= TARGET_RSS_MIB,
    });
    drop(conn);
    common::drop_database(&database).await;
    common::report("engine_queue", &[report]);
}
