//! Completion hooks: a secret URL per reminder that acts on the current occurrence once; wrong, revoked
//! and rotated-out tokens answer 404; calls are rate limited.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp};
use crate::fixtures::{GENTLE, create, once_reminder, scalar, user, user_id};
use crate::reminder_actions::fire;

/// Creates a hook on the reminder; returns (hook id, secret URL path).
async fn hook(app: &TestApp, token: &str, reminder: &str, body: Value) -> (String, String) {
    let created = app.post(&format!("/v1/reminders/{reminder}/completion-hooks"), body, Some(token)).await;
    let data = created.data(201);
    let url = data["url"].as_str().unwrap();
    let secret = data["token"].as_str().unwrap();
    assert!(secret.starts_with("erh_") && secret.len() >= 4 + 43, "{secret}");
    assert_eq!(url, format!("http://127.0.0.1:3801/v1/hooks/{secret}"));
    (data["id"].as_str().unwrap().to_owned(), format!("/v1/hooks/{secret}"))
}

/// Calls a hook the way a device would: no credentials, no body.
async fn call(app: &TestApp, path: &str) -> Reply {
    Reply::from(app.client.post(app.url(path)).send().await.unwrap()).await
}

async fn reminder_state(app: &TestApp, id: &str) -> String {
    scalar(app, &format!("SELECT status || '/v' || version AS value FROM reminders WHERE id = '{id}'")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_completes_the_open_occurrence_once() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let id = once_reminder(&app, &token, "backup").await;
    let escalation = fire(&app, &id, &owner, &crate::fixtures::in_hours(0)).await;
    let (hook_id, path) = hook(&app, &token, &id, json!({})).await;

    let first = call(&app, &path).await;
    let data = first.data(200);
    assert_eq!((data["acted"].as_bool(), data["action"].as_str()), (Some(true), Some("complete")), "{}", first.text);
    assert_eq!(data["status"], "completed");
    let episode =
        scalar(&app, &format!("SELECT status || '/' || acted_by AS value FROM escalations WHERE id = '{escalation}'"))
            .await;
    assert_eq!(episode, "completed/hook");
    let pending = scalar(
        &app,
        &format!(
            "SELECT count(*)::text AS value FROM deliveries WHERE escalation_id = '{escalation}' AND status = 'pending'"
        ),
    )
    .await;
    assert_eq!(pending, "0", "pending deliveries were cancelled");
    let evidence = scalar(
        &app,
        &format!(
            "SELECT source || '/' || action || '/' || (hook_id = '{hook_id}') AS value FROM watcher_events \
             WHERE reminder_id = '{id}' AND occurrence_at IS NOT NULL"
        ),
    )
    .await;
    assert_eq!(evidence, "hook/complete/true");
    let before = reminder_state(&app, &id).await;

    // The device posts again: told it already counted, and nothing changes.
    let second = call(&app, &path).await;
    let data = second.data(200);
    assert_eq!(data["acted"], false, "{}", second.text);
    assert!(data["message"].as_str().unwrap().starts_with("Already done"), "{}", second.text);
    assert_eq!(reminder_state(&app, &id).await, before);
    let rows =
        scalar(&app, &format!("SELECT count(*)::text AS value FROM watcher_events WHERE reminder_id = '{id}'")).await;
    assert_eq!(rows, "1");

    // The owner sees the hook (used, no secret) and the reminder's criteria explained.
    let listed = app.get(&format!("/v1/reminders/{id}/completion-hooks"), Some(&token)).await;
    let listed = listed.data(200);
    assert!(listed[0]["lastUsedAt"].is_string() && listed[0].get("token").is_none() && listed[0].get("url").is_none());
    let stored = scalar(
        &app,
        &format!("SELECT encode(token_hash, 'hex') AS value FROM completion_hooks WHERE id = '{hook_id}'"),
    )
    .await;
    assert_eq!(stored.len(), 64, "only a SHA-256 is stored");
    assert!(!path.contains(&stored));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recurring_reminder_is_completed_once_per_occurrence_and_acknowledge_or_snooze_can_be_asked() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    // A call is about the nearer of the last fired occurrence and the upcoming one, so the daily time is
    // put half a day away from now (whatever hour the test runs) and the fired occurrence a minute ago.
    let hour = (chrono::Timelike::hour(&chrono::Utc::now()) + 12) % 24;
    let daily = json!({"title": "pills", "escalationProfileId": GENTLE,
        "schedule": {"type": "cron", "expression": format!("0 {hour} * * *"), "timezone": "UTC"}});
    let created = create(&app, &token, daily).await;
    let (id, next) = (created["id"].as_str().unwrap().to_owned(), created["nextTriggerAt"].clone());
    let previous = chrono::Utc::now() - chrono::Duration::minutes(1);
    fire(&app, &id, &owner, &previous.to_rfc3339()).await;
    let (_, path) = hook(&app, &token, &id, json!({"action": "acknowledge"})).await;

    // The body may ask for another action than the hook's own.
    let done = app.post(&path, json!({"action": "complete"}), None).await;
    assert_eq!(done.data(200)["acted"], true, "{}", done.text);
    let after = app.get(&format!("/v1/reminders/{id}"), Some(&token)).await;
    assert_eq!(after.data(200)["nextTriggerAt"], next, "the next occurrence is untouched");
    let again = call(&app, &path).await;
    assert_eq!(again.data(200)["acted"], false, "the same occurrence, right after: {}", again.text);
    assert_eq!(app.get(&format!("/v1/reminders/{id}"), Some(&token)).await.data(200)["nextTriggerAt"], next);

    // Bad calls change nothing.
    app.post(&path, json!({"action": "explode"}), None).await.assert_error(400, "VALIDATION_ERROR");
    app.post(&path, json!({"action": "complete", "duration": "2h"}), None).await.assert_error(400, "VALIDATION_ERROR");
    app.post(&path, json!({"nope": 1}), None).await.assert_error(400, "VALIDATION_ERROR");
    app.post(&path, json!({"action": "snooze", "duration": "when pigs fly"}), None)
        .await
        .assert_error(422, "UNPROCESSABLE_ENTITY");

    // A snooze hook on a freshly fired one-off says when it will ring again, in the owner's zone.
    let other = once_reminder(&app, &token, "call").await;
    fire(&app, &other, &owner, &crate::fixtures::in_hours(0)).await;
    let (_, snooze_path) = hook(&app, &token, &other, json!({"action": "snooze"})).await;
    let snoozed = app.post(&snooze_path, json!({"duration": "2h"}), None).await;
    let data = snoozed.data(200);
    assert_eq!((data["acted"].as_bool(), data["status"].as_str()), (Some(true), Some("snoozed")), "{}", snoozed.text);
    assert!(data["interpretedAs"].as_str().unwrap().ends_with("Europe/Berlin"), "{}", snoozed.text);
    assert_eq!(call(&app, &snooze_path).await.data(200)["acted"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_revoked_and_rotated_out_tokens_are_not_found() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "water plants").await;
    let (hook_id, path) = hook(&app, &token, &id, json!({})).await;
    let hooks = format!("/v1/reminders/{id}/completion-hooks");

    let forged = format!("/v1/hooks/erh_{}", "A".repeat(43));
    for wrong in [forged.as_str(), "/v1/hooks/nonsense", &format!("{path}x")] {
        call(&app, wrong).await.assert_error(404, "NOT_FOUND");
    }
    // Rotated: the old URL is dead at once, the new one works (not yet used: acts, here completing ahead of time).
    let rotated = app.post(&format!("{hooks}/{hook_id}/rotate"), json!({}), Some(&token)).await;
    let new_path = format!("/v1/hooks/{}", rotated.data(200)["token"].as_str().unwrap());
    assert_eq!(rotated.body["data"]["id"], hook_id.as_str());
    call(&app, &path).await.assert_error(404, "NOT_FOUND");
    assert_eq!(reminder_state(&app, &id).await, "active/v1");
    let acted = call(&app, &new_path).await;
    assert_eq!(acted.data(200)["acted"], true, "{}", acted.text);
    assert_eq!(reminder_state(&app, &id).await, "completed/v2");

    // Revoked: 404, and it is gone from the list.
    let (second, second_path) = hook(&app, &token, &id, json!({"action": "acknowledge"})).await;
    assert_eq!(app.call(Method::DELETE, &format!("{hooks}/{second}"), None, Some(&token)).await.status, 204);
    call(&app, &second_path).await.assert_error(404, "NOT_FOUND");
    app.call(Method::DELETE, &format!("{hooks}/{second}"), None, Some(&token)).await.assert_error(404, "NOT_FOUND");
    let listed = app.get(&hooks, Some(&token)).await;
    assert_eq!(listed.data(200).as_array().unwrap().len(), 1);

    // Creating refuses a bad action; an oversized call body is refused before anything is read.
    app.post(&hooks, json!({"action": "explode"}), Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
    app.post(&new_path, json!({"action": "x".repeat(5000)}), None).await.assert_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test(flavor = "multi_thread")]
async fn hook_calls_are_rate_limited_per_hook() {
    // A tenth of the limits: 3 calls a minute per hook.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_MULTIPLIER", "0.1")]).await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "feed cat").await;
    let (_, path) = hook(&app, &token, &id, json!({"action": "acknowledge"})).await;
    for _ in 0..3 {
        assert_eq!(call(&app, &path).await.status, 200);
    }
    let limited = call(&app, &path).await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.headers.get("retry-after").is_some());
}
