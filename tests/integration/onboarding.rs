//! Onboarding through the API: the steps are derived from the account's data where they can be (a zone
//! other than UTC, a channel, a reminder), the first reminder comes from a template through the reminders
//! service, progress and dismissal are kept per user, and bad input is the error envelope.

use serde_json::{Value, json};

use crate::common::{Reply, TestApp};
use crate::fixtures::{once_body, patch, subscribe, user, user_id};

async fn onboarding(app: &TestApp, token: &str) -> Value {
    app.get("/v1/onboarding", Some(token)).await.data(200).clone()
}

async fn act(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/v1/onboarding", body, Some(token)).await
}

/// Each step's status, in order.
fn statuses(view: &Value) -> Vec<(String, String)> {
    view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_owned(), s["status"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// Registers a user in UTC, the zone every account starts in (the fixtures' users are in Berlin).
async fn utc_user(app: &TestApp, email: &str) -> String {
    let token = user(app, email).await;
    patch(app, &token, "/v1/users/me", json!({"timezone": "UTC"})).await.data(200);
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn steps_follow_the_data_and_the_first_reminder_comes_from_a_template() {
    let app = TestApp::spawn().await;
    let token = utc_user(&app, "onboard@example.com").await;
    let fresh = onboarding(&app, &token).await;
    assert_eq!(
        statuses(&fresh),
        pairs(&[("timezone", "pending"), ("channel", "pending"), ("reminder", "pending")]),
        "{fresh}"
    );
    assert_eq!((fresh["finished"].as_bool(), fresh["dismissed"].as_bool()), (Some(false), Some(false)));
    let offered: Vec<&str> =
        fresh["templates"].as_array().unwrap().iter().filter_map(|t| t["template"].as_str()).collect();
    assert_eq!(offered, ["medication", "bills", "call_family"]);

    // A zone that is not the default, and a channel that exists: done without being told.
    patch(&app, &token, "/v1/users/me", json!({"timezone": "Europe/Berlin"})).await.data(200);
    subscribe(&app, &user_id(&app, &token).await, "pull").await;
    let derived = onboarding(&app, &token).await;
    assert_eq!(statuses(&derived), pairs(&[("timezone", "done"), ("channel", "done"), ("reminder", "pending")]));

    // The first reminder from a template is an ordinary reminder, in the account's zone.
    let made = act(&app, &token, json!({"action": "createReminder", "template": "medication"})).await;
    let reminder = made.data(201)["reminder"].clone();
    assert_eq!(reminder["title"], "Take my medication", "{reminder}");
    assert_eq!(reminder["importance"], "high");
    assert_eq!(reminder["schedule"]["type"], "cron");
    assert_eq!(reminder["schedule"]["expression"], "0 9 * * *");
    assert_eq!(reminder["schedule"]["timezone"], "Europe/Berlin");
    assert_eq!(reminder["escalationProfileId"], "00000000-0000-4000-8000-000000000004", "the Medication preset");
    let next = reminder["nextTriggerAt"].as_str().unwrap_or_default();
    assert!(next.ends_with("T08:00:00Z") || next.ends_with("T07:00:00Z"), "09:00 in Berlin: {reminder}");
    assert_eq!(made.body["data"]["onboarding"]["finished"], true);
    let id = reminder["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/reminders/{id}"), Some(&token)).await.data(200)["title"], "Take my medication");

    // Only the first: a second press is a conflict and makes nothing.
    let again = act(&app, &token, json!({"action": "createReminder", "template": "bills"})).await;
    again.assert_error(409, "CONFLICT");
    assert_eq!(app.get("/v1/reminders", Some(&token)).await.data(200).as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_can_be_marked_done_and_onboarding_dismissed_for_that_user_only() {
    let app = TestApp::spawn().await;
    let ada = utc_user(&app, "ada-onboard@example.com").await;
    let eve = utc_user(&app, "eve-onboard@example.com").await;

    // UTC really is Ada's zone: she says so.
    let confirmed = act(&app, &ada, json!({"action": "complete", "step": "timezone"})).await;
    assert_eq!(statuses(&confirmed.data(200)["onboarding"])[0], ("timezone".to_owned(), "done".to_owned()));
    assert!(confirmed.body["data"].get("reminder").is_none(), "{}", confirmed.text);
    act(&app, &ada, json!({"action": "complete", "step": "timezone"})).await.data(200);
    // A reminder made the usual way completes its step too.
    app.post("/v1/reminders", once_body("Dentist"), Some(&ada)).await.data(201);
    let view = onboarding(&app, &ada).await;
    assert_eq!(statuses(&view), pairs(&[("timezone", "done"), ("channel", "pending"), ("reminder", "done")]));

    let dismissed = act(&app, &ada, json!({"action": "dismiss"})).await;
    assert_eq!(dismissed.data(200)["onboarding"]["dismissed"], true);
    assert_eq!(onboarding(&app, &ada).await["dismissed"], true, "kept");

    // Eve's progress is her own.
    let hers = onboarding(&app, &eve).await;
    assert_eq!(hers["dismissed"], false);
    assert_eq!(statuses(&hers), pairs(&[("timezone", "pending"), ("channel", "pending"), ("reminder", "pending")]));
    app.get("/v1/onboarding", None).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_onboarding_input_is_the_error_envelope_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = utc_user(&app, "bad-onboard@example.com").await;
    for body in [
        json!({"action": "complete", "step": "timezone", "extra": true}),
        json!({"action": "complete", "step": "billing"}),
        json!({"action": "complete"}),
        json!({"action": "createReminder", "template": "taxes"}),
        json!({"action": "createReminder", "template": 3}),
        json!({"action": "celebrate"}),
        json!({"step": "timezone"}),
        json!("dismiss"),
    ] {
        act(&app, &token, body.clone()).await.assert_error(400, "VALIDATION_ERROR");
    }
    let view = onboarding(&app, &token).await;
    assert_eq!(statuses(&view), pairs(&[("timezone", "pending"), ("channel", "pending"), ("reminder", "pending")]));
    assert_eq!(view["dismissed"], false);
}
