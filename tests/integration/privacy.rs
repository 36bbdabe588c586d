//! A person's data: the export (`GET /v1/users/me/export`) holds every row they own and nothing of anyone
//! else's, every table of the schema is either exported or named with the reason it is not, and erasing a
//! deleted account removes every row the export showed.

use std::collections::BTreeSet;
use std::time::Duration;

use escalating_reminders::privacy::store::{NOT_EXPORTED, OWNED};
use reqwest::Method;
use serde_json::{Value, json};

use crate::accounts::register;
use crate::common::TestApp;
use crate::engine::eventually;
use crate::fixtures::{create, exec, scalar, soon, subscribe, user_id};

/// Owned tables whose tie to the account is cleared, not deleted, when it is erased: the audit trail keeps what
/// was done, without who.
const KEPT_WITHOUT_LINK: &[&str] = &["audit_trails"];

fn list(text: &str) -> BTreeSet<String> {
    text.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_table_is_exported_or_named_with_the_reason_it_is_not() {
    let app = TestApp::spawn_roles("api", &[]).await;
    let schema = list(
        &scalar(
            &app,
            "SELECT COALESCE(string_agg(table_name::text, ',' ORDER BY table_name), '') AS value
             FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .await,
    );
    let exported: BTreeSet<String> = OWNED.iter().map(|o| o.table.to_owned()).collect();
    let left_out: BTreeSet<String> = NOT_EXPORTED.iter().map(|(t, _)| (*t).to_owned()).collect();
    assert!(
        exported.is_disjoint(&left_out),
        "a table is both exported and not: {:?}",
        exported.intersection(&left_out)
    );
    let placed: BTreeSet<String> = exported.union(&left_out).cloned().collect();
    let unplaced: Vec<_> = schema.difference(&placed).collect();
    assert!(unplaced.is_empty(), "new tables: add them to privacy::store::OWNED or NOT_EXPORTED: {unplaced:?}");
    let gone: Vec<_> = placed.difference(&schema).collect();
    assert!(gone.is_empty(), "no such tables any more: {gone:?}");

    // Erasing the `users` row takes every exported table's rows along: each is reached from `users` through
    // foreign keys that cascade or the engine's delete triggers (`delete_<table>_of_deleted_<parent>`, which
    // stand in for keys the hot path cannot afford), or its link is cleared (`ON DELETE SET NULL`).
    let cascaded = list(
        &scalar(
            &app,
            "WITH RECURSIVE fk AS (
                 SELECT conrelid::regclass::text COLLATE \"default\" AS child,
                        confrelid::regclass::text COLLATE \"default\" AS parent, confdeltype::text AS rule
                 FROM pg_constraint WHERE contype = 'f'
                 UNION ALL
                 SELECT substring(p.proname::text FROM '^delete_(.+)_of_deleted_'), t.tgrelid::regclass::text, 'c'
                 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                 WHERE NOT t.tgisinternal AND p.proname ~ '^delete_.+_of_deleted_'),
             reach(t) AS (SELECT 'users'::text UNION SELECT fk.child FROM fk JOIN reach ON fk.parent = reach.t
                          WHERE fk.rule = 'c')
             SELECT string_agg(t, ',') AS value FROM reach",
        )
        .await,
    );
    let not_cascaded: BTreeSet<String> = exported.difference(&cascaded).cloned().collect();
    let kept: BTreeSet<String> = KEPT_WITHOUT_LINK.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(not_cascaded, kept, "exported tables that erasing an account would not empty");
    for table in KEPT_WITHOUT_LINK {
        let rule = scalar(
            &app,
            &format!(
                "SELECT string_agg(DISTINCT confdeltype::text, ',') AS value FROM pg_constraint
                 WHERE contype = 'f' AND conrelid = '{table}'::regclass AND confrelid = 'users'::regclass"
            ),
        )
        .await;
        assert_eq!(rule, "n", "{table}'s link to users is cleared (SET NULL) when the account is erased");
    }
}

/// Where a row of `table` can be found again: its `id`, or the column that keys it.
fn row_key(row: &Value) -> Option<(&'static str, String)> {
    ["id", "reminder_id", "session_id", "user_id"]
        .into_iter()
        .find_map(|column| Some((column, row.get(column)?.as_str()?.to_owned())))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_holds_what_the_caller_owns_and_erasure_removes_it_all() {
    let app = TestApp::spawn_roles("all", &[]).await;
    let owner = register(&app, "owner@example.com").await;
    let token = owner["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let id = user_id(&app, &token).await;
    let other = register(&app, "other@example.com").await;
    let other_token = other["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let other_id = user_id(&app, &other_token).await;

    // Rows in many tables: reminders with schedules, an episode with deliveries, a channel, a key, a profile.
    subscribe(&app, &id, "pull").await;
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Mine", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["pull"]}]}),
            Some(&token),
        )
        .await;
    let profile_id = profile.data(201)["id"].as_str().unwrap().to_owned();
    let reminder = create(
        &app,
        &token,
        json!({"title": "Take the 9 pm pills", "escalationProfileId": profile_id,
               "schedule": {"type": "once", "triggerAt": soon(&app, 2)}}),
    )
    .await;
    assert_eq!(app.post("/v1/api-keys", json!({"name": "home agent"}), Some(&token)).await.status, 201);
    create(&app, &other_token, crate::fixtures::once_body("Someone else's secret")).await;
    let deliveries = format!("SELECT count(*)::text AS value FROM deliveries WHERE user_id = '{id}'");
    eventually(Duration::from_secs(20), "the reminder fires", || async { scalar(&app, &deliveries).await != "0" })
        .await;

    let reply = app.get("/v1/users/me/export", Some(&token)).await;
    let disposition = reply.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename=\"escalating-reminders-export-"), "{disposition}");
    let tables = reply.data(200)["tables"].as_object().unwrap().clone();
    let names: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    assert_eq!(names, OWNED.iter().map(|o| o.table).collect(), "every owned table, empty or not");
    for table in [
        "users",
        "reminders",
        "reminder_schedules",
        "escalations",
        "deliveries",
        "api_keys",
        "escalation_profiles",
        "user_agent_subscriptions",
        "refresh_sessions",
        "refresh_tokens",
    ] {
        assert!(!tables[table].as_array().unwrap().is_empty(), "{table} has the owner's rows");
    }
    assert_eq!(tables["reminders"][0]["title"], "Take the 9 pm pills");
    assert_eq!(tables["reminders"][0]["id"], reminder["id"]);
    let text = Value::Object(tables.clone()).to_string();
    for never in [
        "password_hash",
        "key_hash",
        "token_hash",
        "secret_ciphertext",
        "$argon2",
        &other_id,
        "Someone else's secret",
        "other@example.com",
    ] {
        assert!(!text.contains(never), "the export holds {never:?}");
    }
    // Only the owner's: no token, another user's token (their own export), or a bad token gets it.
    app.get("/v1/users/me/export", None).await.assert_error(401, "UNAUTHORIZED");
    let theirs = app.get("/v1/users/me/export", Some(&other_token)).await;
    assert!(!theirs.data(200)["tables"].to_string().contains("Take the 9 pm pills"));

    // Erased 30 days after deletion (made due now): every exported row is gone, or kept without its link.
    assert_eq!(app.call(Method::DELETE, "/v1/users/me", None, Some(&token)).await.status, 204);
    exec(&app, &format!("UPDATE users SET purge_after = now() - interval '1 day' WHERE id = '{id}'")).await;
    let users = format!("SELECT count(*)::text AS value FROM users WHERE id = '{id}'");
    eventually(Duration::from_secs(15), "the account is erased", || async { scalar(&app, &users).await == "0" }).await;
    for (table, rows) in tables.iter().filter(|(table, _)| !KEPT_WITHOUT_LINK.contains(&table.as_str())) {
        for row in rows.as_array().unwrap() {
            let (column, key) = row_key(row).unwrap_or_else(|| panic!("{table}: a row with no key: {row}"));
            let left =
                scalar(&app, &format!("SELECT count(*)::text AS value FROM {table} WHERE {column}::text = '{key}'"))
                    .await;
            assert_eq!(left, "0", "{table} {column}={key} is left after erasure");
        }
    }
    for table in KEPT_WITHOUT_LINK {
        let linked = format!("SELECT count(*)::text AS value FROM {table} WHERE actor_user_id = '{id}'");
        assert_eq!(scalar(&app, &linked).await, "0", "{table} keeps no link to the erased account");
    }
    // The other account is untouched.
    assert_eq!(app.get("/v1/reminders", Some(&other_token)).await.data(200).as_array().unwrap().len(), 1);
}
