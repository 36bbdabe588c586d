//! Action links end to end: the links arrive in a webhook payload; GET only shows a confirm page; POST acts
//! once through the engine's action path; used, expired, tampered and outdated links change nothing; a link
//! acts only on its own delivery's episode.

use std::time::Duration;

use escalating_reminders::notifications::links::{LinkAction, LinkSigner};
use reminder_core::ids::DeliveryId;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Reply, TestApp};
use crate::engine::seed::{Seed, count};
use crate::engine::{accepting_sink, eventually};
use crate::fixtures::scalar;

/// One user's reminder that fired to a webhook sink; its action links as the sink received them.
struct Fired {
    reminder: Uuid,
    links: Value,
}

/// Fires a reminder of `seed`'s user to `{sink}/{name}` and returns the links of its payload.
async fn fire(seed: &Seed<'_>, sink: &MockServer, name: &str, also: &[Uuid]) -> Fired {
    let hook = seed.webhook(&format!("{}/{name}", sink.uri())).await;
    let mut targets = vec![hook.id];
    targets.extend_from_slice(also);
    let reminder =
        seed.reminder_due_in(chrono::Duration::zero(), &[(0, targets.as_slice()), (30, &[hook.id])], 0).await;
    let received = || async {
        sink.received_requests().await.unwrap_or_default().into_iter().find(|r| r.url.path() == format!("/{name}"))
    };
    eventually(Duration::from_secs(15), "the webhook receives the notification", || async {
        received().await.is_some()
    })
    .await;
    let body: Value = serde_json::from_slice(&received().await.unwrap().body).unwrap();
    let links = body["data"]["actions"].clone();
    assert!(links["acknowledge"].as_str().is_some_and(|l| l.starts_with("http://127.0.0.1:3801/a/")), "{body}");
    Fired { reminder, links }
}

/// The path of a link, to call on the test app (whose port is not the one in `API_URL`).
fn path_of(link: &Value) -> String {
    let link = link.as_str().expect("a link");
    link.trim_start_matches("http://127.0.0.1:3801").to_owned()
}

async fn open(app: &TestApp, method: Method, path: &str) -> Reply {
    Reply::from(app.client.request(method, app.url(path)).send().await.expect("request sent")).await
}

fn assert_page(reply: &Reply, status: u16, words: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert!(reply.content_type().starts_with("text/html"), "{}", reply.content_type());
    assert!(reply.text.contains(words), "expected {words:?} in {}", reply.text);
}

async fn episode_of(app: &TestApp, reminder: Uuid) -> String {
    scalar(
        app,
        &format!(
            "SELECT status || ':' || coalesce(acted_by, '') AS value FROM escalations WHERE reminder_id = '{reminder}'"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn get_confirms_post_acts_once_and_cancels_pending_deliveries() {
    let sink = MockServer::start().await;
    Mock::given(method("POST")).and(path("/flaky")).respond_with(ResponseTemplate::new(503)).mount(&sink).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let flaky = seed.webhook(&format!("{}/flaky", sink.uri())).await;
    let fired = fire(&seed, &sink, "home", &[flaky.id]).await;
    eventually(Duration::from_secs(15), "the flaky delivery waits for its retry", || async {
        let mut conn = app.db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND attempts = 1").await == 1
    })
    .await;

    let acknowledge = path_of(&fired.links["acknowledge"]);
    let confirm = open(&app, Method::GET, &acknowledge).await;
    assert_page(&confirm, 200, "method=\"post\"");
    assert!(confirm.text.contains("Take the pills"), "{}", confirm.text);
    assert_eq!(episode_of(&app, fired.reminder).await, "active:", "GET does not act");

    let acted = open(&app, Method::POST, &acknowledge).await;
    assert_page(&acted, 200, "acknowledged");
    assert_eq!(episode_of(&app, fired.reminder).await, "acknowledged:link");
    let mut conn = app.db.connect().await;
    let cancelled = "SELECT count(*) AS n FROM deliveries WHERE status = 'cancelled'";
    assert_eq!(count(&mut conn, cancelled).await, 1, "the pending retry is cancelled");

    let again = open(&app, Method::POST, &acknowledge).await;
    assert_page(&again, 409, "already used");
    let logged = "SELECT count(*) AS n FROM event_logs WHERE kind = 'reminder.acknowledged'";
    assert_eq!(count(&mut conn, logged).await, 1, "the second POST changed nothing");
    assert_page(&open(&app, Method::GET, &acknowledge).await, 409, "already used");

    // The other links of the same notification still work: done completes the one-off reminder.
    assert_page(&open(&app, Method::POST, &path_of(&fired.links["complete"])).await, 200, "marked as done");
    assert_eq!(scalar(&app, "SELECT status AS value FROM reminders").await, "completed");
    assert_eq!(episode_of(&app, fired.reminder).await, "completed:link");
    // Nothing is left to snooze: the episode is over, and both pages say so (no button to press).
    let snooze = path_of(&fired.links["snooze"]);
    let confirm = open(&app, Method::GET, &snooze).await;
    assert_page(&confirm, 409, "Nothing left to do");
    assert!(!confirm.text.contains("<form"), "{}", confirm.text);
    assert_page(&open(&app, Method::POST, &snooze).await, 409, "Nothing was changed");
    assert_eq!(scalar(&app, "SELECT status AS value FROM reminders").await, "completed");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM action_link_uses").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snooze_link_snoozes_for_an_hour() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let fired = fire(&seed, &sink, "home", &[]).await;
    let snooze = path_of(&fired.links["snooze"]);
    assert_page(&open(&app, Method::GET, &snooze).await, 200, "Snooze");
    assert_eq!(scalar(&app, "SELECT status AS value FROM reminders").await, "active");
    let acted = open(&app, Method::POST, &snooze).await;
    assert_page(&acted, 200, "snoozed until");
    let now = app.state.clock.now();
    let until = scalar(&app, "SELECT to_char(snoozed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') AS value FROM reminders WHERE status = 'snoozed'").await;
    let until = chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%dT%H:%M:%S").unwrap().and_utc();
    let hour = (until - now).num_seconds();
    assert!((3590..=3600).contains(&hour), "snoozed {hour} s");
    assert_eq!(episode_of(&app, fired.reminder).await, "cancelled:link");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tampered_and_unknown_links_show_a_page_and_change_nothing() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let fired = fire(&seed, &sink, "home", &[]).await;
    let delivery: DeliveryId = scalar(&app, "SELECT id::text AS value FROM deliveries").await.parse().unwrap();
    let signer = LinkSigner::new(&app.state.config);
    let now = app.state.clock.now();

    let expired = signer.token(delivery, LinkAction::Acknowledge, now - chrono::Duration::seconds(1));
    assert_page(&open(&app, Method::GET, &format!("/a/{expired}")).await, 410, "expired");
    assert_page(&open(&app, Method::POST, &format!("/a/{expired}")).await, 410, "expired");

    let genuine = path_of(&fired.links["complete"]);
    let mut tampered = genuine.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_page(&open(&app, Method::POST, &tampered).await, 400, "not valid");
    assert_page(&open(&app, Method::POST, "/a/not-a-token").await, 400, "not valid");
    // Well signed, but for a delivery that does not exist.
    let unknown = signer.link(DeliveryId(Uuid::new_v4()), LinkAction::Complete, now);
    assert_page(&open(&app, Method::POST, &path_of(&Value::String(unknown))).await, 400, "not valid");

    assert_eq!(episode_of(&app, fired.reminder).await, "active:");
    assert_eq!(scalar(&app, "SELECT status AS value FROM reminders").await, "active");
    let mut conn = app.db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM action_link_uses").await, 0);
    // The genuine link still works afterwards.
    assert_page(&open(&app, Method::POST, &genuine).await, 200, "marked as done");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_acts_only_on_its_own_users_episode() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let alice = Seed::new(&app).await;
    let bob = Seed::new(&app).await;
    let alices = fire(&alice, &sink, "alice", &[]).await;
    let bobs = fire(&bob, &sink, "bob", &[]).await;

    assert_page(&open(&app, Method::POST, &path_of(&alices.links["acknowledge"])).await, 200, "acknowledged");
    assert_eq!(episode_of(&app, alices.reminder).await, "acknowledged:link");
    assert_eq!(episode_of(&app, bobs.reminder).await, "active:", "Bob's episode is untouched");

    // Alice's signature over Bob's delivery id does not verify: the id cannot be swapped.
    let signer = LinkSigner::new(&app.state.config);
    let alice_token = path_of(&alices.links["complete"]).trim_start_matches("/a/").to_owned();
    let bob_delivery = scalar(
        &app,
        &format!("SELECT id::text AS value FROM deliveries WHERE reminder_id = '{}' AND tier = 1", bobs.reminder),
    )
    .await;
    let claim = signer.verify(&alice_token, app.state.clock.now()).unwrap();
    let forged = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = engine.decode(&alice_token).unwrap();
        bytes[1..17].copy_from_slice(bob_delivery.parse::<Uuid>().unwrap().as_bytes());
        engine.encode(bytes)
    };
    assert_ne!(claim.delivery_id.to_string(), bob_delivery);
    assert_page(&open(&app, Method::POST, &format!("/a/{forged}")).await, 400, "not valid");
    assert_eq!(episode_of(&app, bobs.reminder).await, "active:");
    assert_eq!(
        scalar(&app, &format!("SELECT status AS value FROM reminders WHERE id = '{}'", bobs.reminder)).await,
        "active"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_carries_the_three_links_within_two_segments() {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM1"})))
        .mount(&twilio)
        .await;
    let app = TestApp::spawn_roles(
        "all",
        &[
            ("TWILIO_ACCOUNT_SID", "AC123"),
            ("TWILIO_AUTH_TOKEN", "token"),
            ("TWILIO_PHONE_NUMBER", "+15550000000"),
            ("TWILIO_API_BASE", &twilio.uri()),
        ],
    )
    .await;
    let seed = Seed::new(&app).await;
    let phone = seed.subscription("sms", serde_json::json!({"phoneNumber": "+15551234567"})).await;
    let reminder = seed.reminder_due_in(chrono::Duration::minutes(1), &[(0, &[phone])], 0).await;
    seed.retitle(reminder, &"Water the tomatoes in the greenhouse ".repeat(4)).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(1)).await;
    eventually(Duration::from_secs(15), "Twilio is asked to send", || async {
        !twilio.received_requests().await.unwrap_or_default().is_empty()
    })
    .await;
    let request = &twilio.received_requests().await.unwrap()[0];
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&request.body).into_owned().collect();
    let body = &form["Body"];
    assert!(escalating_reminders::agents::sms::segments::segments(body) <= 2, "{body}");
    assert!(body.contains("Water the tomatoes"), "{body}");
    let signer = LinkSigner::new(&app.state.config);
    let actions: Vec<LinkAction> = body
        .split("http://127.0.0.1:3801/a/")
        .skip(1)
        .map(|rest| signer.verify(rest.split_whitespace().next().unwrap(), app.state.clock.now()).unwrap().action)
        .collect();
    assert_eq!(actions, [LinkAction::Acknowledge, LinkAction::Complete, LinkAction::Snooze], "{body}");
}
