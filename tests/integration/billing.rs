//! Billing: Square checkout and webhooks against a local mock, tier limits at their boundaries, and the
//! delivery controls through the real engine.

mod controls;
mod quotas;
mod square;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::Value;
use sha2::Sha256;

use crate::common::{Reply, TestApp};
use crate::fixtures::exec;

/// The key the Square tests configure.
const SIGNATURE_KEY: &str = "square-signature-key";
/// Where Square sends events: `API_URL` of the test environment and the route.
const NOTIFICATION_URL: &str = "http://127.0.0.1:3801/v1/webhooks/square";

/// base64(HMAC-SHA256(key, url + body)), computed here rather than by the code under test.
fn square_signature(url: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNATURE_KEY.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Posts raw `body` to the Square webhook with `signature` (none when `None`).
async fn post_event(app: &TestApp, body: &[u8], signature: Option<&str>) -> Reply {
    let mut request = app
        .client
        .request(Method::POST, app.url("/v1/webhooks/square"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-square-hmacsha256-signature", signature);
    }
    Reply::from(request.send().await.expect("request sent")).await
}

/// Posts `event` signed the way Square signs it.
async fn send_event(app: &TestApp, event: &Value) -> Reply {
    let body = serde_json::to_vec(event).unwrap();
    post_event(app, &body, Some(&square_signature(NOTIFICATION_URL, &body))).await
}

/// Puts the user on `tier` directly (what a Square event or an admin override would do).
async fn set_tier(app: &TestApp, user: &str, tier: &str) {
    exec(app, &format!("UPDATE subscriptions SET tier = '{tier}' WHERE user_id = '{user}'")).await;
}
