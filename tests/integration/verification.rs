//! Test sends, verification codes and invitations are no relay for spam or SMS toll fraud: a new email
//! address or phone number gets its code and nothing else until the code is entered; test sends obey the
//! delivery controls and the SMS budget; codes and invitations are limited per address, however often
//! the address is changed; an invitation shows the owner's name, not their advert.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::smtp::SmtpSink;
use crate::common::{Reply, TestApp};
use crate::engine::eventually;
use crate::fixtures::{confirm_own_address, exec, patch, scalar, user, user_id};

const SID: &str = "AC0123456789";
const PHONE: &str = "+15557654321";
const OTHER_PHONE: &str = "+15557650000";

async fn twilio() -> MockServer {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{SID}/Messages.json")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM0001", "status": "queued"})))
        .mount(&twilio)
        .await;
    twilio
}

fn twilio_env(twilio: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("TWILIO_ACCOUNT_SID", SID.to_owned()),
        ("TWILIO_AUTH_TOKEN", "twilio-auth-token-for-tests".to_owned()),
        ("TWILIO_PHONE_NUMBER", "+15550001111".to_owned()),
        ("TWILIO_API_BASE", twilio.uri()),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Every text Twilio was asked to send, as (to, body).
async fn texts(twilio: &MockServer) -> Vec<(String, String)> {
    twilio
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body).into_owned().collect();
            let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
            (field("To"), field("Body"))
        })
        .collect()
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let start = text.find("code: ").expect("a code in the message") + 6;
    text[start..start + 6].to_owned()
}

async fn subscribe(app: &TestApp, token: &str, kind: &str, config: Value) -> Reply {
    app.post(&format!("/v1/agents/{kind}/subscribe"), json!({ "config": config }), Some(token)).await
}

async fn test_send(app: &TestApp, token: &str, id: &str) -> Reply {
    app.post(&format!("/v1/agents/subscriptions/{id}/test"), json!({}), Some(token)).await
}

async fn verify(app: &TestApp, token: &str, id: &str, code: &str) -> Reply {
    app.post(&format!("/v1/agents/subscriptions/{id}/verify"), json!({ "code": code }), Some(token)).await
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    if code == "000000" { "111111".to_owned() } else { "000000".to_owned() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_phone_number_gets_its_code_and_nothing_else_until_the_code_is_entered() {
    let twilio = twilio().await;
    let env = twilio_env(&twilio);
    let app = TestApp::spawn_roles("all", &borrowed(&env)).await;
    let token = user(&app, "verify-sms@example.com").await;
    let me = user_id(&app, &token).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{me}'")).await;

    let created = subscribe(&app, &token, "sms", json!({"phoneNumber": PHONE})).await;
    let data = created.data(201).clone();
    assert_eq!(data["verified"], false, "{data}");
    assert_eq!(data["verification"]["outcome"], "sent", "{data}");
    let id = data["id"].as_str().unwrap().to_owned();
    let sent = texts(&twilio).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, PHONE);
    let code = code_in(&sent[0].1);

    // Not verified: no test send, and a reminder escalating to it sends nothing.
    test_send(&app, &token, &id).await.assert_error(409, "CONFLICT");
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Text me", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [id]}]}),
            Some(&token),
        )
        .await;
    let profile = profile.data(201)["id"].as_str().unwrap().to_owned();
    // A few seconds ahead: `soon` keeps whole seconds, and a loaded machine takes a while to send the request.
    let at = crate::fixtures::soon(&app, 3);
    let reminder = json!({"title": "Buy premium numbers", "escalationProfileId": profile,
                          "schedule": {"type": "once", "triggerAt": at}});
    let reminder = app.post("/v1/reminders", reminder, Some(&token)).await.data(201)["id"].as_str().unwrap().to_owned();
    let preview = app.get(&format!("/v1/reminders/{reminder}/preview"), Some(&token)).await;
    assert!(preview.data(200)["skipped"].to_string().contains("not verified yet"), "{}", preview.text);
    eventually(Duration::from_secs(15), "the reminder fires", || async {
        scalar(&app, "SELECT count(*)::text AS value FROM escalations").await == "1"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(texts(&twilio).await.len(), 1, "only the code was texted");

    verify(&app, &token, &id, &wrong(&code)).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    verify(&app, &token, &id, "12ab").await.assert_error(400, "VALIDATION_ERROR");
    let verified = verify(&app, &token, &id, &code).await;
    assert_eq!(verified.data(200)["verified"], true, "{}", verified.text);
    let tested = test_send(&app, &token, &id).await;
    assert_eq!(tested.data(200)["outcome"], "sent", "{}", tested.text);
    assert_eq!(texts(&twilio).await.len(), 2);

    // A new number is a new address: it is asked again, and gets nothing else meanwhile.
    let path = format!("/v1/agents/subscriptions/{id}");
    let moved = patch(&app, &token, &path, json!({"config": {"phoneNumber": OTHER_PHONE}})).await;
    assert_eq!(moved.data(200)["verified"], false, "{}", moved.text);
    let sent = texts(&twilio).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].0, OTHER_PHONE);
    test_send(&app, &token, &id).await.assert_error(409, "CONFLICT");
    // Another user cannot verify it.
    let intruder = user(&app, "verify-intruder@example.com").await;
    verify(&app, &intruder, &id, &code_in(&sent[2].1)).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_sends_and_invitations_obey_the_delivery_controls_and_the_sms_budget() {
    let twilio = twilio().await;
    let mut env = twilio_env(&twilio);
    env.push(("TIER_LIMITS", r#"{"PERSONAL": {"smsPerMonth": 3}}"#.to_owned()));
    env.push(("DEFAULT_TIER", "PERSONAL".to_owned()));
    env.push(("FEATURE_SOCIAL_ESCALATION", "true".to_owned()));
    let app = TestApp::spawn_with(&borrowed(&env)).await;
    let token = user(&app, "controls-test@example.com").await;
    let me = user_id(&app, &token).await;
    let created = subscribe(&app, &token, "sms", json!({"phoneNumber": PHONE})).await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    let code = code_in(&texts(&twilio).await[0].1);
    verify(&app, &token, &id, &code).await.data(200);

    // The issue's attack: a delivery-disabled account texting on.
    exec(&app, &format!("UPDATE subscriptions SET delivery_state = 'DELIVERY_DISABLED' WHERE user_id = '{me}'")).await;
    for _ in 0..3 {
        let reply = test_send(&app, &token, &id).await;
        let data = reply.data(200);
        assert_eq!(data["outcome"], "suppressed", "{}", reply.text);
        assert_eq!(data["reason"], "delivery_disabled", "{}", reply.text);
    }
    assert_eq!(texts(&twilio).await.len(), 1, "only the code was ever texted");

    // Active again: the budget of 3 covers the code, one test and one invitation; then nothing more.
    exec(&app, &format!("UPDATE subscriptions SET delivery_state = 'ACTIVE' WHERE user_id = '{me}'")).await;
    assert_eq!(test_send(&app, &token, &id).await.data(200)["outcome"], "sent");
    let contact = json!({"name": "Grace", "phone": "+15557651111"});
    app.post("/v1/trusted-contacts", contact, Some(&token)).await.data(201);
    assert_eq!(texts(&twilio).await.len(), 3, "the invitation was texted");
    let over = test_send(&app, &token, &id).await;
    assert_eq!(over.data(200)["outcome"], "suppressed", "{}", over.text);
    assert!(over.body["data"]["reason"].as_str().unwrap().contains("SMS budget"), "{}", over.text);
    let contact = json!({"name": "Heidi", "phone": "+15557652222"});
    app.post("/v1/trusted-contacts", contact, Some(&token)).await.data(201);
    assert_eq!(texts(&twilio).await.len(), 3, "no text past the budget");
    let summary = app.get("/v1/billing/subscription", Some(&token)).await;
    assert_eq!(summary.data(200)["usage"]["smsThisMonth"]["used"], 3, "{}", summary.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_address_is_confirmed_with_the_code_from_its_inbox_and_codes_are_limited() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &sink.url())]).await;
    let token = user(&app, "verify-mail@example.com").await;
    confirm_own_address(&app, "verify-mail@example.com").await;
    patch(&app, &token, "/v1/users/me", json!({"displayName": "Cheap pills at pills.example"})).await.data(200);
    let address = "someone-else@example.net";
    let created = subscribe(&app, &token, "email", json!({ "address": address })).await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["data"]["verified"], false);
    let inbox = sink.received_by(address);
    assert_eq!(inbox.len(), 1);
    assert!(!inbox[0].data.contains("pills.example"), "the code mail carries nothing the account wrote");
    let first = code_in(&inbox[0].body());

    // An email test to any address the account types is refused until the address answers.
    test_send(&app, &token, &id).await.assert_error(409, "CONFLICT");
    let resend = format!("/v1/agents/subscriptions/{id}/verify/resend");
    let early = app.post(&resend, json!({}), Some(&token)).await;
    early.assert_error(429, "RATE_LIMITED");
    assert!(early.headers.get("retry-after").is_some());

    // Five wrong guesses use the code up; even the right one no longer works.
    for _ in 0..5 {
        verify(&app, &token, &id, &wrong(&first)).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    }
    verify(&app, &token, &id, &first).await.assert_error(422, "UNPROCESSABLE_ENTITY");

    app.state.clock.advance(chrono::Duration::seconds(61));
    let again = app.post(&resend, json!({}), Some(&token)).await;
    assert_eq!(again.data(200)["outcome"], "sent", "{}", again.text);
    let second = code_in(&sink.received_by(address)[1].body());
    assert_eq!(verify(&app, &token, &id, &second).await.data(200)["verified"], true);
    assert_eq!(test_send(&app, &token, &id).await.data(200)["outcome"], "sent");
    assert_eq!(sink.received_by(address).len(), 3);

    // Changing the address back and forth does not reset the limit of five codes a day per address.
    let path = format!("/v1/agents/subscriptions/{id}");
    let mut outcomes = Vec::new();
    for n in 0..8 {
        app.state.clock.advance(chrono::Duration::seconds(61));
        let to = if n % 2 == 0 { "elsewhere@example.net" } else { address };
        let moved = patch(&app, &token, &path, json!({"config": {"address": to}})).await;
        outcomes.push(moved.data(200)["verification"]["outcome"].as_str().unwrap().to_owned());
    }
    let codes = |to: &str| {
        sink.received_by(to).iter().filter(|m| m.header("Subject").is_some_and(|s| s.contains("code"))).count()
    };
    assert_eq!(codes(address), 5, "{outcomes:?}");
    assert_eq!(codes("elsewhere@example.net"), 4, "{outcomes:?}");
    assert!(outcomes.contains(&"suppressed".to_owned()), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invitations_are_limited_per_address_and_show_a_name_not_an_advert() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[
        ("SMTP_URL", &sink.url()),
        ("DEFAULT_TIER", "PRO"),
        ("FEATURE_SOCIAL_ESCALATION", "true"),
    ])
    .await;
    let token = user(&app, "inviter@example.com").await;
    let advert = "WIN $500 now at https://scam.example/claim";
    patch(&app, &token, "/v1/users/me", json!({"displayName": advert})).await.data(200);
    let created = app
        .post("/v1/trusted-contacts", json!({"name": "Visit scam.example", "email": "a@example.net"}), Some(&token))
        .await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    let invitation = &sink.received_by("a@example.net")[0];
    assert!(!invitation.data.contains("scam.example"), "{}", invitation.data);
    assert!(!invitation.data.contains("$500"), "{}", invitation.data);
    assert!(invitation.header("Subject").unwrap().contains("WIN now at"), "{}", invitation.data);
    assert!(invitation.body().contains("\"WIN now at\""), "quoted as a name: {}", invitation.data);

    // A loop of address changes: three invitations a day per address, then 429 and nothing saved.
    let path = format!("/v1/trusted-contacts/{id}");
    let mut statuses = Vec::new();
    for n in 0..8 {
        let to = if n % 2 == 0 { "b@example.net" } else { "a@example.net" };
        statuses.push(patch(&app, &token, &path, json!({ "email": to })).await.status);
    }
    assert_eq!(sink.received_by("a@example.net").len(), 3, "{statuses:?}");
    assert_eq!(sink.received_by("b@example.net").len(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    let limited = patch(&app, &token, &path, json!({"email": "a@example.net"})).await;
    limited.assert_error(429, "RATE_LIMITED");
    let current = app.get(&path, Some(&token)).await;
    assert_eq!(current.data(200)["email"], "b@example.net", "a refused change is not saved");
}
