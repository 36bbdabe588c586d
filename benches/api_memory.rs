//! API memory benchmark: the release binary as a `--role api` process on a fresh database, `BENCH_CREATES`
//! (default 100 000) reminders created through `POST /v1/reminders` with an API key at 64 requests in flight,
//! then as many again. The api's resident memory (`VmRSS`, and the peak `VmHWM`, from /proc) is sampled after
//! every tenth of each round. The limits (issue 20, item 7): after the first round the api stays within
//! 96 MiB, and the second round adds at most 10 % to that.
//!
//! `cargo bench --bench api_memory` (not a timed test; run by hand). Needs the local PostgreSQL and Redis
//! (`TEST_DATABASE_URL`, `TEST_REDIS_URL`). Prints one JSON object and writes it to
//! `bench-results/api_memory.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{Process, round};
use serde_json::{Value, json};

const LIMIT_MIB: f64 = 96.0;
const GROWTH_LIMIT: f64 = 0.10;
const IN_FLIGHT: usize = 64;
const SAMPLES_PER_ROUND: usize = 10;
/// The shared "Gentle" preset (migration 3): every user may use it, so no profile is set up first.
const PRESET_PROFILE: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::main]
async fn main() {
    escalating_reminders::install_crypto_provider();
    let creates: usize = std::env::var("BENCH_CREATES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let common::Api { process: api, database, base, client } = common::start_api(IN_FLIGHT).await;
    let key = common::api_key(&client, &base, "memory@example.com").await;
    let (rss_at_start, _) = api.memory();

    let mut rounds = Vec::new();
    for round_number in 1..=2 {
        rounds.push(create_round(&client, &base, &key, &api, creates, round_number).await);
    }
    let first = rounds[0]["rss_mib"].as_f64().unwrap_or(f64::NAN);
    let second = rounds[1]["rss_mib"].as_f64().unwrap_or(f64::NAN);
    let growth = second / first - 1.0;
    let (_, peak) = api.memory();
    let report = json!({
        "creates_per_round": creates,
        "in_flight": IN_FLIGHT,
        "rss_mib_at_start": rss_at_start,
        "rss_mib_after_first": first,
        "rss_mib_after_second": second,
        "peak_rss_mib": peak,
        "limit_mib": LIMIT_MIB,
        "ratio_to_limit": round(first / LIMIT_MIB, 3),
        "within_limit": first <= LIMIT_MIB,
        "growth_ratio": round(growth, 3),
        "growth_limit": GROWTH_LIMIT,
        "growth_within_limit": growth <= GROWTH_LIMIT,
        "rounds": rounds,
    });
    drop(api);
    common::drop_database(&database).await;
    common::report("api_memory", &[report]);
}

/// `creates` reminders at `IN_FLIGHT` requests at once, the api's memory sampled after every tenth.
async fn create_round(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    api: &Process,
    creates: usize,
    round_number: usize,
) -> Value {
    let (mut samples, mut errors) = (Vec::new(), 0);
    let started = Instant::now();
    let mut done = 0;
    for tenth in 1..=SAMPLES_PER_ROUND {
        let upto = creates * tenth / SAMPLES_PER_ROUND;
        errors += create_many(client, base, key, upto - done, round_number * creates + done).await;
        done = upto;
        let (rss, hwm) = api.memory();
        let sample = json!({"round": round_number, "creates": done, "errors": errors, "rss_mib": rss, "hwm_mib": hwm});
        eprintln!("{sample}");
        samples.push(sample);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (rss, hwm) = api.memory();
    json!({
        "round": round_number,
        "creates": creates,
        "errors": errors,
        "seconds": round(seconds, 1),
        "creates_per_second": round(creates as f64 / seconds, 0),
        "rss_mib": rss,
        "hwm_mib": hwm,
        "samples": samples,
    })
}

/// Posts `count` reminders (titles numbered from `first`); returns how many were not created.
async fn create_many(client: &reqwest::Client, base: &str, key: &str, count: usize, first: usize) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/v1/reminders");
    let trigger_at = chrono::Utc::now() + chrono::Duration::days(30);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (client, url, key) = (client.clone(), url.clone(), key.to_owned());
        let (next, failed) = (Arc::clone(&next), Arc::clone(&failed));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let body = json!({
                    "title": format!("Memory {}", first + i),
                    "escalationProfileId": PRESET_PROFILE,
                    "schedule": {"type": "once", "triggerAt": trigger_at},
                });
                let response = client.post(&url).header("x-api-key", &key).json(&body).send().await;
                let created = match response {
                    Ok(response) => response.status() == reqwest::StatusCode::CREATED && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if !created {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    failed.load(Ordering::Relaxed)
}
