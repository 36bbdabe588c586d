//! The api role through a real pgbouncer in transaction mode (`DATABASE_URL_POOLED`), the engine roles on
//! the direct URL: more concurrent requests than pgbouncer has server connections, all answered.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::common::pgbouncer::Pgbouncer;
use crate::common::{BinaryProcess, TestApp, TestDb, base_env};
use crate::engine::seed::Seed;
use crate::engine::{accepting_sink, eventually};
use crate::fixtures::{create, once_body, soon, user, user_id};

/// Server connections pgbouncer keeps per database; the clients outnumber them eight to one.
const POOL: u32 = 2;
const CLIENTS: usize = 16;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_serves_through_pgbouncer_in_transaction_mode() {
    let pgbouncer = Pgbouncer::start(POOL).await;
    let db = TestDb::create().await;
    let pooled = pgbouncer.url(&db.name);
    let app = TestApp::spawn_on(db, "api", &[("DATABASE_URL_POOLED", &pooled), ("DEFAULT_TIER", "PRO")]).await;
    let before = pgbouncer.stats(&app.db.name).await;

    let tokens: Vec<String> = futures_util::future::join_all((0..4).map(|n| {
        let app = &app;
        async move { user(app, &format!("pooled{n}@example.com")).await }
    }))
    .await;
    // Each client creates a reminder, reads it back and lists its owner's, all at once.
    let replies = futures_util::future::join_all((0..CLIENTS).map(|n| {
        let (app, token) = (&app, &tokens[n % tokens.len()]);
        async move {
            let created = app.post("/v1/reminders", once_body(&format!("Pooled {n}")), Some(token)).await;
            let id = created.data(201)["id"].as_str().expect("id").to_owned();
            let read = app.get(&format!("/v1/reminders/{id}"), Some(token)).await;
            assert_eq!(read.status, 200, "read {n}: {}", read.text);
            app.get("/v1/reminders", Some(token)).await
        }
    }))
    .await;
    for (n, listed) in replies.iter().enumerate() {
        assert_eq!(listed.status, 200, "list {n}: {}", listed.text);
    }
    for token in &tokens {
        let listed = app.get("/v1/reminders", Some(token)).await;
        assert_eq!(listed.body["meta"]["pagination"]["totalItems"], CLIENTS / tokens.len(), "{}", listed.text);
    }

    // The traffic went through pgbouncer: it counted the transactions.
    let (xacts, queries) = pgbouncer.stats(&app.db.name).await;
    assert!(xacts - before.0 >= (CLIENTS * 3) as i64, "pgbouncer forwarded {xacts} transactions, {queries} queries");

    // The engine roles on the direct URL deliver what the api wrote through pgbouncer.
    let sink = accepting_sink().await;
    let token = &tokens[0];
    let owner = Uuid::parse_str(&user_id(&app, token).await).expect("user id");
    let hook = Seed::for_user(&app, owner).webhook(&format!("{}/hook", sink.uri())).await;
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Hook", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [hook.id]}]}),
            Some(token),
        )
        .await;
    let profile_id = profile.data(201)["id"].as_str().expect("profile id").to_owned();
    let engine = BinaryProcess::start(&["--role", "scheduler,worker"], &base_env(&app.db));
    let body = json!({"title": "Through the pooler", "escalationProfileId": profile_id,
                      "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    create(&app, token, body).await;
    eventually(Duration::from_secs(30), "the webhook delivery", || async {
        sink.received_requests().await.is_some_and(|requests| requests.len() == 1)
    })
    .await;
    drop(engine);
    // Before the database is dropped under them, which pgbouncer would log as its server connections crashing.
    drop(pgbouncer);
}
