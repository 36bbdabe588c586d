//! `/v1/admin/settings`: the knobs with the environment's values as defaults, an admin's change in force for
//! every role without a restart (the worker's allowance, retention's periods), `null` back to the default,
//! bad values refused by field, and one log row per change.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Admin, admin, customer};
use crate::common::{Reply, TestApp};
use crate::engine::eventually;
use crate::engine::seed::{Seed, count};
use crate::fixtures::{exec, scalar};

async fn patch(app: &TestApp, by: &Admin, body: Value) -> Reply {
    app.call(Method::PATCH, "/v1/admin/settings", Some(body), Some(&by.token)).await
}

/// The knob `key` as the settings list shows it.
fn knob<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|k| k["key"] == key).unwrap_or_else(|| panic!("{key} in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_show_the_environment_default_take_a_change_and_go_back_with_null() {
    let app = TestApp::spawn_with(&[("USAGE_SUSPENSION_WINDOW_DAYS", "4")]).await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let support = admin(&app, "support@example.com", "SUPPORT").await;

    let list = app.get("/v1/admin/settings", Some(&support.token)).await.data(200).clone();
    assert_eq!(list.as_array().unwrap().len(), 4);
    let window = knob(&list, "usageSuspensionWindowDays");
    assert_eq!((window["value"].as_i64(), window["environmentDefault"].as_i64()), (Some(4), Some(4)));
    assert_eq!(
        (window["overridden"].as_bool(), window["environmentVariable"].as_str()),
        (Some(false), Some("USAGE_SUSPENSION_WINDOW_DAYS"))
    );

    patch(&app, &support, json!({"usageSuspensionWindowDays": 7, "reason": "r"})).await.assert_error(403, "FORBIDDEN");
    let changed =
        patch(&app, &root, json!({"usageSuspensionWindowDays": 7, "retentionAuditDays": 400, "reason": "abuse wave"}))
            .await;
    let changed = changed.data(200).clone();
    assert_eq!(knob(&changed, "usageSuspensionWindowDays")["value"], 7);
    assert_eq!(knob(&changed, "usageSuspensionWindowDays")["environmentDefault"], 4);
    assert_eq!(knob(&changed, "retentionAuditDays")["overridden"], true);
    assert_eq!(knob(&changed, "retentionDeliveryDays")["overridden"], false, "a knob not given is left alone");
    let row =
        scalar(&app, "SELECT row_to_json(a)::text AS value FROM admin_actions a ORDER BY created_at DESC LIMIT 1")
            .await;
    let row: Value = serde_json::from_str(&row).unwrap();
    assert_eq!((row["action"].as_str(), row["reason"].as_str()), (Some("settings.change"), Some("abuse wave")));
    assert_eq!(row["target_user_id"], Value::Null);
    assert_eq!(row["changes"]["before"]["usageSuspensionWindowDays"], json!({"value": 4, "overridden": false}));
    assert_eq!(row["changes"]["after"]["usageSuspensionWindowDays"], json!({"value": 7, "overridden": true}));
    assert!(row["changes"]["after"].get("retentionDeliveryDays").is_none(), "only what changed: {row}");

    let reset = patch(&app, &root, json!({"usageSuspensionWindowDays": null, "reason": "wave over"})).await;
    let window = knob(reset.data(200), "usageSuspensionWindowDays").clone();
    assert_eq!((window["value"].as_i64(), window["overridden"].as_bool()), (Some(4), Some(false)));
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM admin_actions").await, "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_are_refused_by_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let refused = [
        json!({"usageSuspensionWindowDays": 0, "reason": "r"}),
        json!({"usageSuspensionWindowDays": 366, "reason": "r"}),
        json!({"usageSuspensionAllowancePerWindow": -1, "reason": "r"}),
        serde_json::from_str(r#"{"retentionAuditDays": 99999999999999999999, "reason": "r"}"#).unwrap(),
        json!({"retentionAuditDays": 1.5, "reason": "r"}),
        json!({"retentionAuditDays": "30", "reason": "r"}),
        json!({"retentionAuditDays": 30}),
        json!({"reason": "nothing to change"}),
        json!({"retentionAuditDays": 30, "reason": "r", "maintenanceMode": true}),
    ];
    for body in refused {
        patch(&app, &root, body.clone()).await.assert_error(400, "VALIDATION_ERROR");
    }
    let reply = patch(&app, &root, json!({"usageSuspensionWindowDays": 400, "reason": "r"})).await;
    assert_eq!(reply.body["error"]["details"][0]["field"], "usageSuspensionWindowDays", "{}", reply.text);
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM system_settings").await, "0");
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM admin_actions").await, "0");
}

/// The worker counts a usage suspension's allowance with the admin's value, no restart needed.
#[tokio::test(flavor = "multi_thread")]
async fn the_worker_applies_an_allowance_changed_by_an_admin() {
    let sink = crate::engine::accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    patch(&app, &root, json!({"usageSuspensionAllowancePerWindow": 1, "reason": "tighter"})).await.data(200);
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    exec(&app, &format!("UPDATE subscriptions SET delivery_state = 'USAGE_SUSPENDED' WHERE user_id = '{}'", seed.user))
        .await;
    seed.many_due_at(4, app.state.clock.now(), hook.id).await;
    let held = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled' \
                AND cancel_reason LIKE 'usage suspended: the allowance of 1 deliveries per window is used%'";
    eventually(Duration::from_secs(20), "three held back by the admin's allowance of one", || async {
        count(&mut app.db.connect().await, held).await == 3
    })
    .await;
    let sent = "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'";
    eventually(Duration::from_secs(10), "one sent", || async { count(&mut app.db.connect().await, sent).await == 1 })
        .await;
}

/// Retention reads its periods at each run: shortening one prunes at the next.
#[tokio::test(flavor = "multi_thread")]
async fn retention_prunes_by_a_period_changed_by_an_admin() {
    let app = TestApp::spawn_roles("api,scheduler", &[("RETENTION_AUDIT_DAYS", "3650")]).await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, ada) = customer(&app, "ada@example.com").await;
    exec(
        &app,
        &format!(
            "INSERT INTO admin_actions (admin_user_id, action, target_user_id, reason, created_at) \
             VALUES ('{}', 'note.add', '{ada}', 'old', now() - interval '10 days')",
            root.admin_id
        ),
    )
    .await;
    let old = "SELECT count(*) AS n FROM admin_actions WHERE reason = 'old'";
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&mut app.db.connect().await, old).await, 1, "kept for ten years by the environment");
    patch(&app, &root, json!({"retentionAuditDays": 5, "reason": "smaller log"})).await.data(200);
    eventually(Duration::from_secs(20), "the ten-day-old row pruned", || async {
        count(&mut app.db.connect().await, old).await == 0
    })
    .await;
    let kept = "SELECT count(*) AS n FROM admin_actions WHERE action = 'settings.change'";
    assert_eq!(count(&mut app.db.connect().await, kept).await, 1, "today's change stays");
}
