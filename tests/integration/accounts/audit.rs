//! The audit trail: one row per mutating request, with the route pattern and target, never a secret.

use diesel::sql_types::{BigInt, Nullable, SmallInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use super::{PASSWORD, access, register};
use crate::common::TestApp;

#[derive(Debug, diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    actor_kind: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Nullable<Text>)]
    target_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_id: Option<String>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    status: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    request_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    with_user: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn mutating_requests_write_one_audit_row_each_without_secrets() {
    let app = TestApp::spawn().await;
    let auth = register(&app, "ada@example.com").await;
    let token = access(&auth);
    let created = app.post("/v1/api-keys", json!({"name": "agent"}), Some(&token)).await;
    let key_id = created.data(201)["id"].as_str().unwrap().to_owned();
    let secret = created.body["data"]["secret"].as_str().unwrap().to_owned();
    app.call(Method::PATCH, "/v1/users/me", Some(json!({"displayName": "Ada L."})), Some(&token)).await;
    app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": "a wrong password"}), None).await;
    // Reads are not audited.
    app.get("/v1/users/me", Some(&token)).await;
    let deleted = app
        .client
        .delete(app.url(&format!("/v1/api-keys/{key_id}")))
        .header("x-api-key", &secret)
        .header("x-request-id", "audit-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let mut conn = app.db.connect().await;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT actor_kind, action, target_type, target_id, status, ip, request_id,
                (actor_user_id IS NOT NULL)::int::int8 AS with_user
         FROM audit_trails ORDER BY created_at",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let actions: Vec<(&str, &str, Option<i16>)> =
        rows.iter().map(|r| (r.actor_kind.as_str(), r.action.as_str(), r.status)).collect();
    assert_eq!(
        actions,
        vec![
            ("anonymous", "POST /v1/auth/register", Some(201)),
            ("user", "POST /v1/api-keys", Some(201)),
            ("user", "PATCH /v1/users/me", Some(200)),
            ("anonymous", "POST /v1/auth/login", Some(401)),
            ("api_key", "DELETE /v1/api-keys/{id}", Some(204)),
        ]
    );
    let last = rows.last().unwrap();
    assert_eq!(last.target_type.as_deref(), Some("api-keys"));
    assert_eq!(last.target_id.as_deref(), Some(key_id.as_str()));
    assert_eq!(last.request_id.as_deref(), Some("audit-req-1"));
    assert_eq!(last.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(rows.iter().map(|r| r.with_user).sum::<i64>(), 3);

    // No password, key, token or email anywhere in the table.
    let refresh = auth["tokens"]["refreshToken"].as_str().unwrap();
    for needle in [PASSWORD, "a wrong password", secret.as_str(), token.as_str(), refresh, "ada@example.com"] {
        #[derive(diesel::QueryableByName)]
        struct Hits {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let hits: Hits = diesel::sql_query(
            "SELECT count(*) AS n FROM audit_trails a WHERE position($1 in row_to_json(a)::text) > 0",
        )
        .bind::<Text, _>(needle)
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(hits.n, 0, "{needle} found in audit_trails");
    }
}
