//! The OpenAPI document: a committed snapshot (contract drift is a visible diff), every documented route
//! served, and Swagger UI served from the binary.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Method;

use crate::common::TestApp;

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

/// The app mounts each route from its documented operation (`http::routes!`), so the two cannot drift; this
/// checks the other half: each documented route answers, not the router's 404 or 405. (Which routes exist
/// is the snapshot's business.)
#[tokio::test(flavor = "multi_thread")]
async fn every_documented_route_is_served() {
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
    assert!(documented.len() > 80, "only {} documented routes", documented.len());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["apiKey"]["name"], "X-API-Key");
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:3801");

    for (method, path) in &documented {
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
