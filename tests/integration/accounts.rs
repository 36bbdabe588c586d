//! Accounts: register, login, refresh rotation, logout, sessions, API keys, users/me, bad input, tenancy;
//! rate limits, idempotency, audit and the OpenAPI document in the submodules.

mod audit;
mod email_verification;
mod google;
mod idempotency;
mod limits;
mod openapi;
mod password_change;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp};

pub const PASSWORD: &str = "correct horse battery";

pub async fn register(app: &TestApp, email: &str) -> Value {
    let reply = app
        .post(
            "/v1/auth/register",
            json!({"email": email, "password": PASSWORD, "displayName": "Ada", "timezone": "Europe/Berlin"}),
            None,
        )
        .await;
    reply.data(201).clone()
}

fn access(auth: &Value) -> String {
    auth["tokens"]["accessToken"].as_str().expect("access token").to_owned()
}

async fn user_count(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect().await;
    diesel::sql_query("SELECT count(*) AS n FROM users").get_result::<N>(&mut conn).await.unwrap().n
}

#[tokio::test(flavor = "multi_thread")]
async fn register_login_and_me_round_trip() {
    let app = TestApp::spawn().await;
    let auth = register(&app, "  Ada@Example.com ").await;
    assert_eq!(auth["user"]["email"], "ada@example.com");
    assert_eq!(auth["user"]["timezone"], "Europe/Berlin");
    assert_eq!(auth["user"]["tier"], "FREE");
    assert_eq!(auth["tokens"]["expiresIn"], 900);

    let me = app.get("/v1/users/me", Some(&access(&auth))).await;
    assert_eq!(me.data(200)["email"], "ada@example.com");
    assert!(me.body["meta"]["timestamp"].as_str().unwrap().ends_with('Z'));

    let login = app.post("/v1/auth/login", json!({"email": "ADA@example.com", "password": PASSWORD}), None).await;
    assert!(login.data(200)["tokens"]["refreshToken"].as_str().unwrap().starts_with("ert_"));

    // One message for a wrong password and an unknown email.
    let wrong =
        app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": "nope-nope-nope"}), None).await;
    wrong.assert_error(401, "UNAUTHORIZED");
    let unknown = app.post("/v1/auth/login", json!({"email": "who@example.com", "password": PASSWORD}), None).await;
    unknown.assert_error(401, "UNAUTHORIZED");
    assert_eq!(wrong.body["error"]["message"], unknown.body["error"]["message"]);

    let dup = app
        .post("/v1/auth/register", json!({"email": "ada@EXAMPLE.com", "password": PASSWORD, "displayName": "B"}), None)
        .await;
    dup.assert_error(409, "CONFLICT");
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_registrations_change_nothing() {
    let app = TestApp::spawn().await;
    let long_name = "x".repeat(10_000);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"email": "no-at-sign", "password": PASSWORD, "displayName": "A"}), "email"),
        (json!({"email": "a@example.com", "password": "123456789", "displayName": "A"}), "password"),
        (json!({"email": "a@example.com", "password": "x".repeat(129), "displayName": "A"}), "password"),
        (json!({"email": "a@example.com", "password": PASSWORD, "displayName": long_name}), "displayName"),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "displayName": "A", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (json!({"email": "a@example.com", "password": PASSWORD, "displayName": "A", "admin": true}), ""),
        (json!({"email": "a@example.com", "password": 12345678901u64, "displayName": "A"}), "password"),
        (json!({"email": "a@example.com", "password": PASSWORD}), ""),
        (json!({"email": "a@example.com", "password": PASSWORD, "displayName": "A\u{0000}"}), ""),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/auth/register", body.clone(), None).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        if !field.is_empty() {
            let fields: Vec<&str> =
                reply.body["error"]["details"].as_array().unwrap().iter().filter_map(|d| d["field"].as_str()).collect();
            assert!(fields.contains(&field), "{body}: {fields:?}");
        }
    }
    // Every bad field is listed, not just the first.
    let many =
        app.post("/v1/auth/register", json!({"email": "x", "password": "short", "displayName": " "}), None).await;
    assert_eq!(many.body["error"]["details"].as_array().unwrap().len(), 3, "{}", many.text);
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_oversized_and_wrongly_typed_bodies_get_the_envelope() {
    let app = TestApp::spawn().await;
    let url = app.url("/v1/auth/register");
    let raw = |body: Vec<u8>, content_type: &'static str| {
        app.client.post(url.clone()).header("content-type", content_type).body(body).send()
    };
    Reply::from(raw(b"{\"email\":".to_vec(), "application/json").await.unwrap())
        .await
        .assert_error(400, "VALIDATION_ERROR");
    Reply::from(raw(b"".to_vec(), "application/json").await.unwrap()).await.assert_error(400, "VALIDATION_ERROR");
    Reply::from(raw(b"[1,2,3]".to_vec(), "application/json").await.unwrap())
        .await
        .assert_error(400, "VALIDATION_ERROR");
    Reply::from(raw(b"email=a".to_vec(), "application/x-www-form-urlencoded").await.unwrap())
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let huge = format!("{{\"email\":\"{}\"}}", "a".repeat(300 * 1024));
    Reply::from(raw(huge.into_bytes(), "application/json").await.unwrap()).await.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_are_rejected() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let auth = register(&app, "ada@example.com").await;
    let good = access(&auth);
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = good.split('.').collect();
    let claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();

    let sign = |claims: &Value, secret: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let secret = "test-jwt-secret-that-is-long-enough-0123456789";
    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    let mut refresh_typed = claims.clone();
    refresh_typed["typ"] = json!("refresh");
    let alg_none = format!("{}.{}.", engine.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let bad_tokens = [
        sign(&expired, secret),
        sign(&claims, "another-secret-another-secret-another-secret"),
        sign(&refresh_typed, secret),
        alg_none,
        "garbage".to_owned(),
        auth["tokens"]["refreshToken"].as_str().unwrap().to_owned(),
    ];
    for token in bad_tokens {
        app.get("/v1/users/me", Some(&token)).await.assert_error(401, "UNAUTHORIZED");
    }
    app.get("/v1/users/me", None).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(app.get("/v1/users/me", Some(&sign(&claims, secret))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let auth = register(&app, "ada@example.com").await;
    let first = auth["tokens"]["refreshToken"].as_str().unwrap().to_owned();
    let rotated = app.post("/v1/auth/refresh", json!({"refreshToken": first}), None).await;
    let second = rotated.data(200)["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let new_access = rotated.body["data"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/users/me", Some(&new_access)).await.status, 200);

    // Reusing the rotated token revokes the whole family: the new refresh token and its access token die.
    app.post("/v1/auth/refresh", json!({"refreshToken": first}), None).await.assert_error(401, "UNAUTHORIZED");
    app.post("/v1/auth/refresh", json!({"refreshToken": second}), None).await.assert_error(401, "UNAUTHORIZED");
    app.get("/v1/users/me", Some(&new_access)).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let auth = register(&app, "ada@example.com").await;
    let token = auth["tokens"]["refreshToken"].as_str().unwrap().to_owned();
    let attempts = (0..8).map(|_| app.post("/v1/auth/refresh", json!({"refreshToken": token}), None));
    let replies = futures_util::future::join_all(attempts).await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(winners, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 401));
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_sessions_and_password_change() {
    let app = TestApp::spawn().await;
    let first = register(&app, "ada@example.com").await;
    let second = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
    let second = second.data(200).clone();
    let sessions = app.get("/v1/auth/sessions", Some(&access(&second))).await;
    let list = sessions.data(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);

    let logout = app.post("/v1/auth/logout", json!({"refreshToken": first["tokens"]["refreshToken"]}), None).await;
    assert_eq!(logout.status, 204);
    app.get("/v1/users/me", Some(&access(&first))).await.assert_error(401, "UNAUTHORIZED");

    let wrong = app
        .post(
            "/v1/users/me/password",
            json!({"currentPassword": "wrong-password", "newPassword": "another good one"}),
            Some(&access(&second)),
        )
        .await;
    wrong.assert_error(401, "UNAUTHORIZED");
    let third = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
    let third = third.data(200).clone();
    let changed = app
        .post(
            "/v1/users/me/password",
            json!({"currentPassword": PASSWORD, "newPassword": "another good one"}),
            Some(&access(&second)),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    // Other sessions are revoked; the one that changed the password stays.
    app.get("/v1/users/me", Some(&access(&third))).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(app.get("/v1/users/me", Some(&access(&second))).await.status, 200);
    app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    let relogin =
        app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": "another good one"}), None).await;
    assert_eq!(relogin.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_updates_validate_every_field() {
    let app = TestApp::spawn().await;
    let token = access(&register(&app, "ada@example.com").await);
    let patched = app
        .call(Method::PATCH, "/v1/users/me", Some(json!({"displayName": "  Ada L. ", "timezone": "America/New_York", "quietHours": {"start": "22:00", "end": "07:00"}, "preferences": {"digest": true}})), Some(&token))
        .await;
    let data = patched.data(200);
    assert_eq!(data["displayName"], "Ada L.");
    assert_eq!(data["timezone"], "America/New_York");
    assert_eq!(data["quietHours"]["start"], "22:00");
    assert_eq!(data["preferences"]["digest"], true);

    let bad = app
        .call(
            Method::PATCH,
            "/v1/users/me",
            Some(
                json!({"timezone": "Mars/Base", "quietHours": {"start": "25:00", "end": "07:00"}, "preferences": [1]}),
            ),
            Some(&token),
        )
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.body["error"]["details"].as_array().unwrap().len(), 3, "{}", bad.text);
    let unchanged = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(unchanged.data(200)["timezone"], "America/New_York");

    let cleared = app.call(Method::PATCH, "/v1/users/me", Some(json!({"quietHours": null})), Some(&token)).await;
    assert!(cleared.data(200)["quietHours"].is_null());

    // Found by schemathesis: a PATCH that changes nothing is a no-op, not a 500.
    for nothing in [json!({}), json!({"displayName": null, "timezone": null, "preferences": null})] {
        let same = app.call(Method::PATCH, "/v1/users/me", Some(nothing), Some(&token)).await;
        assert_eq!(same.data(200)["timezone"], "America/New_York");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_authenticate_until_revoked_or_the_account_is_deleted() {
    let app = TestApp::spawn().await;
    let token = access(&register(&app, "ada@example.com").await);
    let created = app.post("/v1/api-keys", json!({"name": "home agent"}), Some(&token)).await;
    let key = created.data(201)["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("esk_live_") && key.len() >= "esk_live_".len() + 32);
    let with_key = |key: String| app.client.get(app.url("/v1/users/me")).header("x-api-key", key).send();
    assert_eq!(with_key(key.clone()).await.unwrap().status(), 200);

    let listed = app.get("/v1/api-keys", Some(&token)).await;
    let listed = listed.data(200).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once");
    assert!(key.starts_with(listed[0]["prefix"].as_str().unwrap()));
    assert!(listed[0]["lastUsedAt"].is_string(), "last use recorded");

    let id = listed[0]["id"].as_str().unwrap();
    assert_eq!(app.call(Method::DELETE, &format!("/v1/api-keys/{id}"), None, Some(&token)).await.status, 204);
    assert_eq!(with_key(key).await.unwrap().status(), 401);

    let second = app.post("/v1/api-keys", json!({"name": "other"}), Some(&token)).await;
    let second = second.data(201)["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.call(Method::DELETE, "/v1/users/me", None, Some(&token)).await.status, 204);
    assert_eq!(with_key(second).await.unwrap().status(), 401, "a deleted user's key is dead");
    app.get("/v1/users/me", Some(&token)).await.assert_error(401, "UNAUTHORIZED");
    // The address is free again.
    register(&app, "ada@example.com").await;
}

/// Every route that takes an id answers 404 for another user's id and changes nothing. Later issues add
/// their routes to this table.
#[tokio::test(flavor = "multi_thread")]
async fn tenancy_another_users_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "owner@example.com").await;
    let intruder = access(&register(&app, "intruder@example.com").await);
    let owner_token = access(&owner);
    let key = app.post("/v1/api-keys", json!({"name": "k"}), Some(&owner_token)).await;
    let key_id = key.data(201)["id"].as_str().unwrap().to_owned();
    let sessions = app.get("/v1/auth/sessions", Some(&owner_token)).await;
    let session_id = sessions.data(200)[0]["id"].as_str().unwrap().to_owned();

    let table: Vec<(Method, String)> = vec![
        (Method::DELETE, format!("/v1/api-keys/{key_id}")),
        (Method::DELETE, format!("/v1/auth/sessions/{session_id}")),
    ];
    for (method, path) in &table {
        app.call(method.clone(), path, None, Some(&intruder)).await.assert_error(404, "NOT_FOUND");
    }
    // Nothing changed for the owner.
    assert_eq!(app.get("/v1/api-keys", Some(&owner_token)).await.data(200).as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/users/me", Some(&owner_token)).await.status, 200);
    // A malformed id is a validation error, not a server error.
    app.call(Method::DELETE, "/v1/api-keys/not-a-uuid", None, Some(&intruder))
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_is_erased_with_everything_it_owned_once_its_purge_date_passes() {
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = access(&register(&app, "gone@example.com").await);
    let id = crate::fixtures::user_id(&app, &token).await;
    crate::fixtures::create(&app, &token, crate::fixtures::once_body("Water the plants")).await;
    let keeper = access(&register(&app, "kept@example.com").await);
    crate::fixtures::create(&app, &keeper, crate::fixtures::once_body("Stay")).await;
    assert_eq!(app.call(Method::DELETE, "/v1/users/me", None, Some(&token)).await.status, 204);
    let rows = |table: &str| format!("SELECT count(*)::text AS value FROM {table} WHERE user_id = '{id}'");
    let users = format!("SELECT count(*)::text AS value FROM users WHERE id = '{id}'");
    // Within the 30 days nothing is erased.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(crate::fixtures::scalar(&app, &users).await, "1");

    crate::fixtures::exec(&app, &format!("UPDATE users SET purge_after = now() - interval '1 day' WHERE id = '{id}'"))
        .await;
    crate::engine::eventually(std::time::Duration::from_secs(15), "the account is erased", || async {
        crate::fixtures::scalar(&app, &users).await == "0"
    })
    .await;
    for table in ["reminders", "escalation_profiles", "subscriptions", "refresh_sessions"] {
        assert_eq!(crate::fixtures::scalar(&app, &rows(table)).await, "0", "{table}");
    }
    assert_eq!(app.get("/v1/reminders", Some(&keeper)).await.data(200).as_array().unwrap().len(), 1);
    // The address is free again.
    register(&app, "gone@example.com").await;
}
