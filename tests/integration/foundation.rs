//! Foundation: health, the error envelope for actix's own errors, request ids, metrics, database TLS.

use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use escalating_reminders::config::Config;
use reqwest::Method;

use crate::common::{Reply, TestApp, TestDb, free_port};

#[tokio::test(flavor = "multi_thread")]
async fn health_is_ok_with_database_and_redis() {
    let app = TestApp::spawn().await;
    let reply = app.get("/health", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["status"], "ok");
    assert_eq!(reply.body["checks"]["database"], "ok");
    assert_eq!(reply.body["checks"]["redis"], "ok");
    assert_eq!(reply.body["role"], "api");
    assert_eq!(reply.body["version"], escalating_reminders::VERSION);
    assert_eq!(app.get("/health/ready", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_degraded_when_redis_is_unreachable_and_disabled_when_unset() {
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(&[("REDIS_URL", &closed)]).await;
    let reply = app.get("/health", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "degraded");
    assert_eq!(reply.body["checks"]["redis"], "down");

    let app = TestApp::spawn_with(&[("REDIS_URL", "")]).await;
    let reply = app.get("/health", None).await;
    assert_eq!(reply.body["status"], "ok");
    assert_eq!(reply.body["checks"]["redis"], "disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn actix_routing_errors_use_the_json_envelope() {
    let app = TestApp::spawn().await;
    app.get("/no/such/route", None).await.assert_error(404, "NOT_FOUND");
    app.get("/v1/nothing-here", None).await.assert_error(404, "NOT_FOUND");
    let reply = app.call(Method::DELETE, "/health", None, None).await;
    reply.assert_error(405, "METHOD_NOT_ALLOWED");
}

/// API.md "Bad bytes": NUL or invalid UTF-8 in a path, query, read header or body is a 400 envelope, and the
/// reminder list's search used to pass `%00` on to Postgres, which answered with a 500.
#[tokio::test(flavor = "multi_thread")]
async fn nul_or_invalid_utf8_anywhere_is_a_400_envelope_never_a_500() {
    let app = TestApp::spawn().await;
    let token = crate::fixtures::user(&app, "bytes@example.com").await;
    crate::fixtures::once_reminder(&app, &token, "kept").await;
    for path in ["/v1/reminders?q=%00", "/v1/reminders?q=a%ffb", "/v1/reminders?q=%C3", "/v1/hooks/erh_x%00y"] {
        let reply = app.get(path, Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.headers["x-request-id"].to_str().unwrap(), reply.body["meta"]["requestId"], "{path}");
    }
    let broken = reqwest::header::HeaderValue::from_bytes(b"esk_live_\xff\xfe").unwrap();
    let res = app.client.get(app.url("/v1/reminders")).header("x-api-key", broken).send().await.unwrap();
    crate::common::Reply::from(res).await.assert_error(400, "VALIDATION_ERROR");
    let nul_body = app
        .client
        .post(app.url("/v1/reminders"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"title":"a\u0000b","schedule":{"type":"once","at":"2030-01-01T09:00:00Z"}}"#)
        .send()
        .await
        .unwrap();
    crate::common::Reply::from(nul_body).await.assert_error(400, "VALIDATION_ERROR");
    // Nothing was refused that should not have been: plain and non-ASCII searches still answer.
    assert_eq!(app.get("/v1/reminders?q=kept", Some(&token)).await.data(200).as_array().map(Vec::len), Some(1));
    app.get("/v1/reminders?q=%C3%A9t%C3%A9", Some(&token)).await.data(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_echoed_or_generated_and_security_headers_are_set() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/health")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["cache-control"], "no-store");

    // An id with characters that could forge log lines is replaced, not echoed.
    let res = app.client.get(app.url("/nope")).header("x-request-id", "bad id\twith tab").send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(generated, "bad id\twith tab");
    assert!(uuid::Uuid::parse_str(&generated).is_ok());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["meta"]["requestId"], generated.as_str(), "error envelope carries the same id");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    app.get("/health", None).await;
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/health\""), "{text}");
}

/// A public deployment keeps `/metrics` to its scraper: by network (`METRICS_ALLOW`) or bearer token.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_can_be_kept_to_allowed_networks_or_a_bearer_token() {
    const TOKEN: &str = "metrics-token-long-enough-0123456789";
    let guarded = [("METRICS_ALLOW", "10.0.0.0/8"), ("METRICS_TOKEN", TOKEN), ("TRUSTED_PROXIES", "127.0.0.1/32")];
    let app = TestApp::spawn_with(&guarded).await;
    let scrape = |app: &TestApp, forwarded: &str, bearer: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics")).header("x-forwarded-for", forwarded.to_owned());
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        async move { Reply::from(request.send().await.unwrap()).await }
    };
    // A client on the internet, through the trusted proxy: no token, a wrong one, one in another scheme.
    scrape(&app, "203.0.113.9", None).await.assert_error(401, "UNAUTHORIZED");
    scrape(&app, "203.0.113.9", Some("metrics-token-long-enough-0123456780")).await.assert_error(401, "UNAUTHORIZED");
    let basic = app.client.get(app.url("/metrics")).header("authorization", format!("Basic {TOKEN}"));
    Reply::from(basic.send().await.unwrap()).await.assert_error(401, "UNAUTHORIZED");
    // The token opens it from anywhere; an address inside METRICS_ALLOW needs none.
    for allowed in [scrape(&app, "203.0.113.9", Some(TOKEN)).await, scrape(&app, "10.1.2.3", None).await] {
        assert_eq!(allowed.status, 200, "{}", allowed.text);
        assert!(allowed.text.contains("http_requests_total"), "{}", allowed.text);
    }
    // With only METRICS_ALLOW set, an outside client is forbidden (there is no token to ask for).
    let by_network = TestApp::spawn_with(&[("METRICS_ALLOW", "10.0.0.0/8")]).await;
    scrape(&by_network, "10.1.2.3", Some(TOKEN)).await.assert_error(403, "FORBIDDEN");
    // Without either, metrics stay open as before.
    assert_eq!(scrape(&TestApp::spawn().await, "203.0.113.9", None).await.status, 200);
}

#[derive(diesel::QueryableByName)]
struct Ssl {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

fn config_for(url: &str, verify: Option<&str>) -> Config {
    Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.to_owned()),
        "PG_TLS_VERIFY" => verify.map(str::to_owned),
        _ => None,
    })
    .expect("config")
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_require_really_uses_tls_and_verifies_by_default() {
    escalating_reminders::install_crypto_provider();
    let db = TestDb::create().await;
    let url = format!("{}/{}?sslmode=require", crate::common::database::server_url(), db.name);

    let config = config_for(&url, Some("none"));
    let mut conn =
        escalating_reminders::db::establish(&config, &config.database, "tls-test").await.expect("TLS connect");
    let row: Ssl = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(row.ssl, "the connection is not encrypted");

    // The local server's certificate is self-signed: full verification must refuse it.
    let config = config_for(&url, None);
    let refused = escalating_reminders::db::establish(&config, &config.database, "tls-test").await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");

    // sslmode=disable stays plain.
    let plain = format!("{}/{}?sslmode=disable", crate::common::database::server_url(), db.name);
    let config = config_for(&plain, None);
    let mut conn = escalating_reminders::db::establish(&config, &config.database, "tls-test").await.unwrap();
    let row: Ssl = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(!row.ssl);
}
