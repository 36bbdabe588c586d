//! A password change can take the account's API keys with it (`revokeApiKeys`), in the same step.

use reqwest::Method;
use serde_json::json;

use super::{PASSWORD, access, register};
use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_revokes_every_api_key_when_asked() {
    let app = TestApp::spawn().await;
    let token = access(&register(&app, "ada@example.com").await);
    let mut keys = Vec::new();
    for name in ["made by an intruder", "home agent"] {
        let created = app.post("/v1/api-keys", json!({"name": name}), Some(&token)).await;
        keys.push(created.data(201)["secret"].as_str().unwrap().to_owned());
    }
    let status_with = async |key: &str| {
        app.client.get(app.url("/v1/users/me")).header("x-api-key", key).send().await.unwrap().status().as_u16()
    };

    // A plain change keeps the keys, as before; a flag that is not a boolean changes nothing.
    let plain = json!({"currentPassword": PASSWORD, "newPassword": "second good password"});
    assert_eq!(app.post("/v1/users/me/password", plain, Some(&token)).await.status, 204);
    assert_eq!(status_with(&keys[0]).await, 200);
    let bad =
        json!({"currentPassword": "second good password", "newPassword": "third one here", "revokeApiKeys": "yes"});
    app.post("/v1/users/me/password", bad, Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(status_with(&keys[0]).await, 200);

    let revoking =
        json!({"currentPassword": "second good password", "newPassword": "third good password", "revokeApiKeys": true});
    let changed = app.post("/v1/users/me/password", revoking, Some(&token)).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    for key in &keys {
        assert_eq!(status_with(key).await, 401, "every key is revoked");
    }
    // The session that made the change stays, and lists no keys.
    let listed = app.call(Method::GET, "/v1/api-keys", None, Some(&token)).await;
    assert_eq!(listed.data(200).as_array().map(Vec::len), Some(0));
}
