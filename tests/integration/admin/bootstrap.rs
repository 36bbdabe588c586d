//! `admin create` through the real binary, against an address someone registered before the operator ran it.

use std::time::Duration;

use serde_json::json;

use crate::common::{BinaryProcess, TestApp, base_env};
use crate::fixtures::scalar;

const SQUATTER_PASSWORD: &str = "registered it first";

/// Runs `admin create --email admin@company.com` plus `extra` against the app's database; exit code and output.
async fn admin_create(app: &TestApp, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["admin", "create", "--email", "Admin@Company.com"];
    args.extend_from_slice(extra);
    let mut process = BinaryProcess::start(&args, &base_env(&app.db));
    let code = process.wait_exit(Duration::from_secs(60)).await;
    // The output readers run on their own tasks; give them the last lines.
    tokio::time::sleep(Duration::from_millis(100)).await;
    (code, process.output().join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_never_promotes_an_account_registered_in_advance_unless_told_and_then_takes_it_over() {
    let app = TestApp::spawn().await;
    // Registration is open and unverified: someone registers the address the operator will use.
    let body = json!({"email": "admin@company.com", "password": SQUATTER_PASSWORD, "displayName": "Not the admin"});
    let registered = app.post("/v1/auth/register", body, None).await;
    let tokens = registered.data(201)["tokens"].clone();
    let token = tokens["accessToken"].as_str().unwrap().to_owned();
    let key = app.post("/v1/api-keys", json!({"name": "spare"}), Some(&token)).await;
    let key = key.data(201)["secret"].as_str().unwrap().to_owned();
    let with_key = || app.client.get(app.url("/v1/users/me")).header("x-api-key", key.clone()).send();

    let (code, output) = admin_create(&app, &[]).await;
    assert!(code.is_some_and(|code| code != 0), "refused with a non-zero exit: {code:?} {output}");
    assert!(output.contains("--promote-existing"), "the refusal names the flag: {output}");
    assert!(!output.contains("generated password"), "no password that would not work is printed: {output}");
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM admin_users").await, "0");
    app.get("/v1/admin/stats", Some(&token)).await.assert_error(403, "FORBIDDEN");
    assert_eq!(app.get("/v1/users/me", Some(&token)).await.status, 200, "a refusal changes nothing");

    let (code, output) = admin_create(&app, &["--promote-existing"]).await;
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("1 session(s) and 1 API key(s) revoked"), "{output}");
    let password = output
        .lines()
        .find_map(|line| line.split("generated password (shown once): ").nth(1))
        .unwrap_or_else(|| panic!("no generated password printed: {output}"))
        .trim()
        .to_owned();

    // Everything the first registrant held is dead: token, refresh token, API key and password.
    app.get("/v1/admin/stats", Some(&token)).await.assert_error(401, "UNAUTHORIZED");
    app.get("/v1/users/me", Some(&token)).await.assert_error(401, "UNAUTHORIZED");
    app.post("/v1/auth/refresh", json!({"refreshToken": tokens["refreshToken"]}), None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(with_key().await.unwrap().status(), 401);
    app.post("/v1/auth/login", json!({"email": "admin@company.com", "password": SQUATTER_PASSWORD}), None)
        .await
        .assert_error(401, "UNAUTHORIZED");

    // The printed password works, and it is the operator's admin now.
    let login = app.post("/v1/auth/login", json!({"email": "admin@company.com", "password": password}), None).await;
    let operator = login.data(200)["tokens"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/admin/stats", Some(&operator)).await.status, 200);
}
