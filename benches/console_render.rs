//! Console render benchmark (issue 19): the release binary as a `--role api` process on a fresh database, one
//! user with `BENCH_REMINDERS` (default 500) reminders and `BENCH_DELIVERIES` (default 5 000) deliveries seeded
//! in bulk with SQL, signed in through the sign-up form. `BENCH_REQUESTS` (default 200) sequential requests
//! each of the dashboard (`/`) and the reminder list (`/reminders`) after a short warm-up, timed from request
//! to the last byte over loopback, beside the same loop on `/health` as a baseline; and each page's weight:
//! the HTML plus every stylesheet, script and image it references, uncompressed. Limits: p95 ≤ 15 ms per
//! page, weight ≤ 150 KB per page.
//!
//! `cargo bench --bench console_render` (not a timed test; run by hand). Needs the local PostgreSQL and Redis
//! (`TEST_DATABASE_URL`, `TEST_REDIS_URL`). Prints one JSON line per page (`ratio` = measured / limit) and
//! writes them to `bench-results/console_render.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Process, quantile, round};
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

const P95_LIMIT_MS: f64 = 15.0;
const WEIGHT_LIMIT_BYTES: f64 = 150.0 * 1024.0;
const WARM_UP: usize = 20;
const EMAIL: &str = "render-bench@example.com";
const PASSWORD: &str = "correct horse battery";
/// The shared "Gentle" preset (migration 3).
const PRESET_PROFILE: &str = "00000000-0000-4000-8000-000000000001";

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `Set-Cookie` values of `response` as `name=value` pairs.
fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// The value of hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Signs up through the console's form; returns the session cookie (`er_session=…`).
async fn sign_up(client: &reqwest::Client, base: &str) -> String {
    let form = client.get(format!("{base}/signup")).send().await.expect("sign-up page");
    let anon = cookies(&form).join("; ");
    let token = hidden(&form.text().await.expect("page"), "csrf");
    let reply = client
        .post(format!("{base}/signup"))
        .header(reqwest::header::COOKIE, anon)
        .form(&[
            ("csrf", token.as_str()),
            ("email", EMAIL),
            ("display_name", "Bench"),
            ("password", PASSWORD),
            ("timezone", "Europe/Berlin"),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign up");
    assert_eq!(reply.status(), 303, "signed up");
    cookies(&reply).into_iter().find(|c| c.starts_with("er_session=")).expect("a session cookie")
}

/// Reminders on daily cron schedules at spread-out times (a tenth of them snoozed, a few high or critical),
/// and deliveries over the last 30 days in a mix of channels and outcomes.
async fn seed(database: &str, reminders: i64, deliveries: i64) {
    let mut conn = common::connect(database).await;
    let user: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: uuid::Uuid,
        }
        diesel::sql_query("SELECT id FROM users WHERE email = $1")
            .bind::<Text, _>(EMAIL)
            .get_result::<Id>(&mut conn)
            .await
            .expect("the user")
            .id
    };
    diesel::sql_query(
        "WITH created AS (
            INSERT INTO reminders (user_id, title, description, importance, status, escalation_profile_id, timezone,
                                   next_trigger_at, snoozed_until)
            SELECT $1, 'Reminder number ' || g || ' — take the evening pills', 'Seeded for the render benchmark',
                   (ARRAY['low', 'medium', 'medium', 'high', 'critical'])[1 + g % 5],
                   CASE WHEN g % 10 = 0 THEN 'snoozed' ELSE 'active' END, $2::uuid, 'Europe/Berlin',
                   now() + g * interval '7 minutes',
                   CASE WHEN g % 10 = 0 THEN now() + interval '30 minutes' END
            FROM generate_series(1, $3) AS g
            RETURNING id, next_trigger_at)
         INSERT INTO reminder_schedules (reminder_id, kind, expression, timezone)
         SELECT id, 'cron', extract(minute FROM next_trigger_at)::int || ' ' || extract(hour FROM next_trigger_at)::int
                || ' * * *', 'Europe/Berlin'
         FROM created",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Text, _>(PRESET_PROFILE)
    .bind::<BigInt, _>(reminders)
    .execute(&mut conn)
    .await
    .expect("reminders");
    diesel::sql_query(
        "WITH mine AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i, count(*) OVER () AS n
                      FROM reminders WHERE user_id = $1)
         INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                 channel, status, created_at, sent_at, last_error)
         SELECT gen_random_uuid(), mine.id, $1, 1 + g % 3, 0, 'subscription', gen_random_uuid(),
                (ARRAY['email', 'sms', 'webhook', 'pull'])[1 + g % 4],
                (ARRAY['sent', 'delivered', 'delivered', 'failed', 'cancelled'])[1 + g % 5],
                now() - g * interval '8 minutes', now() - g * interval '8 minutes',
                CASE WHEN g % 5 = 3 THEN 'the number is not reachable' END
         FROM generate_series(1, $2) AS g JOIN mine ON mine.i = g % mine.n",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<BigInt, _>(deliveries)
    .execute(&mut conn)
    .await
    .expect("deliveries");
    diesel::sql_query("VACUUM ANALYZE").execute(&mut conn).await.expect("analyze");
}

/// `requests` sequential GETs of `path` after a warm-up; sorted latencies in ms and the last page's HTML.
async fn time_page(client: &reqwest::Client, url: &str, session: &str, requests: usize) -> (Vec<f64>, String) {
    let mut latencies = Vec::with_capacity(requests);
    let mut html = String::new();
    for i in 0..WARM_UP + requests {
        let sent = Instant::now();
        let response = client.get(url).header(reqwest::header::COOKIE, session).send().await.expect("page");
        let status = response.status();
        html = response.text().await.expect("body");
        let took = sent.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(status, 200, "{url}: {}", html.chars().take(500).collect::<String>());
        if i >= WARM_UP {
            latencies.push(took);
        }
    }
    latencies.sort_by(f64::total_cmp);
    (latencies, html)
}

/// The paths of the page's own assets: every `href`/`src` under `/assets/`.
fn assets_of(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["href=\"/assets/", "src=\"/assets/"] {
        for (at, _) in html.match_indices(marker) {
            let start = at + marker.len() - "/assets/".len();
            let path = html[start..].split('"').next().unwrap_or_default().to_owned();
            if !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

/// HTML plus every referenced asset, in bytes as served (the server sends none of them compressed unless
/// asked, and this client does not ask).
async fn weight(client: &reqwest::Client, base: &str, html: &str) -> (usize, Value) {
    let mut parts = vec![json!({"path": "(html)", "bytes": html.len()})];
    let mut total = html.len();
    for path in assets_of(html) {
        let body = client.get(format!("{base}{path}")).send().await.expect("asset").bytes().await.expect("body");
        total += body.len();
        parts.push(json!({"path": path, "bytes": body.len()}));
    }
    (total, Value::Array(parts))
}

#[tokio::main]
async fn main() {
    escalating_reminders::install_crypto_provider();
    let reminders = env_number("BENCH_REMINDERS", 500);
    let deliveries = env_number("BENCH_DELIVERIES", 5000);
    let requests = usize::try_from(env_number("BENCH_REQUESTS", 200)).unwrap_or(200);
    let database = common::create_database().await;
    let port = common::free_port();
    let mut env = common::base_env(&database);
    env.extend(
        [("PORT", port.as_str()), ("DEFAULT_TIER", "PRO"), ("RATE_LIMIT_MULTIPLIER", "1000")]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Process::run(&["migrate"], &env);
    let api = Process::start(&["--role", "api"], &env);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let ready = common::wait_until(Duration::from_secs(60), || {
        let request = client.get(format!("{base}/health/ready")).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    assert!(ready, "the api did not become ready");
    let session = sign_up(&client, &base).await;
    seed(&database, reminders, deliveries).await;

    // The same loop on `/health` (no database, no template): what this machine's load adds to any request.
    let (baseline, _) = time_page(&client, &format!("{base}/health"), &session, requests).await;
    let mut lines = vec![json!({
        "page": "health_baseline",
        "path": "/health",
        "p50_ms": round(quantile(&baseline, 0.50), 2),
        "p95_ms": round(quantile(&baseline, 0.95), 2),
    })];
    for (name, path) in [("dashboard", "/"), ("reminder_list", "/reminders")] {
        let (latencies, html) = time_page(&client, &format!("{base}{path}"), &session, requests).await;
        let (bytes, parts) = weight(&client, &base, &html).await;
        let p95 = quantile(&latencies, 0.95);
        lines.push(json!({
            "page": name,
            "path": path,
            "reminders": reminders,
            "deliveries": deliveries,
            "requests": requests,
            "p50_ms": round(quantile(&latencies, 0.50), 2),
            "p95_ms": round(p95, 2),
            "max_ms": round(latencies.last().copied().unwrap_or(0.0), 2),
            "p95_limit_ms": P95_LIMIT_MS,
            "ratio": round(p95 / P95_LIMIT_MS, 3),
            "weight_bytes": bytes,
            "weight_limit_bytes": WEIGHT_LIMIT_BYTES,
            "weight_ratio": round(bytes as f64 / WEIGHT_LIMIT_BYTES, 3),
            "within_limits": p95 <= P95_LIMIT_MS && bytes as f64 <= WEIGHT_LIMIT_BYTES,
            "parts": parts,
        }));
    }
    lines.push(api.usage_json());
    drop(api);
    common::drop_database(&database).await;
    common::report("console_render", &lines);
}
