//! Accounts benchmark: login throughput and `GET /v1/users/me` at 16 and 64 connections, beside a trivial
//! `GET /health` baseline measured in the same run, against the real app served in-process on loopback.
//!
//! `cargo bench --bench accounts` (release). Needs the local PostgreSQL and Redis of the test suite
//! (`TEST_DATABASE_URL`, `TEST_REDIS_URL`). `BENCH_SECS` sets the time per scenario (default 5). Prints one
//! JSON line per scenario and writes them all to `bench-results/accounts.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use escalating_reminders::cli::parse_roles;
use escalating_reminders::config::Config;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery";
const CONNECTIONS: [usize; 2] = [16, 64];

/// One measured scenario.
struct Scenario {
    name: &'static str,
    connections: usize,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Scenario {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    fn json(&self, baseline_rps: f64) -> Value {
        json!({
            "scenario": self.name,
            "connections": self.connections,
            "seconds": (self.elapsed.as_secs_f64() * 100.0).round() / 100.0,
            "requests": self.requests,
            "errors": self.errors,
            "rps": (self.rps() * 10.0).round() / 10.0,
            "p50_ms": (self.percentile_ms(0.50) * 100.0).round() / 100.0,
            "p99_ms": (self.percentile_ms(0.99) * 100.0).round() / 100.0,
            "ratio_to_health": (self.rps() / baseline_rps * 1000.0).round() / 1000.0,
        })
    }
}

/// What each connection sends: its own request builder (per-connection accounts for login).
type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

async fn measure(name: &'static str, connections: usize, secs: f64, make: MakeRequest) -> Scenario {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    // A short warm-up opens the connections so the measurement does not include handshakes.
    let warm_until = Instant::now() + Duration::from_millis(500);
    let started = warm_until;
    let deadline = started + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for conn in 0..connections {
        let (client, make) = (client.clone(), Arc::clone(&make));
        tasks.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let ok = match make(&client, conn).send().await {
                    Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if sent >= started {
                    latencies.push(sent.elapsed());
                    errors += usize::from(!ok);
                }
            }
            (latencies, errors)
        });
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while let Some(Ok((mut l, e))) = tasks.join_next().await {
        latencies.append(&mut l);
        errors += e;
    }
    latencies.sort();
    Scenario { name, connections, requests: latencies.len(), errors, elapsed: deadline - started, latencies }
}

#[tokio::main]
async fn main() {
    escalating_reminders::install_crypto_provider();
    let secs: f64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let database = common::create_database().await;
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", format!("{}/{database}?sslmode=disable", common::server_url())),
        ("REDIS_URL", redis),
        ("REDIS_KEY_PREFIX", format!("bench:{database}:")),
        ("JWT_SECRET", "bench-jwt-secret-that-is-long-enough-0123456789".to_owned()),
        ("JWT_REFRESH_SECRET", "bench-refresh-secret-that-is-long-enough-0123".to_owned()),
        ("ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()),
        // Measure the work, not the limiter's refusals: every request is still counted in Redis.
        ("DEFAULT_TIER", "PRO".to_owned()),
        ("RATE_LIMIT_MULTIPLIER", "1000".to_owned()),
        ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ];
    let config = Config::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .expect("bench configuration is valid");
    let state =
        escalating_reminders::roles::build_state(Arc::new(config), parse_roles("api").expect("roles")).expect("state");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(escalating_reminders::roles::run(state, Some(listener), shutdown.clone()));

    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client.get(format!("{base}/health/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One account per connection: concurrent logins of one account would trip the failed-login counter.
    let max = CONNECTIONS.iter().copied().max().unwrap_or(64);
    let mut tokens = Vec::with_capacity(max);
    for i in 0..max {
        tokens.push(common::register(&client, &base, &format!("bench{i}@example.com"), PASSWORD).await);
    }
    let tokens = Arc::new(tokens);

    let mut lines = Vec::new();
    for connections in CONNECTIONS {
        let health_url = format!("{base}/health");
        let health: MakeRequest = Arc::new(move |c: &reqwest::Client, _| c.get(&health_url));
        let baseline = measure("health", connections, secs, health).await;
        let baseline_rps = baseline.rps();

        let me_url = format!("{base}/v1/users/me");
        let me_tokens = Arc::clone(&tokens);
        let me: MakeRequest = Arc::new(move |c: &reqwest::Client, i| c.get(&me_url).bearer_auth(&me_tokens[i]));
        let users_me = measure("users_me", connections, secs, me).await;

        let login_url = format!("{base}/v1/auth/login");
        let login: MakeRequest = Arc::new(move |c: &reqwest::Client, i| {
            c.post(&login_url).json(&json!({"email": format!("bench{i}@example.com"), "password": PASSWORD}))
        });
        let logins = measure("login", connections, secs, login).await;

        for scenario in [baseline, users_me, logins] {
            let line = scenario.json(baseline_rps);
            println!("{line}");
            lines.push(line);
        }
    }

    shutdown.cancel();
    let _ = server.await;
    common::drop_database(&database).await;
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).expect("bench-results directory");
    let text = serde_json::to_string_pretty(&Value::Array(lines)).expect("json") + "\n";
    std::fs::write(out.join("accounts.json"), text).expect("write bench-results/accounts.json");
}
