//! `Idempotency-Key`: replay, a different body, a key in flight, expiry, and unauthenticated POSTs.

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::{PASSWORD, access, register};
use crate::common::{Reply, TestApp};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn post_with_key(app: &TestApp, path: &str, body: &serde_json::Value, token: &str, key: &str) -> Reply {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    Reply::from(res).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_and_body_replays_and_a_different_body_is_unprocessable() {
    let app = TestApp::spawn().await;
    let token = access(&register(&app, "ada@example.com").await);
    let body = json!({"name": "home agent"});
    let first = post_with_key(&app, "/v1/api-keys", &body, &token, "create-key-1").await;
    let secret = first.data(201)["secret"].as_str().unwrap().to_owned();
    assert!(first.headers.get("idempotency-replayed").is_none());

    let again = post_with_key(&app, "/v1/api-keys", &body, &token, "create-key-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["data"], first.body["data"], "the stored response is replayed");
    assert_eq!(again.headers.get("idempotency-replayed").unwrap(), "true");
    assert_eq!(app.get("/v1/api-keys", Some(&token)).await.data(200).as_array().unwrap().len(), 1);

    let other = post_with_key(&app, "/v1/api-keys", &json!({"name": "another"}), &token, "create-key-1").await;
    other.assert_error(422, "UNPROCESSABLE_ENTITY");
    // The same key on another route is a different request too.
    let elsewhere = post_with_key(&app, "/v1/users/me/password", &body, &token, "create-key-1").await;
    elsewhere.assert_error(422, "UNPROCESSABLE_ENTITY");

    // Keys are per user: another user's identical key is a new request.
    let bob = access(&register(&app, "bob@example.com").await);
    assert!(
        post_with_key(&app, "/v1/api-keys", &body, &bob, "create-key-1")
            .await
            .headers
            .get("idempotency-replayed")
            .is_none()
    );

    // The stored response is sealed: the key shown once is not in the table in clear.
    let mut conn = app.db.connect().await;
    let clear: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM idempotency_keys WHERE position(convert_to($1, 'UTF8') in response_body) > 0",
    )
    .bind::<Text, _>(&secret)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(clear.n, 0);

    // After 24 h the key is forgotten: reused with a new body it runs again; upkeep prunes old rows.
    diesel::sql_query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&mut conn)
        .await
        .unwrap();
    let fresh = post_with_key(&app, "/v1/api-keys", &json!({"name": "later"}), &token, "create-key-1").await;
    assert_eq!(fresh.status, 201, "{}", fresh.text);
    let pruned = escalating_reminders::http::idempotency::prune(&mut conn, chrono::Utc::now()).await.unwrap();
    assert_eq!(pruned, 1, "only bob's old key is past 24 h");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_still_in_flight_answers_409() {
    let app = TestApp::spawn().await;
    let token = access(&register(&app, "ada@example.com").await);
    // A password change hashes twice, so the first request holds the key long enough for the second to see it.
    let body = json!({"currentPassword": PASSWORD, "newPassword": "another good one"});
    let (a, b) = tokio::join!(
        post_with_key(&app, "/v1/users/me/password", &body, &token, "pw-1"),
        post_with_key(&app, "/v1/users/me/password", &body, &token, "pw-1"),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{} / {}", a.text, b.text);
    let conflict = if a.status == 409 { a } else { b };
    conflict.assert_error(409, "CONFLICT");
    // Once finished, the same request replays the 204.
    let replay = post_with_key(&app, "/v1/users/me/password", &body, &token, "pw-1").await;
    assert_eq!(replay.status, 204);
    assert_eq!(replay.headers.get("idempotency-replayed").unwrap(), "true");
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthenticated_posts_ignore_the_header_and_bad_keys_are_rejected() {
    let app = TestApp::spawn().await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD, "displayName": "Ada"});
    let register = |key: &'static str| {
        app.client.post(app.url("/v1/auth/register")).header("idempotency-key", key).json(&body).send()
    };
    assert_eq!(Reply::from(register("reg-1").await.unwrap()).await.status, 201);
    Reply::from(register("reg-1").await.unwrap()).await.assert_error(409, "CONFLICT");

    let token = access(
        &app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None)
            .await
            .data(200)
            .clone(),
    );
    let long = "k".repeat(256);
    post_with_key(&app, "/v1/api-keys", &json!({"name": "x"}), &token, &long)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // A request that fails validation is stored too: the same bad request gets the same answer.
    let bad = post_with_key(&app, "/v1/api-keys", &json!({"name": ""}), &token, "bad-1").await;
    bad.assert_error(400, "VALIDATION_ERROR");
    let again = post_with_key(&app, "/v1/api-keys", &json!({"name": ""}), &token, "bad-1").await;
    again.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(again.headers.get("idempotency-replayed").unwrap(), "true");
}
