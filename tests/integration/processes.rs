//! The real binary as child processes: configuration errors, start-up, leadership, shutdown.

use std::collections::HashMap;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::common::{BinaryProcess, TestDb, base_env, free_port};

fn env_with(db: &TestDb, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = base_env(db);
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

async fn exit_of(args: &[&str], env: &HashMap<String, String>) -> (Option<i32>, String) {
    let mut process = BinaryProcess::start(args, env);
    let code = process.wait_exit(Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    (code, process.output().join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_exits_2_naming_the_bad_variable() {
    let db = TestDb::create().await;
    let good = env_with(&db, &[]);
    let (code, output) = exit_of(&["check-config"], &good).await;
    assert_eq!(code, Some(0), "{output}");

    let cases: [(&str, &str, &str); 6] = [
        ("PORT", "not-a-number", "PORT"),
        ("ENCRYPTION_KEY", "dG9vIHNob3J0", "ENCRYPTION_KEY"),
        ("DATABASE_URL", "postgres://[bad", "DATABASE_URL"),
        ("REDIS_URL", "ftp://x", "REDIS_URL"),
        ("SCHEDULER_TICK_MS", "-5", "SCHEDULER_TICK_MS"),
        ("APP_ENV", "moon", "APP_ENV"),
    ];
    for (key, value, named) in cases {
        let env = env_with(&db, &[(key, value)]);
        let (code, output) = exit_of(&["check-config"], &env).await;
        assert_eq!(code, Some(2), "{key}={value}: {output}");
        assert!(output.contains(named), "{key}={value}: output does not name {named}: {output}");
        assert_eq!(output.lines().count(), 1, "one line expected: {output}");
    }
    let mut production = env_with(&db, &[("APP_ENV", "production")]);
    production.remove("JWT_SECRET");
    let (code, output) = exit_of(&["check-config"], &production).await;
    assert_eq!(code, Some(2));
    assert!(output.contains("JWT_SECRET"), "{output}");

    let (code, output) = exit_of(&["--role", "gardener", "check-config"], &good).await;
    assert_eq!(code, Some(2));
    assert!(output.contains("--role") && output.contains("gardener"), "{output}");
}

/// A guessable shared secret is a configuration error like any other: the api does not start with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_short_inbound_email_secret_or_metrics_token_stops_the_binary_naming_it() {
    let db = TestDb::create().await;
    for name in ["INBOUND_EMAIL_SECRET", "METRICS_TOKEN"] {
        let port = free_port();
        let env = env_with(&db, &[(name, "only-31-characters-of-secret-xy"), ("PORT", &port.to_string())]);
        let (code, output) = exit_of(&["--role", "api"], &env).await;
        assert_eq!(code, Some(2), "{name}: {output}");
        assert!(output.contains(name) && output.contains("at least 32 characters"), "{name}: {output}");
        assert!(!output.contains("only-31-characters"), "the value is not echoed: {output}");
    }
    let long_enough = env_with(&db, &[("INBOUND_EMAIL_SECRET", "exactly-32-characters-of-secret-")]);
    let (code, output) = exit_of(&["check-config"], &long_enough).await;
    assert_eq!(code, Some(0), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_all_migrates_a_fresh_database_and_serves_health() {
    let db = TestDb::create_empty().await;
    let port = free_port();
    let env = env_with(&db, &[("PORT", &port.to_string())]);
    let mut process = BinaryProcess::start(&["--role", "all"], &env);
    let ready = process.wait_ready(Duration::from_secs(30)).await;
    assert!(ready, "never ready: {:?}", process.output());
    let health: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{port}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["checks"]["database"], "ok");
    assert_eq!(health["checks"]["redis"], "ok");
    assert_eq!(health["role"], "all");
    let mut conn = db.connect().await;
    assert!(migration_count(&mut conn).await >= 5);
    process.signal("TERM").await;
    assert_eq!(process.wait_exit(Duration::from_secs(35)).await, Some(0), "{:?}", process.output());
}

/// The quick start: with `DATABASE_URL` unset, the binary creates its local database and migrates it. (The
/// default name is shared, so this test marks its own fresh name as the default instead.) With a
/// `DATABASE_URL` of its own, a missing database is an error that says so, and nothing is created.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_default_database_is_created_and_a_named_one_is_reported() {
    escalating_reminders::install_crypto_provider();
    let db = TestDb::missing();
    let env = base_env(&db);
    let state_with = |database_is_default: bool| {
        let config = escalating_reminders::config::Config::from_lookup(|name| env.get(name).cloned()).unwrap();
        let config = escalating_reminders::config::Config { database_is_default, ..config };
        let roles = escalating_reminders::cli::parse_roles("api").unwrap();
        escalating_reminders::roles::build_state(std::sync::Arc::new(config), roles).unwrap()
    };
    let refused = escalating_reminders::roles::migrate(&state_with(false)).await.expect_err("the database is missing");
    let text = format!("{refused:#}");
    assert!(text.contains(&format!("database \"{}\" does not exist", db.name)), "{text}");

    escalating_reminders::roles::migrate(&state_with(true)).await.expect("created and migrated");
    let mut conn = db.connect().await;
    assert!(migration_count(&mut conn).await >= 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_503_json_when_postgres_is_unreachable() {
    let db = TestDb::create().await;
    let port = free_port();
    let dead_db = format!("postgres://postgres@127.0.0.1:{}/nothing?sslmode=disable", free_port());
    let env = env_with(&db, &[("PORT", &port.to_string()), ("DATABASE_URL", &dead_db)]);
    let process = BinaryProcess::start(&["--role", "api"], &env);
    assert!(process.wait_for_http("/health", Duration::from_secs(15)).await.is_some());
    let res = reqwest::get(format!("http://127.0.0.1:{port}/health")).await.unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["checks"]["database"], "down");
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn migration_count(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(conn)
        .await
        .map(|c| c.n)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_apis_on_an_empty_database_both_serve_and_migrate_once() {
    let db = TestDb::create_empty().await;
    let (port_a, port_b) = (free_port(), free_port());
    let a = BinaryProcess::start(&["--role", "api"], &env_with(&db, &[("PORT", &port_a.to_string())]));
    let b = BinaryProcess::start(&["--role", "api"], &env_with(&db, &[("PORT", &port_b.to_string())]));
    assert!(a.wait_ready(Duration::from_secs(30)).await, "{:?}", a.output());
    assert!(b.wait_ready(Duration::from_secs(30)).await, "{:?}", b.output());
    let applied: Vec<String> =
        a.output().into_iter().chain(b.output()).filter(|line| line.contains("database migrations applied")).collect();
    assert_eq!(applied.len(), 1, "exactly one process applies migrations: {applied:?}");
    let mut conn = db.connect().await;
    let count = migration_count(&mut conn).await;
    assert_eq!(count as usize, std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count());
}

fn leader_epoch(line: &str) -> i64 {
    let tail = &line[line.find("epoch=").expect("epoch in line") + 6..];
    tail.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("epoch number")
}

#[tokio::test(flavor = "multi_thread")]
async fn one_scheduler_leads_and_a_standby_takes_over_within_two_seconds_of_sigkill() {
    let db = TestDb::create().await;
    let env = env_with(&db, &[]);
    let mut first = BinaryProcess::start(&["--role", "scheduler"], &env);
    let line = first.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("first leads");
    let first_epoch = leader_epoch(&line);
    let second = BinaryProcess::start(&["--role", "scheduler"], &env);
    second.wait_for_line("another scheduler is leader", Duration::from_secs(20)).await.expect("second waits");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.output().iter().any(|l| l.contains("scheduler became leader")), "two leaders at once");

    first.signal("KILL").await;
    let _ = first.wait_exit(Duration::from_secs(5)).await;
    let killed_at = tokio::time::Instant::now();
    let line =
        second.wait_for_line("scheduler became leader", Duration::from_secs(5)).await.expect("standby takes over");
    let took = killed_at.elapsed();
    assert!(took <= Duration::from_secs(2), "takeover took {took:?}");
    assert!(leader_epoch(&line) > first_epoch, "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_releases_leadership_and_exits_zero() {
    let db = TestDb::create().await;
    let env = env_with(&db, &[]);
    let mut first = BinaryProcess::start(&["--role", "scheduler"], &env);
    first.wait_for_line("scheduler became leader", Duration::from_secs(20)).await.expect("leads");
    first.signal("TERM").await;
    assert_eq!(first.wait_exit(Duration::from_secs(10)).await, Some(0), "{:?}", first.output());
    assert!(first.output().iter().any(|l| l.contains("scheduler released leadership")));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_slow_request_lets_it_finish_and_exits_zero() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::create().await;
    let port = free_port();
    let mut process = BinaryProcess::start(&["--role", "api"], &env_with(&db, &[("PORT", &port.to_string())]));
    assert!(process.wait_ready(Duration::from_secs(30)).await, "{:?}", process.output());

    // A client that uploads its body slowly keeps the request in flight across the signal. A first,
    // complete request on the same connection proves a worker owns the connection before the signal.
    let body = r#"{"email":"slow@example.com","password":"correct horse battery","displayName":"Slow"}"#;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut first = Vec::new();
    while !String::from_utf8_lossy(&first).contains("{\"ready\":true}") {
        let mut chunk = [0u8; 1024];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed early");
        first.extend_from_slice(&chunk[..read]);
    }
    let head = format!(
        "POST /v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    process.signal("TERM").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(&body.as_bytes()[20..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "response: {response:?}; log: {:?}", process.output());
    assert_eq!(process.wait_exit(Duration::from_secs(35)).await, Some(0), "{:?}", process.output());
}

/// API.md "Health and meta": a worker or scheduler without the api role still listens on `PORT` with
/// `/health`, `/health/ready` and `/metrics` (its own engine metrics), and nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn worker_and_scheduler_roles_serve_health_and_their_own_metrics_only() {
    use crate::engine::seed::Seed;
    let sink = crate::engine::accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, Default::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    let (worker_port, scheduler_port) = (free_port(), free_port());
    // One environment (one Redis prefix) for both, each with its own port.
    let mut env = env_with(&db, &[]);
    env.insert("PORT".to_owned(), worker_port.to_string());
    let worker = BinaryProcess::start(&["--role", "worker"], &env);
    env.insert("PORT".to_owned(), scheduler_port.to_string());
    let scheduler = BinaryProcess::start(&["--role", "scheduler"], &env);
    for (process, role) in [(&worker, "worker"), (&scheduler, "scheduler")] {
        assert!(process.wait_ready(Duration::from_secs(20)).await, "{role} never ready: {:?}", process.output());
        let base = format!("http://127.0.0.1:{}", process.port.expect("port"));
        let health: serde_json::Value = reqwest::get(format!("{base}/health")).await.unwrap().json().await.unwrap();
        assert_eq!(health["role"], role);
        assert_eq!(health["checks"]["database"], "ok");
        let other = reqwest::get(format!("{base}/v1/reminders")).await.unwrap();
        assert_eq!(other.status(), 404, "{role} serves no API");
        let body: serde_json::Value = other.json().await.unwrap();
        assert_eq!(body["error"]["code"], "NOT_FOUND");
    }
    seed.many_due_at(3, chrono::Utc::now(), hook.id).await;
    crate::engine::eventually(Duration::from_secs(30), "three delivered", || async {
        sink.received_requests().await.unwrap_or_default().len() == 3
    })
    .await;
    let metrics = |port: u16| async move {
        reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap()
    };
    let worker_metrics = metrics(worker_port).await;
    for name in ["deliveries_attempted_total{", "delivery_send_seconds", "delivery_claim_seconds"] {
        assert!(worker_metrics.contains(name), "worker /metrics lacks {name}:\n{worker_metrics}");
    }
    crate::engine::eventually(Duration::from_secs(30), "the scheduler reports its backlog", || async {
        let text = metrics(scheduler_port).await;
        ["reminders_fired_total", "delivery_queue_depth", "scheduler_lag_seconds", "reminders_due_not_fired"]
            .iter()
            .all(|name| text.contains(name))
    })
    .await;
}

/// Sentry (`SENTRY_DSN`, here a local fake): an internal error reaches it once, with the request id a user
/// would quote, and without the person's email address or credentials.
#[tokio::test(flavor = "multi_thread")]
async fn an_internal_error_reaches_sentry_once_with_the_request_id_and_no_personal_data() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let sentry = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sentry).await;
    let db = TestDb::create().await;
    let port = free_port();
    let dsn = format!("http://publickey@127.0.0.1:{}/42", sentry.address().port());
    let process =
        BinaryProcess::start(&["--role", "api"], &env_with(&db, &[("PORT", &port.to_string()), ("SENTRY_DSN", &dsn)]));
    assert!(process.wait_ready(Duration::from_secs(20)).await, "never ready: {:?}", process.output());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let email = "private.person@example.com";
    let registered: serde_json::Value = client
        .post(format!("{base}/v1/auth/register"))
        .json(
            &serde_json::json!({"email": email, "password": "correct horse battery", "displayName": "Private Person"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["data"]["tokens"]["accessToken"].as_str().expect("a token").to_owned();
    // An operator's mistake the code cannot handle: a table is gone.
    let mut conn = db.connect().await;
    diesel::sql_query("DROP TABLE api_keys CASCADE").execute(&mut conn).await.unwrap();
    let failed = client.get(format!("{base}/v1/api-keys")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(failed.status(), 500);
    let body: serde_json::Value = failed.json().await.unwrap();
    let request_id = body["meta"]["requestId"].as_str().expect("a request id").to_owned();

    crate::engine::eventually(Duration::from_secs(20), "Sentry received the event", || async {
        !sentry.received_requests().await.unwrap_or_default().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let envelopes: Vec<String> = sentry
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    let events: Vec<&String> = envelopes.iter().filter(|e| e.contains("\"type\":\"event\"")).collect();
    assert_eq!(events.len(), 1, "one event for one internal error: {envelopes:?}");
    assert!(events[0].contains(&request_id), "the event carries the request id: {}", events[0]);
    for envelope in &envelopes {
        assert!(!envelope.contains(email) && !envelope.contains(&token), "personal data reached Sentry: {envelope}");
    }
}
