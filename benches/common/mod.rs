//! Shared pieces of the benchmarks: a scratch database, the binary as a child process, its resource use,
//! a minimal webhook sink on loopback, and the JSON report.

#![allow(dead_code)] // each benchmark uses a different part

pub mod cpu;
pub mod drain;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Bytea, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

pub const ENCRYPTION_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh, empty database; the first process started on it migrates it.
pub async fn create_database() -> String {
    let name = format!("er_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await.expect("postgres");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
    name
}

pub async fn drop_database(name: &str) {
    if let Ok(mut admin) = AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
    }
}

pub async fn connect(database: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(&format!("{}/{database}", server_url())).await.expect("connect")
}

/// The environment every process of a benchmark shares, and the variables `BENCH_PASS_ENV` names
/// (comma-separated, e.g. `HTTP_WORKERS`) as the benchmark itself got them, to compare settings.
pub fn base_env(database: &str) -> Vec<(String, String)> {
    let passed = std::env::var("BENCH_PASS_ENV").unwrap_or_default();
    let passed = passed.split(',').filter_map(|name| Some((name.trim().to_owned(), std::env::var(name.trim()).ok()?)));
    [
        ("DATABASE_URL", format!("{}/{database}?sslmode=disable", server_url())),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", format!("bench:{database}:")),
        ("JWT_SECRET", "bench-jwt-secret-that-is-long-enough-0123456789".to_owned()),
        ("JWT_REFRESH_SECRET", "bench-refresh-secret-that-is-long-enough-0123".to_owned()),
        ("ENCRYPTION_KEY", ENCRYPTION_KEY_B64.to_owned()),
        ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(passed)
    .collect()
}

/// The release binary as a child process; killed when dropped.
pub struct Process {
    pub role: String,
    child: std::process::Child,
}

impl Process {
    /// Without `PORT` in `env` the process gets a free one: every role listens (health and metrics).
    pub fn start(args: &[&str], env: &[(String, String)]) -> Process {
        let port = env.iter().find(|(k, _)| k == "PORT").map_or_else(free_port, |(_, v)| v.clone());
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_escalating-reminders"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PORT", port)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("start the binary");
        Process { role: args.join(" "), child }
    }

    /// Runs the binary to completion (e.g. `migrate`).
    pub fn run(args: &[&str], env: &[(String, String)]) {
        let mut process = Process::start(args, env);
        let status = process.child.wait().expect("wait");
        assert!(status.success(), "{} failed: {status}", process.role);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now (VmRSS) and at its peak (VmHWM) in MiB, from /proc.
    pub fn memory(&self) -> (f64, f64) {
        memory_of(self.pid())
    }

    /// Peak resident memory (VmHWM) in MiB and CPU seconds so far, from /proc.
    pub fn usage(&self) -> (f64, f64) {
        usage_of(self.pid())
    }

    pub fn usage_json(&self) -> Value {
        let (rss, cpu) = self.usage();
        serde_json::json!({"role": self.role, "peak_rss_mib": rss, "cpu_seconds": cpu})
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory now (VmRSS) and at its peak (VmHWM) of process `pid` in MiB, from /proc.
pub fn memory_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |field: &str| {
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        round(kib / 1024.0, 1)
    };
    (mib("VmRSS:"), mib("VmHWM:"))
}

/// Peak resident memory (VmHWM) in MiB and CPU seconds so far of process `pid`, from /proc.
pub fn usage_of(pid: u32) -> (f64, f64) {
    let (_, hwm) = memory_of(pid);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = 100.0; // USER_HZ on Linux
    (hwm, round(ticks / hz, 2))
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port().to_string()
}

pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// The value at quantile `q` of sorted `values`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// What the sink saw: arrival time of each request by its `webhook-id`.
#[derive(Default)]
pub struct SinkLog {
    pub arrivals: HashMap<String, Vec<Instant>>,
    pub requests: usize,
}

/// A minimal HTTP/1.1 keep-alive server on loopback that answers 200 to everything and records each
/// request's `webhook-id`: as cheap as a receiver can be, so the benchmark measures us.
pub async fn start_sink() -> (String, Arc<Mutex<SinkLog>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
    let url = format!("http://{}/hook", listener.local_addr().expect("sink address"));
    let log = Arc::new(Mutex::new(SinkLog::default()));
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve_connection(socket, Arc::clone(&shared)));
        }
    });
    (url, log)
}

async fn serve_connection(mut socket: tokio::net::TcpStream, log: Arc<Mutex<SinkLog>>) {
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // One request: headers up to the blank line, then Content-Length bytes of body.
        let header_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim_start_matches(':').trim().to_owned()))
        };
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while buffer.len() < header_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let arrived = Instant::now();
        {
            let mut log = log.lock().expect("sink log");
            log.requests += 1;
            if let Some(id) = header("webhook-id") {
                log.arrivals.entry(id).or_default().push(arrived);
            }
        }
        buffer.drain(..header_end + length);
        if socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
            return;
        }
    }
}

/// Posts `total` bodies like a webhook's to `url` over `connections` keep-alive connections; requests/s.
pub async fn http_post_ceiling(url: &str, total: usize, connections: usize) -> f64 {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    let body = serde_json::json!({"type": "reminder.escalated", "data": {"title": "Bulk 1", "tier": 1,
        "reminderId": uuid::Uuid::new_v4(), "deliveryId": uuid::Uuid::new_v4()}})
    .to_string();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, body, next) = (client.clone(), url.to_owned(), body.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let _ = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", "ceiling")
                    .body(body.clone())
                    .send()
                    .await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    total as f64 / started.elapsed().as_secs_f64()
}

/// Registers `email` through the API at `base` and returns the new account's access token.
pub async fn register(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let body = json!({"email": email, "password": password, "displayName": "Bench"});
    let reply: Value = client
        .post(format!("{base}/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("register body");
    reply["data"]["tokens"]["accessToken"].as_str().unwrap_or_else(|| panic!("no access token: {reply}")).to_owned()
}

/// A `--role api` process of the release binary on a fresh, migrated database, ready, with a client that
/// keeps `connections` idle connections. Every user gets PRO (no reminder quota) and the rate limits have
/// room for a load from one address; the limiter still counts every request (in Redis).
pub struct Api {
    pub process: Process,
    pub database: String,
    pub base: String,
    pub client: reqwest::Client,
}

pub async fn start_api(connections: usize) -> Api {
    let database = create_database().await;
    let port = free_port();
    let mut env = base_env(&database);
    env.extend(
        [
            ("PORT", port.as_str()),
            ("DEFAULT_TIER", "PRO"),
            ("RATE_LIMIT_MULTIPLIER", "1000"),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "1000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Process::run(&["migrate"], &env);
    let process = Process::start(&["--role", "api"], &env);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    assert!(wait_ready(&client, &base).await, "the api did not become ready");
    Api { process, database, base, client }
}

/// Registers `email` and mints an API key for it; returns the key.
pub async fn api_key(client: &reqwest::Client, base: &str, email: &str) -> String {
    let token = register(client, base, email, "correct horse battery").await;
    let reply: Value = client
        .post(format!("{base}/v1/api-keys"))
        .bearer_auth(token)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .expect("create key")
        .json()
        .await
        .expect("key body");
    reply["data"]["secret"].as_str().expect("key secret").to_owned()
}

/// Waits up to a minute for the api at `base` to answer ready.
pub async fn wait_ready(client: &reqwest::Client, base: &str) -> bool {
    wait_until(Duration::from_secs(60), || {
        let request = client.get(format!("{base}/health/ready")).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await
}

/// Writes the report lines to `bench-results/<name>.json` and prints them.
pub fn report(name: &str, lines: &[Value]) {
    for line in lines {
        println!("{line}");
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-results");
    std::fs::create_dir_all(&out).expect("bench-results directory");
    let text = serde_json::to_string_pretty(&Value::Array(lines.to_vec())).expect("json") + "\n";
    std::fs::write(out.join(format!("{name}.json")), text).expect("write bench results");
}

/// Polls `done` every 50 ms until it is true or `limit` passes; returns whether it finished.
pub async fn wait_until<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs a `SELECT count(*) AS n …`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.expect("count").n
}

/// One user, one webhook subscription to `sink`, `n` one-off reminders due an hour from now; the user's id.
pub async fn seed(conn: &mut AsyncPgConnection, n: i64, sink: &str) -> Uuid {
    seed_due(conn, n, sink, "now() + interval '1 hour'").await
}

/// As [`seed`], with the `g`-th reminder (1..=n) due at the SQL expression `due` (in terms of `g`).
pub async fn seed_due(conn: &mut AsyncPgConnection, n: i64, sink: &str, due: &str) -> Uuid {
    use base64::Engine;
    let (user, subscription, profile) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    diesel::sql_query("INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Bench')")
        .bind::<SqlUuid, _>(user)
        .bind::<Text, _>(format!("{user}@example.com"))
        .execute(conn)
        .await
        .expect("user");
    diesel::sql_query("INSERT INTO subscriptions (user_id, tier) VALUES ($1, 'PRO')")
        .bind::<SqlUuid, _>(user)
        .execute(conn)
        .await
        .expect("subscription");
    let key = base64::engine::general_purpose::STANDARD.decode(ENCRYPTION_KEY_B64).expect("key");
    let key: [u8; 32] = key.try_into().expect("32 bytes");
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(Uuid::new_v4().as_bytes()));
    let sealed = escalating_reminders::crypto::encrypt(&key, subscription, secret.as_bytes()).expect("seal");
    diesel::sql_query(
        "INSERT INTO user_agent_subscriptions (id, user_id, agent_type, config, secret_ciphertext, verified_at)
         VALUES ($1, $2, 'webhook', $3, $4, now())",
    )
    .bind::<SqlUuid, _>(subscription)
    .bind::<SqlUuid, _>(user)
    .bind::<Jsonb, _>(json!({ "url": sink }))
    .bind::<Bytea, _>(sealed)
    .execute(conn)
    .await
    .expect("webhook subscription");
    diesel::sql_query("INSERT INTO escalation_profiles (id, user_id, name, tiers) VALUES ($1, $2, 'bench', $3)")
        .bind::<SqlUuid, _>(profile)
        .bind::<SqlUuid, _>(user)
        .bind::<Jsonb, _>(json!([{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [subscription]}]))
        .execute(conn)
        .await
        .expect("profile");
    diesel::sql_query(
        "WITH created AS (
            INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, next_trigger_at)
            SELECT $1, 'Bulk ' || g, $2, 'UTC', {due} FROM generate_series(1, $3) AS g
            RETURNING id, next_trigger_at)
         INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone)
         SELECT id, 'once', next_trigger_at, 'UTC' FROM created"
            .replace("{due}", due),
    )
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(profile)
    .bind::<BigInt, _>(n)
    .execute(conn)
    .await
    .expect("reminders");
    diesel::sql_query("VACUUM ANALYZE reminders").execute(conn).await.expect("analyze");
    user
}

/// Sets every reminder (active again) and its schedule due `seconds` from now; returns that instant.
pub async fn make_all_due(conn: &mut AsyncPgConnection, seconds: i64) -> chrono::DateTime<chrono::Utc> {
    make_due(conn, seconds, None).await
}

/// Sets the reminders of `user` (every user's with None), active again, and their schedules due `seconds`
/// from now; returns that instant.
pub async fn make_due(conn: &mut AsyncPgConnection, seconds: i64, user: Option<Uuid>) -> chrono::DateTime<chrono::Utc> {
    let due_at = chrono::Utc::now() + chrono::Duration::seconds(seconds);
    diesel::sql_query(
        "WITH due AS (UPDATE reminders SET status = 'active', next_trigger_at = $1
                      WHERE $2::uuid IS NULL OR user_id = $2 RETURNING id)
         UPDATE reminder_schedules SET trigger_at = $1 WHERE reminder_id IN (SELECT id FROM due)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(due_at)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(user)
    .execute(conn)
    .await
    .expect("due");
    due_at
}

/// Rows/s of the plainest batched claim Postgres can do: 500 rows a statement, locked and returned.
pub async fn update_ceiling(conn: &mut AsyncPgConnection, n: i64) -> f64 {
    diesel::sql_query("CREATE TABLE bench_ceiling (id uuid PRIMARY KEY, status text NOT NULL, attempts int NOT NULL)")
        .execute(conn)
        .await
        .expect("ceiling table");
    diesel::sql_query("INSERT INTO bench_ceiling SELECT gen_random_uuid(), 'pending', 0 FROM generate_series(1, $1)")
        .bind::<BigInt, _>(n)
        .execute(conn)
        .await
        .expect("ceiling rows");
    let started = Instant::now();
    loop {
        let updated = diesel::sql_query(
            "UPDATE bench_ceiling SET status = 'sent', attempts = attempts + 1
             WHERE id IN (SELECT id FROM bench_ceiling WHERE status = 'pending' LIMIT 500 FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .execute(conn)
        .await
        .expect("ceiling update");
        if updated == 0 {
            break;
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    diesel::sql_query("DROP TABLE bench_ceiling").execute(conn).await.expect("drop ceiling table");
    rate
}

/// What every engine benchmark starts from: `BENCH_N`, a migrated scratch database, its environment and a
/// connection to it.
pub struct Setup {
    pub n: i64,
    pub database: String,
    pub env: Vec<(String, String)>,
    pub conn: AsyncPgConnection,
}

pub async fn setup() -> Setup {
    escalating_reminders::install_crypto_provider();
    let n: i64 = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let database = create_database().await;
    let env = base_env(&database);
    Process::run(&["migrate"], &env);
    let conn = connect(&database).await;
    Setup { n, database, env, conn }
}
