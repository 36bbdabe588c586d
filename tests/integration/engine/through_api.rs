//! The engine driven through the public API: acknowledge pauses escalation for the ack window, then it
//! resumes; completing a recurring reminder ends the episode and the next occurrence fires on schedule.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;
use wiremock::MockServer;

use super::seed::{Seed, count};
use super::{accepting_sink, eventually};
use crate::common::TestApp;
use crate::fixtures::{create, soon, user, user_id};

/// What the sink received, in order: the path, and for a lifecycle event its type after a space.
async fn paths(sink: &MockServer) -> Vec<String> {
    let requests = sink.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            if crate::engine::is_tier_delivery(r) {
                return r.url.path().to_owned();
            }
            let body = r.body_json::<serde_json::Value>().unwrap_or_default();
            format!("{} {}", r.url.path(), body["type"].as_str().unwrap_or("(no type)"))
        })
        .collect()
}

/// A running app with a user whose profile sends tier 1 to `/first` at once and tier 2 to `/second` after
/// `second_delay` minutes, both webhooks on a local sink.
async fn two_tiers(email: &str, second_delay: u32, ack_window: u32) -> (MockServer, TestApp, String, String) {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = user(&app, email).await;
    let owner = Uuid::parse_str(&user_id(&app, &token).await).unwrap();
    let seed = Seed::for_user(&app, owner);
    let first = seed.webhook(&format!("{}/first", sink.uri())).await;
    let second = seed.webhook(&format!("{}/second", sink.uri())).await;
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Two steps", "ackWindowMinutes": ack_window, "tiers": [
                {"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [first.id]},
                {"tierNumber": 2, "delayMinutes": second_delay, "agentSubscriptionIds": [second.id]}]}),
            Some(&token),
        )
        .await;
    let profile_id = profile.data(201)["id"].as_str().unwrap().to_owned();
    (sink, app, token, profile_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledge_stops_the_next_tier_until_the_ack_window_ends() {
    let (sink, app, token, profile_id) = two_tiers("ack@example.com", 10, 30).await;
    let body = json!({"title": "Water the plants", "escalationProfileId": profile_id,
           "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let id = create(&app, &token, body).await["id"].as_str().unwrap().to_owned();

    eventually(Duration::from_secs(15), "tier 1", || async { paths(&sink).await == ["/first"] }).await;
    let acked = app.post(&format!("/v1/reminders/{id}/acknowledge"), json!({"note": "on it"}), Some(&token)).await;
    assert_eq!(acked.status, 200, "{}", acked.text);
    let told = ["/first", "/first reminder.acknowledged"];
    eventually(Duration::from_secs(15), "the webhook hears of the ack", || async { paths(&sink).await == told }).await;

    // Tier 2 was due at 10 minutes, but the ack window (30) holds it.
    crate::engine::advance_settled(&app, chrono::Duration::minutes(15)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(paths(&sink).await, told, "no tier fires during the ack window");

    // The window ends with the reminder still not done: escalation resumes at tier 2.
    crate::engine::advance_settled(&app, chrono::Duration::minutes(16)).await;
    eventually(Duration::from_secs(15), "tier 2 after the window", || async {
        paths(&sink).await == ["/first", "/first reminder.acknowledged", "/second"]
    })
    .await;
    let log = app.get(&format!("/v1/reminders/{id}/escalations"), Some(&token)).await;
    let episodes = log.data(200).as_array().unwrap().clone();
    assert_eq!(episodes.len(), 1);
    let tiers: Vec<i64> =
        episodes[0]["deliveries"].as_array().unwrap().iter().map(|d| d["tier"].as_i64().unwrap()).collect();
    assert_eq!(tiers.iter().filter(|tier| **tier > 0).count(), 2, "two tier deliveries and the ack event: {tiers:?}");
    assert_eq!(tiers.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn completing_a_recurring_reminder_ends_the_episode_and_the_next_occurrence_fires() {
    let (sink, app, token, profile_id) = two_tiers("recurring@example.com", 20, 60).await;
    let body = json!({"title": "Stretch", "escalationProfileId": profile_id,
           "schedule": {"type": "interval", "intervalMinutes": 60, "startAt": soon(&app, 2)}});
    let id = create(&app, &token, body).await["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(15), "first occurrence", || async { paths(&sink).await == ["/first"] }).await;

    let done = app.post(&format!("/v1/reminders/{id}/complete"), json!({}), Some(&token)).await;
    let data = done.data(200).clone();
    assert_eq!(data["reminder"]["status"], "active", "a recurring reminder stays active: {data}");

    // Tier 2 of the completed occurrence never fires; the next occurrence (an hour later) does.
    let told = ["/first", "/first reminder.completed"];
    eventually(Duration::from_secs(15), "the webhook hears of it", || async { paths(&sink).await == told }).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(paths(&sink).await, told);
    crate::engine::advance_settled(&app, chrono::Duration::minutes(31)).await;
    eventually(Duration::from_secs(15), "second occurrence", || async {
        paths(&sink).await == [told[0], told[1], "/first"]
    })
    .await;
    let mut conn = app.db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations WHERE status = 'completed'").await, 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM escalations WHERE status = 'active'").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evidence_based_reminder_says_so_in_its_notification_and_a_hook_ends_the_escalation() {
    let (sink, app, token, profile_id) = two_tiers("evidence@example.com", 10, 30).await;
    let body = json!({"title": "Run the backup", "escalationProfileId": profile_id,
           "schedule": {"type": "once", "triggerAt": soon(&app, 2)}, "completionCriteria": {"type": "webhook"}});
    let reminder = create(&app, &token, body).await;
    let id = reminder["id"].as_str().unwrap().to_owned();
    assert!(reminder["completionCriteria"]["howToComplete"].as_str().unwrap().contains("completion hooks"));
    eventually(Duration::from_secs(15), "tier 1", || async { paths(&sink).await == ["/first"] }).await;
    let sent: serde_json::Value = sink.received_requests().await.unwrap()[0].body_json().unwrap();
    assert_eq!(sent["data"]["completion"]["type"], "webhook", "{sent}");
    assert!(sent["data"]["completion"]["howToComplete"].as_str().unwrap().contains("/v1/hooks/"), "{sent}");

    let hook = app.post(&format!("/v1/reminders/{id}/completion-hooks"), json!({}), Some(&token)).await;
    let url = hook.data(201)["url"].as_str().unwrap().replace("http://127.0.0.1:3801", "");
    let called = app.post(&url, json!({}), None).await;
    assert_eq!(called.data(200)["acted"], true, "{}", called.text);

    // Tier 2 was due at 10 minutes; the hook's evidence ended the episode.
    let told = ["/first", "/first reminder.completed"];
    eventually(Duration::from_secs(15), "the webhook hears of it", || async { paths(&sink).await == told }).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(15)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(paths(&sink).await, told);
    assert_eq!(app.get(&format!("/v1/reminders/{id}"), Some(&token)).await.data(200)["status"], "completed");
}
