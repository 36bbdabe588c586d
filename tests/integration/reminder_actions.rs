//! Acknowledge, complete and snooze through the API, acting on an escalation episode inserted with SQL as if
//! the scheduler had fired the reminder; the snooze phrase fallback against a mock OpenAI.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::fixtures::{GENTLE, create, exec, in_hours, once_body, once_reminder, scalar, subscribe, user, user_id};

/// Inserts an open episode (tier 1 fired a minute ago at `occurrence`, ack window 30 min) with one sent and
/// one pending delivery; returns the escalation id.
pub async fn fire(app: &TestApp, reminder: &str, owner: &str, occurrence: &str) -> String {
    let sub = subscribe(app, owner, "email").await;
    let plan = json!({"tiers": [
        {"tier": 1, "delay_minutes": 0, "targets": [{"kind": "subscription", "id": sub, "channel": "email"}]},
        {"tier": 2, "delay_minutes": 10, "targets": [{"kind": "subscription", "id": sub, "channel": "email"}]}],
        "repeat": 0, "ack_window_minutes": 30, "loop_gap_minutes": 5});
    let escalation = scalar(
        app,
        &format!(
            "INSERT INTO escalations (reminder_id, user_id, occurrence_at, plan, status, current_tier, fired_at, \
             loop_started_at, next_step_at, scheduler_epoch) VALUES ('{reminder}', '{owner}', '{occurrence}', \
             '{plan}', 'active', 1, now() - interval '1 minute', now() - interval '1 minute', \
             now() + interval '9 minutes', 1) RETURNING id::text AS value"
        ),
    )
    .await;
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
             channel, status) VALUES \
             ('{escalation}', '{reminder}', '{owner}', 1, 0, 'subscription', '{sub}', 'email', 'sent'), \
             ('{escalation}', '{reminder}', '{owner}', 1, 0, 'subscription', gen_random_uuid(), 'sms', 'pending')"
        ),
    )
    .await;
    escalation
}

async fn delivery_states(app: &TestApp, escalation: &str) -> String {
    scalar(
        app,
        &format!(
            "SELECT string_agg(status || ':' || coalesce(cancel_reason, '-'), ',' ORDER BY channel) AS value \
             FROM deliveries WHERE escalation_id = '{escalation}'"
        ),
    )
    .await
}

fn instant(value: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("not a time: {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledge_pauses_the_open_episode_and_cancels_its_pending_deliveries() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let reminder = create(&app, &token, once_body("pills")).await;
    let id = reminder["id"].as_str().unwrap();
    let escalation = fire(&app, id, &owner, &in_hours(0)).await;

    let acked = app.post(&format!("/v1/reminders/{id}/acknowledge"), json!({"note": "on it"}), Some(&token)).await;
    let data = acked.data(200);
    assert_eq!(data["reminder"]["status"], "active", "an ack leaves the reminder alone");
    assert_eq!(data["escalation"]["status"], "acknowledged");
    assert_eq!(data["escalation"]["actedBy"], format!("user:{owner}"));
    assert_eq!(data["cancelledDeliveries"], 1);
    let window = instant(&data["escalation"]["ackUntil"]) - Utc::now();
    assert!(window > Duration::minutes(29) && window <= Duration::minutes(30), "{window}");
    assert_eq!(data["escalation"]["nextStepAt"], data["escalation"]["ackUntil"]);
    assert_eq!(delivery_states(&app, &escalation).await, "sent:-,cancelled:acknowledged");
    let note = scalar(&app, &format!("SELECT data->>'note' AS value FROM event_logs WHERE subject_id = '{id}'")).await;
    assert_eq!(note, "on it");

    // An empty body is fine; the delivery log shows the episode with both deliveries.
    let again = app.client.post(app.url(&format!("/v1/reminders/{id}/acknowledge"))).bearer_auth(&token).send().await;
    assert_eq!(again.unwrap().status(), 200);
    let log = app.get(&format!("/v1/reminders/{id}/escalations"), Some(&token)).await;
    let episodes = log.data(200).as_array().unwrap().clone();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0]["deliveries"].as_array().unwrap().len(), 2);
    assert_eq!(episodes[0]["id"], escalation.as_str());
    let bad =
        app.post(&format!("/v1/reminders/{id}/acknowledge"), json!({"note": "x".repeat(1001)}), Some(&token)).await;
    bad.assert_error(400, "VALIDATION_ERROR");
    app.post(&format!("/v1/reminders/{id}/acknowledge"), json!({"by": "me"}), Some(&token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // Archiving ends the (acknowledged) episode through the same path.
    assert_eq!(delete(&app, &token, id).await, 204);
    let ended = scalar(
        &app,
        &format!("SELECT status || '/' || end_reason AS value FROM escalations WHERE id = '{escalation}'"),
    )
    .await;
    assert_eq!(ended, "cancelled/cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_ends_the_episode_and_a_one_off_is_done() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let id = once_reminder(&app, &token, "rent").await;
    let escalation = fire(&app, &id, &owner, &in_hours(0)).await;
    let done = app.post(&format!("/v1/reminders/{id}/complete"), json!({}), Some(&token)).await;
    let data = done.data(200);
    assert_eq!(data["reminder"]["status"], "completed");
    assert!(data["reminder"]["completedAt"].is_string() && data["reminder"]["nextTriggerAt"].is_null());
    assert_eq!(data["escalation"]["status"], "completed");
    assert!(data["escalation"]["nextStepAt"].is_null());
    assert_eq!(delivery_states(&app, &escalation).await, "sent:-,cancelled:completed");
    // A completed reminder cannot be completed, acknowledged or snoozed again.
    for action in ["complete", "acknowledge"] {
        app.post(&format!("/v1/reminders/{id}/{action}"), json!({}), Some(&token))
            .await
            .assert_error(422, "UNPROCESSABLE_ENTITY");
    }
    app.post(&format!("/v1/reminders/{id}/snooze"), json!({"duration": "in 2 hours"}), Some(&token))
        .await
        .assert_error(422, "UNPROCESSABLE_ENTITY");
}

/// 09:00 on `day` in Berlin.
fn nine_in_berlin(day: chrono::NaiveDate) -> DateTime<Utc> {
    let berlin = chrono_tz::Europe::Berlin;
    berlin.from_local_datetime(&day.and_hms_opt(9, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_on_a_recurring_reminder_moves_to_the_next_occurrence() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let daily = json!({"title": "pills", "escalationProfileId": GENTLE,
        "schedule": {"type": "cron", "expression": "0 9 * * *", "timezone": "Europe/Berlin"}});
    // Nine o'clock in Berlin must not pass mid-test (the occurrences below would shift by a day).
    let berlin_now = Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let to_nine = 9 * 3600 - i64::from(chrono::Timelike::num_seconds_from_midnight(&berlin_now));
    if (0..10).contains(&to_nine) {
        tokio::time::sleep(std::time::Duration::from_secs(to_nine.unsigned_abs() + 1)).await;
    }
    // Fired: the open episode is for the previous 09:00, and the scheduler already moved on to the next.
    let fired = create(&app, &token, daily.clone()).await;
    let (id, next) = (fired["id"].as_str().unwrap(), instant(&fired["nextTriggerAt"]));
    let escalation = fire(&app, id, &owner, &(next - Duration::days(1)).to_rfc3339()).await;
    let done = app.post(&format!("/v1/reminders/{id}/complete"), json!({"note": "taken"}), Some(&token)).await;
    let data = done.data(200);
    assert_eq!(data["reminder"]["status"], "active");
    assert_eq!(instant(&data["reminder"]["nextTriggerAt"]), next);
    assert_eq!(data["escalation"]["status"], "completed");
    assert_eq!(delivery_states(&app, &escalation).await, "sent:-,cancelled:completed");

    // Not fired yet: completing ahead of time completes the upcoming occurrence.
    let early = create(&app, &token, daily).await;
    let early_id = early["id"].as_str().unwrap();
    let done = app.post(&format!("/v1/reminders/{early_id}/complete"), json!({}), Some(&token)).await;
    // The day after, at 09:00 in Berlin: 23 or 25 hours later across a change of clocks.
    let day_after = instant(&early["nextTriggerAt"]).with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    assert_eq!(instant(&done.data(200)["reminder"]["nextTriggerAt"]), nine_in_berlin(day_after + Duration::days(1)));
    assert!(done.body["data"]["escalation"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn snooze_reads_phrases_in_the_users_zone_and_refuses_what_it_cannot_read() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let id = once_reminder(&app, &token, "call").await;
    let escalation = fire(&app, &id, &owner, &in_hours(0)).await;
    let snooze = |body: serde_json::Value| {
        let (app, token, id) = (&app, token.clone(), id.clone());
        async move { app.post(&format!("/v1/reminders/{id}/snooze"), body, Some(&token)).await }
    };

    // "Tomorrow" is read when the request arrives: midnight in Berlin may pass around it, so the dates on
    // both sides of the call are candidates.
    let berlin = chrono_tz::Europe::Berlin;
    let tomorrow_now = || Utc::now().with_timezone(&berlin).date_naive() + Duration::days(1);
    let before = tomorrow_now();
    let reply = snooze(json!({"duration": "until tomorrow 9am"})).await;
    let data = reply.data(200);
    let until = instant(&data["snoozedUntil"]);
    let tomorrow = [before, tomorrow_now()].into_iter().find(|day| nine_in_berlin(*day) == until);
    let tomorrow = tomorrow.unwrap_or_else(|| panic!("snoozed until {until}, not 09:00 tomorrow in Berlin"));
    let echo = data["interpretedAs"].as_str().unwrap();
    assert!(echo.ends_with("09:00 Europe/Berlin") && echo.contains(&tomorrow.format("%-d %b").to_string()), "{echo}");
    assert_eq!(data["reminder"]["status"], "snoozed");
    assert_eq!(data["reminder"]["snoozedUntil"], data["snoozedUntil"]);
    assert_eq!(delivery_states(&app, &escalation).await, "sent:-,cancelled:snoozed");
    let ended = scalar(
        &app,
        &format!("SELECT status || '/' || end_reason AS value FROM escalations WHERE id = '{escalation}'"),
    )
    .await;
    assert_eq!(ended, "cancelled/snoozed");
    let recorded = scalar(&app, &format!("SELECT phrase || '|' || interpreted_as || '|' || source AS value FROM reminder_snoozes WHERE reminder_id = '{id}'")).await;
    assert_eq!(recorded, format!("until tomorrow 9am|{echo}|user"));

    let until = in_hours(5);
    let reply = snooze(json!({"until": until})).await;
    assert_eq!(instant(&reply.data(200)["snoozedUntil"]), instant(&json!(until)));
    assert!(reply.body["data"]["interpretedAs"].as_str().unwrap().ends_with("Europe/Berlin"));
    assert_eq!(snooze(json!({"duration": "2h"})).await.status, 200);

    let nonsense = snooze(json!({"duration": "when pigs fly"})).await;
    nonsense.assert_error(422, "UNPROCESSABLE_ENTITY");
    assert!(nonsense.body["error"]["message"].as_str().unwrap().contains("in 2 hours"), "{}", nonsense.text);
    assert!(!nonsense.body["error"]["details"].as_array().unwrap().is_empty());
    snooze(json!({"until": in_hours(-1)})).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    snooze(json!({"duration": "2025-01-01 10:00"})).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    snooze(json!({})).await.assert_error(400, "VALIDATION_ERROR");
    snooze(json!({"until": in_hours(1), "duration": "2h"})).await.assert_error(400, "VALIDATION_ERROR");
    snooze(json!({"until": "soon"})).await.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(delete(&app, &token, &id).await, 204);
    snooze(json!({"duration": "2h"})).await.assert_error(422, "UNPROCESSABLE_ENTITY");
}

async fn delete(app: &TestApp, token: &str, id: &str) -> u16 {
    crate::fixtures::delete(app, token, &format!("/v1/reminders/{id}")).await.status
}

fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]}))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_fallback_reads_other_phrases_and_its_answers_are_checked() {
    let mock = MockServer::start().await;
    let future = (Utc::now() + Duration::hours(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let past = (Utc::now() - Duration::hours(3)).to_rfc3339();
    let answers = [
        ("after the dentist", completion(&json!({"understood": true, "at": future}).to_string())),
        ("when the cows come home", completion(&json!({"understood": true, "at": past}).to_string())),
        ("blorp", completion("this is not json")),
        ("mumble", completion(&json!({"understood": false, "at": null}).to_string())),
    ];
    for (phrase, answer) in answers {
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .and(body_string_contains(phrase))
            .respond_with(answer)
            .mount(&mock)
            .await;
    }
    let app = TestApp::spawn_with(&[("OPENAI_API_KEY", "sk-test"), ("OPENAI_API_BASE", &mock.uri())]).await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "dentist").await;
    let url = format!("/v1/reminders/{id}/snooze");

    let read = app.post(&url, json!({"duration": "after the dentist"}), Some(&token)).await;
    assert_eq!(instant(&read.data(200)["snoozedUntil"]), instant(&json!(future)));
    for phrase in ["when the cows come home", "blorp", "mumble", "unmatched phrase → 404 from the mock"] {
        app.post(&url, json!({"duration": phrase}), Some(&token)).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    }
    // The grammar answers first: no call for a phrase it reads.
    let before = mock.received_requests().await.unwrap_or_default().len();
    assert_eq!(app.post(&url, json!({"duration": "in 2 hours"}), Some(&token)).await.status, 200);
    assert_eq!(mock.received_requests().await.unwrap_or_default().len(), before);
    let first = &mock.received_requests().await.unwrap()[0];
    assert_eq!(first.headers.get("authorization").unwrap(), "Bearer sk-test");
    let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
}
