//! Dashboard numbers against seeded rows; user search, detail, notes and pages; bad input.

use serde_json::json;

use super::{admin, customer};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, exec, fields, scalar};

/// Sets the user's subscription (whether or not registration created one).
async fn subscribe(app: &TestApp, user: &str, tier: &str, status: &str, over: Option<&str>) {
    let over = over.map_or("NULL".to_owned(), |t| format!("'{t}'"));
    exec(
        app,
        &format!(
            "INSERT INTO subscriptions (user_id, tier, status, tier_override) VALUES ('{user}', '{tier}', '{status}', {over})
             ON CONFLICT (user_id) DO UPDATE SET tier = EXCLUDED.tier, status = EXCLUDED.status,
                 tier_override = EXCLUDED.tier_override"
        ),
    )
    .await;
}

/// One reminder of `user` with `status`, and one fired episode of it; returns (reminder, escalation).
async fn reminder_with_episode(app: &TestApp, user: &str, status: &str) -> (String, String) {
    let snoozed = if status == "snoozed" { "now() + interval '1 hour'" } else { "NULL" };
    let reminder = scalar(
        app,
        &format!(
            "INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, status, snoozed_until)
             VALUES ('{user}', 'Seeded', '{GENTLE}', 'UTC', '{status}', {snoozed}) RETURNING id::text AS value"
        ),
    )
    .await;
    let escalation = scalar(
        app,
        &format!(
            "INSERT INTO escalations (reminder_id, user_id, occurrence_at, plan, fired_at, loop_started_at, scheduler_epoch)
             VALUES ('{reminder}', '{user}', now(), '[]', now(), now(), 1) RETURNING id::text AS value"
        ),
    )
    .await;
    (reminder, escalation)
}

/// `n` deliveries of the episode with `status`, created `age` ago and due `due` ago.
async fn deliveries(app: &TestApp, user: &str, episode: &(String, String), status: &str, n: u32, age: &str, due: &str) {
    let (reminder, escalation) = episode;
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                     channel, status, created_at, next_attempt_at)
             SELECT '{escalation}', '{reminder}', '{user}', 1, 0, 'test', gen_random_uuid(), 'email', '{status}',
                    now() - interval '{age}', now() - interval '{due}'
             FROM generate_series(1, {n})"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_numbers_match_seeded_data() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, personal) = customer(&app, "personal@example.com").await;
    let (_, pro) = customer(&app, "pro@example.com").await;
    let (_, family_past_due) = customer(&app, "family@example.com").await;
    let (_, granted) = customer(&app, "granted@example.com").await;
    let (_, gone) = customer(&app, "gone@example.com").await;
    subscribe(&app, &personal, "PERSONAL", "ACTIVE", None).await;
    subscribe(&app, &pro, "PRO", "ACTIVE", None).await;
    subscribe(&app, &family_past_due, "FAMILY", "PAST_DUE", None).await;
    subscribe(&app, &granted, "FREE", "ACTIVE", Some("PRO")).await;
    subscribe(&app, &gone, "PRO", "CANCELED", None).await;
    exec(&app, &format!("UPDATE users SET deleted_at = now() WHERE id = '{gone}'")).await;

    // Reminders: two live (active, snoozed), two not (completed, archived).
    let episode = reminder_with_episode(&app, &pro, "active").await;
    reminder_with_episode(&app, &pro, "snoozed").await;
    reminder_with_episode(&app, &personal, "completed").await;
    reminder_with_episode(&app, &personal, "archived").await;
    // Deliveries of the last 24 h, plus older ones that must not count.
    deliveries(&app, &pro, &episode, "pending", 2, "10 minutes", "10 minutes").await;
    deliveries(&app, &pro, &episode, "pending", 1, "1 minute", "-1 hour").await;
    deliveries(&app, &pro, &episode, "sending", 1, "1 minute", "1 minute").await;
    deliveries(&app, &pro, &episode, "sent", 3, "2 hours", "2 hours").await;
    deliveries(&app, &pro, &episode, "delivered", 1, "3 hours", "3 hours").await;
    deliveries(&app, &pro, &episode, "failed", 2, "23 hours", "23 hours").await;
    deliveries(&app, &pro, &episode, "cancelled", 1, "1 hour", "1 hour").await;
    deliveries(&app, &pro, &episode, "sent", 4, "25 hours", "25 hours").await;

    let stats = app.get("/v1/admin/stats", Some(&root.token)).await;
    let stats = stats.data(200);
    // The admin is FREE, the granted user counts as PRO, the deleted account not at all.
    assert_eq!(stats["usersByTier"], json!({"FREE": 1, "PERSONAL": 1, "PRO": 2, "FAMILY": 1}));
    assert_eq!(stats["activeReminders"], 2);
    assert_eq!(
        stats["deliveriesLast24h"],
        json!({"pending": 3, "sending": 1, "sent": 3, "delivered": 1, "failed": 2, "cancelled": 1})
    );
    let rate = stats["deliverySuccessRate"].as_f64().unwrap();
    assert!((rate - 4.0 / 6.0).abs() < 1e-9, "{rate}");
    // Two pending deliveries are due (the third is due in an hour); the oldest waits ten minutes.
    assert_eq!(stats["queueDepth"], 2);
    let lag = stats["schedulerLagSeconds"].as_f64().unwrap();
    assert!((600.0..660.0).contains(&lag), "{lag}");
    // PERSONAL 5 + PRO 15 paying and active; the override, the past-due and the cancelled bring nothing.
    assert_eq!(stats["mrrCents"], 2000);
    assert_eq!(stats["currency"], "USD");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_pages_and_user_detail_with_notes() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let mut alphas = Vec::new();
    for i in 0..5 {
        alphas.push(customer(&app, &format!("alpha{i}@example.com")).await.1);
    }
    customer(&app, "beta@example.org").await;

    let search = async |query: &str| app.get(&format!("/v1/admin/users{query}"), Some(&root.token)).await;
    let found = search("?q=ALPHA&pageSize=2").await;
    let page = found.data(200).as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(found.body["meta"]["pagination"], json!({"page": 1, "pageSize": 2, "totalItems": 5, "totalPages": 3}));
    assert_eq!(page[0]["id"], alphas[4].as_str(), "newest first");
    assert_eq!(page[0]["email"], "alpha4@example.com");
    assert_eq!(page[0]["tier"], "FREE");
    assert_eq!(page[0]["deliveryState"], "ACTIVE");
    let last = search("?q=alpha&pageSize=2&page=3").await;
    assert_eq!(last.data(200).as_array().unwrap().len(), 1);
    assert_eq!(last.body["data"][0]["id"], alphas[0].as_str());
    let beyond = search("?q=alpha&pageSize=2&page=4").await;
    assert_eq!(beyond.data(200).as_array().unwrap().len(), 0);
    assert_eq!(beyond.body["meta"]["pagination"]["totalItems"], 5);
    assert_eq!(search("?q=example.org").await.data(200).as_array().unwrap().len(), 1);
    assert_eq!(search("").await.body["meta"]["pagination"]["totalItems"], 7, "no q lists everyone");
    // LIKE wildcards are literal characters.
    for wildcard in ["%25", "_", "alpha_"] {
        assert_eq!(search(&format!("?q={wildcard}")).await.data(200).as_array().unwrap().len(), 0, "{wildcard}");
    }

    let ada = &alphas[0];
    for (i, text) in ["First call", "Second call"].iter().enumerate() {
        let body = json!({"body": text, "reason": format!("call {i}")});
        app.post(&format!("/v1/admin/users/{ada}/notes"), body, Some(&root.token)).await.data(201);
    }
    let notes = app.get(&format!("/v1/admin/users/{ada}/notes"), Some(&root.token)).await;
    let notes = notes.data(200).as_array().unwrap();
    assert_eq!(notes.iter().map(|n| n["body"].as_str().unwrap()).collect::<Vec<_>>(), ["Second call", "First call"]);
    assert_eq!(notes[0]["adminId"], root.admin_id.as_str());

    let detail = app.get(&format!("/v1/admin/users/{ada}"), Some(&root.token)).await;
    let detail = detail.data(200);
    assert_eq!(detail["email"], "alpha0@example.com");
    assert_eq!(detail["subscription"]["effectiveTier"], "FREE");
    assert_eq!(detail["subscription"]["deliveryState"], "ACTIVE");
    assert_eq!(detail["usage"], json!({"liveReminders": 0, "channelSubscriptions": 0, "deliveriesLast24h": 0}));
    assert_eq!(detail["adminRole"], serde_json::Value::Null);
    let root_id =
        scalar(&app, &format!("SELECT user_id::text AS value FROM admin_users WHERE id = '{}'", root.admin_id)).await;
    let me = app.get(&format!("/v1/admin/users/{root_id}"), Some(&root.token)).await;
    assert_eq!(me.data(200)["adminRole"], "SUPER_ADMIN");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_answered_with_the_envelope() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let token = Some(root.token.as_str());
    for path in [
        "/v1/admin/users/not-a-uuid",
        "/v1/admin/users/not-a-uuid/notes",
        "/v1/admin/users?pageSize=101",
        "/v1/admin/users?page=999999999999",
        "/v1/admin/users?pageSize=-1",
        "/v1/admin/health/history?pageSize=100000",
        "/v1/admin/health/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/v1/admin/users/00000000-0000-4000-8000-000000000001/notes?page=0",
    ] {
        app.get(path, token).await.assert_error(400, "VALIDATION_ERROR");
    }
    let long_q = format!("/v1/admin/users?q={}", "a".repeat(255));
    let reply = app.get(&long_q, token).await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(fields(&reply), ["q"]);
    let nobody = uuid::Uuid::new_v4();
    app.get(&format!("/v1/admin/users/{nobody}"), token).await.assert_error(404, "NOT_FOUND");
    app.get(&format!("/v1/admin/users/{nobody}/notes"), token).await.assert_error(404, "NOT_FOUND");
    let (_, ada) = customer(&app, "ada@example.com").await;
    let path = format!("/v1/admin/users/{ada}/delivery-state");
    let malformed = app.client.post(app.url(&path)).bearer_auth(&root.token).header("content-type", "application/json");
    let reply = crate::common::Reply::from(malformed.body("{\"state\":").send().await.unwrap()).await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let bad_path = app.post("/v1/admin/users/123/subscription", json!({"tier": "PRO", "reason": "x"}), token).await;
    bad_path.assert_error(400, "VALIDATION_ERROR");
}
