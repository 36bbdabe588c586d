//! Lifecycle webhook events (API.md "Outbound webhook payload"): a webhook that was sent a delivery in an
//! episode hears, once each and signed, that the episode was acknowledged, snoozed, completed or expired.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::MockServer;

use crate::common::{TestApp, webhook_signed_by};
use crate::engine::seed::Seed;
use crate::engine::{accepting_sink, advance_settled, eventually};
use crate::fixtures::{user, user_id};

/// The JSON bodies the sink has received, in order.
async fn bodies(sink: &MockServer) -> Vec<Value> {
    let requests = sink.received_requests().await.unwrap_or_default();
    requests.iter().map(|r| serde_json::from_slice(&r.body).expect("a JSON body")).collect()
}

async fn types(sink: &MockServer) -> Vec<String> {
    bodies(sink).await.iter().map(|b| b["type"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn wait_for_types(sink: &MockServer, expected: &[&str]) {
    eventually(Duration::from_secs(20), &format!("the sink saw {expected:?}"), || async {
        types(sink).await == expected
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_hears_acknowledged_snoozed_completed_and_expired_once_each() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = user(&app, "lamp@example.com").await;
    let owner: uuid::Uuid = user_id(&app, &token).await.parse().unwrap();
    let seed = Seed::for_user(&app, owner);
    let hook = seed.webhook(&format!("{}/lamp", sink.uri())).await;
    let reminder = seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[hook.id])], 0).await;
    wait_for_types(&sink, &["reminder.triggered"]).await;

    let acknowledge = format!("/v1/reminders/{reminder}/acknowledge");
    app.post(&acknowledge, json!({}), Some(&token)).await.data(200);
    app.post(&acknowledge, json!({}), Some(&token)).await.data(200);
    wait_for_types(&sink, &["reminder.triggered", "reminder.acknowledged"]).await;

    let snooze = format!("/v1/reminders/{reminder}/snooze");
    let snoozed = app.post(&snooze, json!({"duration": "in 2 hours"}), Some(&token)).await;
    let until = snoozed.data(200)["snoozedUntil"].as_str().unwrap().to_owned();
    wait_for_types(&sink, &["reminder.triggered", "reminder.acknowledged", "reminder.snoozed"]).await;

    // The snooze ends, a new episode fires and reaches the lamp again; completing it is the last word.
    advance_settled(&app, chrono::Duration::hours(2) + chrono::Duration::minutes(1)).await;
    let so_far = ["reminder.triggered", "reminder.acknowledged", "reminder.snoozed", "reminder.triggered"];
    wait_for_types(&sink, &so_far).await;
    app.post(&format!("/v1/reminders/{reminder}/complete"), json!({}), Some(&token)).await.data(200);
    wait_for_types(&sink, &[&so_far[..], &["reminder.completed"]].concat()).await;

    let received = bodies(&sink).await;
    let requests = sink.received_requests().await.unwrap();
    for (body, request) in received.iter().zip(&requests) {
        assert!(webhook_signed_by(&hook.secret, request), "every event is signed: {body}");
        assert_eq!(body["data"]["reminderId"], reminder.to_string());
        assert!(body["data"].get("actions").is_none() || body["type"] == "reminder.triggered", "{body}");
    }
    assert_eq!(received[1]["data"]["tier"], 1, "the tier the episode had reached");
    let snoozed_until = received[2]["data"]["snoozedUntil"].as_str().expect("snoozedUntil");
    // Postgres keeps microseconds.
    let micros = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros();
    assert_eq!(micros(snoozed_until), micros(&until));

    // Nobody answers a second reminder: after its last tier and the final wait, the lamp hears it expired.
    let ignored = seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[hook.id])], 0).await;
    eventually(Duration::from_secs(20), "the second reminder reached the lamp", || async {
        types(&sink).await.len() == 6
    })
    .await;
    advance_settled(&app, chrono::Duration::hours(3)).await;
    eventually(Duration::from_secs(20), "expired", || async { types(&sink).await.len() == 7 }).await;
    let last = bodies(&sink).await.pop().unwrap();
    assert_eq!(last["type"], "reminder.expired");
    assert_eq!(last["data"]["reminderId"], ignored.to_string());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(types(&sink).await.len(), 7, "each event once");
}
