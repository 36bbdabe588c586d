//! Every admin route × every role, a normal user, an API key and no credentials, from one route list.

use std::collections::BTreeSet;

use escalating_reminders::admin::bootstrap::{AdminRequest, create};
use reqwest::Method;
use serde_json::{Value, json};

use super::{admin, customer, in_days};
use crate::common::{Reply, TestApp};
use crate::fixtures::scalar;

/// What a route needs, in the words.
#[derive(Clone, Copy, Debug)]
enum Need {
    Read,
    Note,
    DeliveryState,
    Override,
    /// Grant, change or revoke admin roles; delete accounts; change the settings.
    Manage,
}

struct Route {
    method: &'static str,
    path: &'static str,
    need: Need,
    /// The status when allowed.
    ok: u16,
}

/// Every admin route. The document must list exactly these under `/v1/admin`.
const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/v1/admin/stats", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/users", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/users/{id}", need: Need::Read, ok: 200 },
    Route { method: "POST", path: "/v1/admin/users/{id}/delivery-state", need: Need::DeliveryState, ok: 200 },
    Route { method: "GET", path: "/v1/admin/users/{id}/notes", need: Need::Read, ok: 200 },
    Route { method: "POST", path: "/v1/admin/users/{id}/notes", need: Need::Note, ok: 201 },
    Route { method: "POST", path: "/v1/admin/users/{id}/subscription", need: Need::Override, ok: 200 },
    Route { method: "GET", path: "/v1/admin/audit", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/health", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/health/history", need: Need::Read, ok: 200 },
    Route { method: "PATCH", path: "/v1/admin/users/{id}/notes/{noteId}", need: Need::Note, ok: 200 },
    Route { method: "DELETE", path: "/v1/admin/users/{id}/notes/{noteId}", need: Need::Note, ok: 204 },
    Route { method: "GET", path: "/v1/admin/admins", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/marketplace/agents", need: Need::Read, ok: 200 },
    // The matrix's agent type has the target's id (see `agent_type_named_like`).
    Route { method: "POST", path: "/v1/admin/marketplace/agents/{id}/review", need: Need::Manage, ok: 200 },
    // The target is made an admin, then revoked, then (no longer an admin) deleted: the order matters.
    Route { method: "PUT", path: "/v1/admin/admins/{id}", need: Need::Manage, ok: 200 },
    Route { method: "DELETE", path: "/v1/admin/admins/{id}", need: Need::Manage, ok: 204 },
    Route { method: "DELETE", path: "/v1/admin/users/{id}", need: Need::Manage, ok: 204 },
    Route { method: "GET", path: "/v1/admin/settings", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/stats/revenue", need: Need::Read, ok: 200 },
    Route { method: "GET", path: "/v1/admin/stats/activity", need: Need::Read, ok: 200 },
    Route { method: "PATCH", path: "/v1/admin/settings", need: Need::Manage, ok: 200 },
];

/// Who may do what, written from the issue rather than read from the code: every admin reads; writes go
/// to the roles whose job they are; READONLY and normal users write nothing.
fn allowed(role: Option<&str>, need: Need) -> bool {
    match (role, need) {
        (None, _) => false,
        (Some(_), Need::Read) | (Some("SUPER_ADMIN"), _) => true,
        (Some("SUPPORT"), Need::Note | Need::DeliveryState) => true,
        (Some("BILLING"), Need::Note | Need::Override) => true,
        _ => false,
    }
}

/// A marketplace agent type whose id is `id` (the matrix puts one id in every `{id}`).
async fn agent_type_named_like(app: &TestApp, id: &str) {
    crate::fixtures::exec(
        app,
        &format!(
            "INSERT INTO marketplace_agents (id, developer_id, agent_type, name, description, capabilities, \
             config_schema, callback_url, secret_ciphertext) VALUES ('{id}', '{id}', 'x-matrix', 'Matrix', 'A type', \
             '{{receive}}', '{{\"type\": \"object\"}}', 'https://example.com/in', '\\x00')"
        ),
    )
    .await;
}

/// A valid body for each write, so an allowed caller succeeds.
fn body_for(route: &Route) -> Option<Value> {
    let path = route.path;
    if route.method == "DELETE" {
        Some(json!({"reason": "matrix"}))
    } else if route.method == "PUT" {
        Some(json!({"role": "READONLY", "reason": "matrix"}))
    } else if path.ends_with("/settings") {
        Some(json!({"retentionAuditDays": 400, "reason": "matrix"}))
    } else if path.ends_with("{noteId}") {
        Some(json!({"pinned": true, "reason": "matrix"}))
    } else if path.ends_with("/delivery-state") {
        Some(json!({"state": "USAGE_SUSPENDED", "reason": "matrix", "until": in_days(3)}))
    } else if path.ends_with("/notes") {
        Some(json!({"body": "Called about a missed SMS.", "reason": "matrix"}))
    } else if path.ends_with("/review") {
        Some(json!({"decision": "approve"}))
    } else if path.ends_with("/subscription") {
        Some(json!({"tier": "PRO", "reason": "matrix"}))
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn permission_matrix_every_route_every_role_and_a_normal_user() {
    let app = TestApp::spawn_with(&[("FEATURE_MARKETPLACE", "true")]).await;
    let (_, target) = customer(&app, "target@example.com").await;
    agent_type_named_like(&app, &target).await;
    let (normal, _) = customer(&app, "normal@example.com").await;
    let mut callers: Vec<(Option<&str>, String)> = vec![(None, normal)];
    for role in ["SUPER_ADMIN", "SUPPORT", "BILLING", "READONLY"] {
        let admin = admin(&app, &format!("{}@example.com", role.to_lowercase()), role).await;
        callers.push((Some(role), admin.token));
    }
    let author = admin(&app, "author@example.com", "SUPPORT").await.admin_id;
    // A fresh note of the target's for each call that names one (a deleted note would be 404 to the next role).
    let note = async || {
        let sql = format!(
            "INSERT INTO support_notes (user_id, admin_user_id, body) VALUES ('{target}', '{author}', 'n') \
             RETURNING id::text AS value"
        );
        scalar(&app, &sql).await
    };
    let mut allowed_writes = 0;
    for route in ROUTES {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let write = route.method != "GET";
        for (role, token) in &callers {
            let path = route.path.replace("{id}", &target).replace("{noteId}", &note().await);
            let reply = app.call(method.clone(), &path, body_for(route), Some(token)).await;
            let who = role.unwrap_or("normal user");
            if allowed(*role, route.need) {
                assert_eq!(reply.status, route.ok, "{who} {} {path}: {}", route.method, reply.text);
                if route.ok != 204 {
                    assert_eq!(reply.body["success"], true);
                }
                allowed_writes += usize::from(write);
            } else {
                assert_eq!(reply.status, 403, "{who} {} {path}: {}", route.method, reply.text);
                reply.assert_error(403, "FORBIDDEN");
                if write {
                    // Refused before the body is judged: a bad body is 403 too, not 400.
                    let junk = app.call(method.clone(), &path, Some(json!({"junk": true})), Some(token)).await;
                    junk.assert_error(403, "FORBIDDEN");
                }
            }
        }
        // Without credentials: 401, never a hint of what is behind.
        let path = route.path.replace("{id}", &target).replace("{noteId}", &note().await);
        app.call(method, &path, body_for(route), None).await.assert_error(401, "UNAUTHORIZED");
    }
    // Each allowed write left one log row; refused ones left none.
    let logged = scalar(&app, "SELECT count(*)::text AS value FROM admin_actions").await;
    assert_eq!(logged, allowed_writes.to_string());
    // Delivery state: SUPER_ADMIN, SUPPORT; adding, editing and deleting notes: every role but READONLY;
    // override: SUPER_ADMIN, BILLING; granting and revoking a role, deleting an account, changing the
    // settings and reviewing a marketplace agent type: SUPER_ADMIN.
    assert_eq!(allowed_writes, 2 + 3 * 3 + 2 + 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admins_api_key_does_not_open_admin_routes() {
    let app = TestApp::spawn().await;
    let admin = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let key = app.post("/v1/api-keys", json!({"name": "script"}), Some(&admin.token)).await.data(201)["secret"]
        .as_str()
        .expect("the full key")
        .to_owned();
    let reply =
        Reply::from(app.client.get(app.url("/v1/admin/stats")).header("x-api-key", key).send().await.unwrap()).await;
    reply.assert_error(401, "UNAUTHORIZED");
    // The same admin signed in is let through.
    assert_eq!(app.get("/v1/admin/stats", Some(&admin.token)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_list_is_every_admin_route_of_the_document() {
    let app = TestApp::spawn().await;
    let doc = app.get("/v1/openapi.json", None).await.body;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if path.starts_with("/v1/admin") && item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(documented, listed);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_made_by_admin_create_signs_in_with_its_roles_powers() {
    let app = TestApp::spawn().await;
    let config = app.state.config.clone();
    let password = "a long enough password".to_owned();
    let request = |email: &str, role: &str, password: Option<String>| AdminRequest {
        email: email.to_owned(),
        role: role.to_owned(),
        password,
        promote_existing: false,
    };
    create(config.clone(), request("Boss@Example.com", "support", Some(password.clone())))
        .await
        .expect("admin created");
    assert!(create(config, request("x@example.com", "root", None)).await.is_err(), "unknown roles are refused");
    let login = app.post("/v1/auth/login", json!({"email": "boss@example.com", "password": password}), None).await;
    let token = login.data(200)["tokens"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/admin/stats", Some(&token)).await.status, 200);
    let (_, target) = customer(&app, "ada@example.com").await;
    let disable = json!({"state": "DELIVERY_DISABLED", "reason": "support case"});
    assert_eq!(app.post(&format!("/v1/admin/users/{target}/delivery-state"), disable, Some(&token)).await.status, 200);
    let grant = json!({"tier": "PRO", "reason": "not support's call"});
    app.post(&format!("/v1/admin/users/{target}/subscription"), grant, Some(&token))
        .await
        .assert_error(403, "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_have_their_own_rate_limit_bucket() {
    // FREE allows 100 requests an hour; scaled by 0.02 that is 2, and the admin bucket 200.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_MULTIPLIER", "0.02")]).await;
    let admin = admin(&app, "root@example.com", "SUPPORT").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get("/v1/users/me", Some(&admin.token)).await.status);
    }
    assert_eq!(statuses.last(), Some(&429), "the admin's own account is limited by its tier: {statuses:?}");
    for _ in 0..5 {
        assert_eq!(app.get("/v1/admin/stats", Some(&admin.token)).await.status, 200, "admin routes have their own");
    }
}
