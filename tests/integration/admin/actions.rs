//! Admin writes: each leaves exactly one `admin_actions` row with admin, target, reason, before/after, IP
//! and request id; refused and invalid writes leave none. The audit route filters and pages that log.

use serde_json::{Value, json};

use super::{Admin, admin, customer, in_days};
use crate::common::{Reply, TestApp};
use crate::fixtures::{fields, scalar};

async fn log_count(app: &TestApp) -> usize {
    scalar(app, "SELECT count(*)::text AS value FROM admin_actions").await.parse().unwrap()
}

/// The newest log row as JSON.
async fn newest_action(app: &TestApp) -> Value {
    let row =
        scalar(app, "SELECT row_to_json(a)::text AS value FROM admin_actions a ORDER BY created_at DESC LIMIT 1").await;
    serde_json::from_str(&row).unwrap()
}

/// Posts `body` to the user's admin `route` and checks the one new log row it must leave.
async fn write_and_check(app: &TestApp, admin: &Admin, target: &str, route: &str, body: Value, action: &str) -> Reply {
    let before = log_count(app).await;
    let reply = app.post(&format!("/v1/admin/users/{target}/{route}"), body.clone(), Some(&admin.token)).await;
    assert!(reply.status == 200 || reply.status == 201, "{route}: {}", reply.text);
    assert_eq!(log_count(app).await, before + 1, "{route} must log exactly one row");
    let row = newest_action(app).await;
    assert_eq!(row["action"], action);
    assert_eq!(row["admin_user_id"], admin.admin_id.as_str());
    assert_eq!(row["target_user_id"], target);
    assert_eq!(row["reason"], body["reason"]);
    assert_eq!(row["ip"], "127.0.0.1");
    assert_eq!(row["request_id"], reply.headers.get("x-request-id").unwrap().to_str().unwrap());
    assert!(row["changes"].get("before").is_some() && row["changes"]["after"].is_object(), "{row}");
    reply
}

#[tokio::test(flavor = "multi_thread")]
async fn every_write_leaves_one_log_row_with_before_and_after() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (customer_token, target) = customer(&app, "ada@example.com").await;
    let until = in_days(3);

    let suspend = json!({"state": "USAGE_SUSPENDED", "reason": "chargeback under review", "until": until});
    let reply = write_and_check(&app, &root, &target, "delivery-state", suspend, "user.suspend").await;
    assert_eq!(reply.data(200)["deliveryState"], "USAGE_SUSPENDED");
    let row = newest_action(&app).await;
    assert_eq!(row["changes"]["before"]["deliveryState"], "ACTIVE");
    assert_eq!(row["changes"]["after"]["deliveryState"], "USAGE_SUSPENDED");
    assert_eq!(row["changes"]["after"]["deliveryStateReason"], "chargeback under review");
    let stored = scalar(&app, &format!("SELECT delivery_state || ' ' || (usage_suspended_until = '{until}')::text AS value FROM subscriptions WHERE user_id = '{target}'")).await;
    assert_eq!(stored, "USAGE_SUSPENDED true");

    let unsuspend = json!({"state": "ACTIVE", "reason": "resolved"});
    write_and_check(&app, &root, &target, "delivery-state", unsuspend, "user.unsuspend").await;
    let row = newest_action(&app).await;
    assert_eq!(row["changes"]["before"]["deliveryState"], "USAGE_SUSPENDED");
    assert_eq!(
        row["changes"]["after"],
        json!({"deliveryState": "ACTIVE", "deliveryStateReason": null, "usageSuspendedUntil": null})
    );

    let disable = json!({"state": "DELIVERY_DISABLED", "reason": "abuse report"});
    write_and_check(&app, &root, &target, "delivery-state", disable, "user.disable_delivery").await;
    let enable = json!({"state": "ACTIVE", "reason": "cleared"});
    write_and_check(&app, &root, &target, "delivery-state", enable, "user.enable_delivery").await;
    assert_eq!(
        scalar(&app, &format!("SELECT delivery_state AS value FROM subscriptions WHERE user_id = '{target}'")).await,
        "ACTIVE"
    );

    let grant = json!({"tier": "PRO", "reason": "beta tester"});
    let reply = write_and_check(&app, &root, &target, "subscription", grant, "subscription.override").await;
    assert_eq!(reply.data(200)["effectiveTier"], "PRO");
    let row = newest_action(&app).await;
    assert_eq!(row["changes"]["before"], json!({"tierOverride": null, "effectiveTier": "FREE"}));
    assert_eq!(row["changes"]["after"], json!({"tierOverride": "PRO", "effectiveTier": "PRO"}));
    // The grant is in force at once for the user.
    assert_eq!(app.get("/v1/users/me", Some(&customer_token)).await.data(200)["tier"], "PRO");
    let clear = json!({"tier": null, "reason": "beta over"});
    write_and_check(&app, &root, &target, "subscription", clear, "subscription.clear_override").await;
    assert_eq!(app.get("/v1/users/me", Some(&customer_token)).await.data(200)["tier"], "FREE");

    let note = json!({"body": "Asked for SMS receipts.", "reason": "phone call"});
    let reply = write_and_check(&app, &root, &target, "notes", note, "note.add").await;
    let note_id = reply.data(201)["id"].clone();
    assert_eq!(newest_action(&app).await["changes"]["after"]["noteId"], note_id);
    assert_eq!(log_count(&app).await, 7);
    // The request audit trail names these requests as an admin's.
    let kinds = scalar(
        &app,
        "SELECT string_agg(DISTINCT actor_kind, ',') AS value FROM audit_trails WHERE action LIKE 'POST /v1/admin/%'",
    )
    .await;
    assert_eq!(kinds, "admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_invalid_writes_change_nothing_and_log_nothing() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, target) = customer(&app, "ada@example.com").await;
    let path = format!("/v1/admin/users/{target}/delivery-state");
    let cases = [
        (json!({"state": "DELIVERY_DISABLED", "reason": "   "}), "reason"),
        (json!({"state": "DELIVERY_DISABLED"}), "reason"),
        (json!({"state": "USAGE_SUSPENDED", "reason": "x"}), "until"),
        (json!({"state": "USAGE_SUSPENDED", "reason": "x", "until": "2020-01-01T00:00:00Z"}), "until"),
        (json!({"state": "ACTIVE", "reason": "x", "until": in_days(1)}), "until"),
        (json!({"state": "PAUSED", "reason": "x"}), "state"),
        (json!({"state": "ACTIVE", "reason": "x", "extra": 1}), "extra"),
    ];
    for (body, field) in cases {
        let reply = app.post(&path, body.clone(), Some(&root.token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(
            fields(&reply).iter().any(|f| f.contains(field)) || reply.text.contains(field),
            "{body}: {}",
            reply.text
        );
    }
    let subscription = format!("/v1/admin/users/{target}/subscription");
    app.post(&subscription, json!({"reason": "tier missing"}), Some(&root.token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.post(&subscription, json!({"tier": "GOLD", "reason": "x"}), Some(&root.token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let notes = format!("/v1/admin/users/{target}/notes");
    app.post(&notes, json!({"body": "", "reason": "x"}), Some(&root.token)).await.assert_error(400, "VALIDATION_ERROR");
    app.post(&notes, json!({"body": "x".repeat(5001), "reason": "x"}), Some(&root.token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // An unknown user is 404 for every write.
    let nobody = uuid::Uuid::new_v4();
    for (route, body) in [
        ("delivery-state", json!({"state": "DELIVERY_DISABLED", "reason": "x"})),
        ("subscription", json!({"tier": "PRO", "reason": "x"})),
        ("notes", json!({"body": "x", "reason": "x"})),
    ] {
        app.post(&format!("/v1/admin/users/{nobody}/{route}"), body, Some(&root.token))
            .await
            .assert_error(404, "NOT_FOUND");
    }
    assert_eq!(log_count(&app).await, 0);
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM support_notes").await, "0");
    let state = scalar(
        &app,
        &format!(
            "SELECT COALESCE((SELECT delivery_state FROM subscriptions WHERE user_id = '{target}'), 'ACTIVE') AS value"
        ),
    )
    .await;
    assert_eq!(state, "ACTIVE");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_filters_by_admin_target_action_and_time_and_pages() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let support = admin(&app, "support@example.com", "SUPPORT").await;
    let (_, ada) = customer(&app, "ada@example.com").await;
    let (_, bob) = customer(&app, "bob@example.com").await;
    let note = |reason: &str| json!({"body": "note", "reason": reason});
    for i in 0..4 {
        app.post(&format!("/v1/admin/users/{ada}/notes"), note(&format!("ada {i}")), Some(&root.token)).await.data(201);
    }
    app.post(&format!("/v1/admin/users/{bob}/notes"), note("bob"), Some(&support.token)).await.data(201);
    let suspend = json!({"state": "DELIVERY_DISABLED", "reason": "bob disabled"});
    app.post(&format!("/v1/admin/users/{bob}/delivery-state"), suspend, Some(&support.token)).await.data(200);

    let audit = |query: String| {
        let app = &app;
        let token = root.token.clone();
        async move { app.get(&format!("/v1/admin/audit{query}"), Some(&token)).await }
    };
    let all = audit(String::new()).await;
    assert_eq!(all.data(200).as_array().unwrap().len(), 6);
    assert_eq!(all.body["data"][0]["action"], "user.disable_delivery", "newest first");
    assert_eq!(all.body["data"][0]["adminEmail"], "support@example.com");
    assert_eq!(all.body["meta"]["pagination"]["totalItems"], 6);

    let by_admin = audit(format!("?adminId={}", support.admin_id)).await;
    assert_eq!(by_admin.data(200).as_array().unwrap().len(), 2);
    let by_target = audit(format!("?targetUserId={ada}")).await;
    assert_eq!(by_target.data(200).as_array().unwrap().len(), 4);
    let by_action = audit("?action=note.add".to_owned()).await;
    assert_eq!(by_action.data(200).as_array().unwrap().len(), 5);
    let both = audit(format!("?action=note.add&targetUserId={bob}&adminId={}", support.admin_id)).await;
    assert_eq!(both.data(200).as_array().unwrap().len(), 1);
    assert_eq!(both.body["data"][0]["reason"], "bob");
    let future = audit(format!("?from={}", in_days(1))).await;
    assert_eq!(future.data(200).as_array().unwrap().len(), 0);
    let past = audit(format!("?to={}", in_days(-1))).await;
    assert_eq!(past.data(200).as_array().unwrap().len(), 0);
    let window = audit(format!("?from={}&to={}", in_days(-1), in_days(1))).await;
    assert_eq!(window.data(200).as_array().unwrap().len(), 6);

    let page = audit("?pageSize=4&page=2".to_owned()).await;
    assert_eq!(page.data(200).as_array().unwrap().len(), 2);
    assert_eq!(page.body["meta"]["pagination"], json!({"page": 2, "pageSize": 4, "totalItems": 6, "totalPages": 2}));

    // Bad filters are the JSON envelope, never a 500.
    for query in ["?adminId=nope", "?from=yesterday", "?pageSize=1000", "?page=0", "?page=100001", "?page=x"] {
        audit(query.to_owned()).await.assert_error(400, "VALIDATION_ERROR");
    }
    audit(format!("?from={}&to={}", in_days(1), in_days(-1))).await.assert_error(400, "VALIDATION_ERROR");
    audit(format!("?action={}", "a".repeat(65))).await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_logged_ip_is_the_client_behind_a_trusted_proxy() {
    let app = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, target) = customer(&app, "ada@example.com").await;
    let request = app
        .client
        .post(app.url(&format!("/v1/admin/users/{target}/notes")))
        .bearer_auth(&root.token)
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"body": "via the proxy", "reason": "ip check"}));
    Reply::from(request.send().await.unwrap()).await.data(201);
    assert_eq!(newest_action(&app).await["ip"], "203.0.113.9");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_to_one_user_log_a_consistent_chain() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, target) = customer(&app, "ada@example.com").await;
    let path = format!("/v1/admin/users/{target}/subscription");
    let tiers = ["PERSONAL", "PRO", "FAMILY", "FREE"];
    let writes = (0..12).map(|i| {
        let body = json!({"tier": tiers[i % tiers.len()], "reason": format!("write {i}")});
        let (app, path, token) = (&app, &path, &root.token);
        async move { app.post(path, body, Some(token)).await }
    });
    for reply in futures_util::future::join_all(writes).await {
        reply.data(200);
    }
    assert_eq!(log_count(&app).await, 12);
    // Each write saw the state the previous one left, so the before → after steps chain into one path
    // from "no override" to the stored override: every state is entered as often as it is left, except
    // the start (left once more) and the end (entered once more). A lost update breaks that balance.
    let rows: Vec<Value> =
        serde_json::from_str(&scalar(&app, "SELECT json_agg(changes)::text AS value FROM admin_actions").await)
            .unwrap();
    let mut balance: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for row in &rows {
        *balance.entry(row["before"]["tierOverride"].to_string()).or_default() += 1;
        *balance.entry(row["after"]["tierOverride"].to_string()).or_default() -= 1;
    }
    let stored =
        scalar(&app, &format!("SELECT tier_override AS value FROM subscriptions WHERE user_id = '{target}'")).await;
    let end = Value::String(stored).to_string();
    balance.retain(|_, n| *n != 0);
    let expected: std::collections::HashMap<String, i64> = [("null".to_owned(), 1), (end, -1)].into();
    assert_eq!(balance, expected, "{rows:?}");
}
