//! The OpenAPI document: a committed snapshot (contract drift is a visible diff), every route of the app
//! documented, and Swagger UI served from the binary.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Method;

use crate::common::TestApp;

/// Every route the app serves; a new route is added here with its handler. The document must list exactly
/// these, and each must be served (not the router's 404).
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/docs"),
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/auth/sessions"),
    ("DELETE", "/v1/auth/sessions/{id}"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{id}"),
    ("GET", "/v1/users/me"),
    ("PATCH", "/v1/users/me"),
    ("DELETE", "/v1/users/me"),
    ("POST", "/v1/users/me/password"),
    ("GET", "/v1/reminders"),
    ("POST", "/v1/reminders"),
    ("GET", "/v1/reminders/{id}"),
    ("PATCH", "/v1/reminders/{id}"),
    ("DELETE", "/v1/reminders/{id}"),
    ("POST", "/v1/reminders/{id}/snooze"),
    ("POST", "/v1/reminders/{id}/acknowledge"),
    ("POST", "/v1/reminders/{id}/complete"),
    ("GET", "/v1/reminders/{id}/escalations"),
    ("GET", "/v1/reminders/{id}/preview"),
    ("GET", "/v1/escalation-profiles"),
    ("POST", "/v1/escalation-profiles"),
    ("GET", "/v1/escalation-profiles/{id}"),
    ("PATCH", "/v1/escalation-profiles/{id}"),
    ("DELETE", "/v1/escalation-profiles/{id}"),
    ("GET", "/v1/agents"),
    ("GET", "/v1/agents/subscriptions"),
    ("POST", "/v1/agents/{agentType}/subscribe"),
    ("PATCH", "/v1/agents/subscriptions/{id}"),
    ("DELETE", "/v1/agents/subscriptions/{id}"),
    ("POST", "/v1/agents/subscriptions/{id}/test"),
    ("POST", "/v1/agents/subscriptions/{id}/verify"),
    ("POST", "/v1/agents/subscriptions/{id}/verify/resend"),
    ("GET", "/v1/notifications"),
    ("GET", "/v1/notifications/pending"),
    ("POST", "/v1/notifications/{id}/delivered"),
    ("GET", "/v1/reminders/{id}/completion-hooks"),
    ("POST", "/v1/reminders/{id}/completion-hooks"),
    ("DELETE", "/v1/reminders/{id}/completion-hooks/{hookId}"),
    ("POST", "/v1/reminders/{id}/completion-hooks/{hookId}/rotate"),
    ("POST", "/v1/hooks/{token}"),
    ("GET", "/v1/watchers"),
    ("POST", "/v1/watchers"),
    ("GET", "/v1/watchers/{id}"),
    ("DELETE", "/v1/watchers/{id}"),
    ("POST", "/v1/watchers/rotate-address"),
    ("POST", "/v1/webhooks/email/inbound"),
    ("POST", "/v1/webhooks/email/inbound/{secret}"),
    ("GET", "/v1/trusted-contacts"),
    ("POST", "/v1/trusted-contacts"),
    ("GET", "/v1/trusted-contacts/{id}"),
    ("PATCH", "/v1/trusted-contacts/{id}"),
    ("DELETE", "/v1/trusted-contacts/{id}"),
    ("GET", "/contacts/invitation/{token}"),
    ("POST", "/contacts/invitation/{token}"),
    ("GET", "/contacts/opt-out/{token}"),
    ("POST", "/contacts/opt-out/{token}"),
    ("GET", "/contacts/got-it/{token}"),
    ("POST", "/contacts/got-it/{token}"),
    ("GET", "/a/{token}"),
    ("POST", "/a/{token}"),
    ("GET", "/v1/admin/stats"),
    ("GET", "/v1/admin/users"),
    ("GET", "/v1/admin/users/{id}"),
    ("POST", "/v1/admin/users/{id}/delivery-state"),
    ("GET", "/v1/admin/users/{id}/notes"),
    ("POST", "/v1/admin/users/{id}/notes"),
    ("POST", "/v1/admin/users/{id}/subscription"),
    ("GET", "/v1/admin/audit"),
    ("GET", "/v1/admin/health"),
    ("GET", "/v1/admin/health/history"),
    ("POST", "/v1/webhooks/twilio/sms"),
    ("POST", "/v1/webhooks/twilio/status"),
    ("GET", "/v1/billing/subscription"),
    ("POST", "/v1/billing/checkout"),
    ("POST", "/v1/billing/cancel"),
    ("GET", "/v1/billing/invoices"),
    ("POST", "/v1/webhooks/square"),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let reply = app.get("/v1/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type().starts_with("application/json"));
    let current = serde_json::to_string_pretty(&reply.body).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != current {
        let first_difference = stored
            .lines()
            .zip(current.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  snapshot: {a}\n  current:  {b}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".to_owned());
        panic!(
            "the OpenAPI document changed ({first_difference}).\nIf the change is intended, run \
             `UPDATE_SNAPSHOTS=1 cargo test --test integration openapi_document` and commit \
             tests/snapshots/openapi.json; `git diff` then shows the contract change."
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_is_in_the_document_and_served() {
    let app = TestApp::spawn().await;
    let doc = app.get("/v1/openapi.json", None).await.body;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, expected, "documented routes differ from the app's routes");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["apiKey"]["name"], "X-API-Key");
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:3801");

    // Each listed route exists in the app: not the router's 404 or 405.
    for (method, path) in ROUTES {
        let path = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let reply = app.call(Method::from_bytes(method.as_bytes()).unwrap(), &path, None, None).await;
        assert_ne!(reply.status, 405, "{method} {path}");
        assert_ne!(reply.body["error"]["message"], "No such route.", "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn docs_render_swagger_ui_from_assets_in_the_binary() {
    let app = TestApp::spawn().await;
    let redirect = app.get("/v1/docs", None).await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.headers.get("location").unwrap(), "/v1/docs/");
    let page = app.get("/v1/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"), "{}", page.content_type());
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    let init = app.get("/v1/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/v1/openapi.json"), "{}", init.text);
}
