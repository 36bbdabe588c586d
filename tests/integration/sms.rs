//! SMS end to end against a wiremock Twilio: the send (auth, form body, status callback), signed delivery
//! receipts, two-way replies (ACK, DONE, SNOOZE, unknown numbers) and STOP/START.

use std::time::Duration;

use base64::Engine;
use hmac::Mac;
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Reply, TestApp};
use crate::engine::seed::{Seed, count};
use crate::engine::{accepting_sink, eventually};
use crate::fixtures::{exec, scalar, user, user_id};

const SID: &str = "AC0123456789";
const TOKEN: &str = "twilio-auth-token-for-tests";
const FROM: &str = "+15550001111";
pub const PHONE: &str = "+15557654321";
/// What `base_env` sets as API_URL: the public URL Twilio signs, whatever address the app listens on.
const PUBLIC: &str = "http://127.0.0.1:3801";

/// A wiremock Twilio that accepts every message, and an app (all roles) that sends through it.
pub async fn twilio_and_app() -> (MockServer, TestApp) {
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{SID}/Messages.json")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SM0001", "status": "queued"})),
        )
        .mount(&twilio)
        .await;
    let base = twilio.uri();
    let app = TestApp::spawn_roles(
        "all",
        &[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", TOKEN),
            ("TWILIO_PHONE_NUMBER", FROM),
            ("TWILIO_API_BASE", &base),
        ],
    )
    .await;
    (twilio, app)
}

/// Twilio's signature, computed independently of the code under test.
fn twilio_signature(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// POSTs a form as Twilio would, signed over the public URL unless `signature` overrides it.
async fn twilio_post(app: &TestApp, path_and_query: &str, params: &[(&str, &str)], signature: Option<&str>) -> Reply {
    let good = twilio_signature(&format!("{PUBLIC}{path_and_query}"), params);
    let mut request = app.client.post(app.url(path_and_query)).form(params);
    match signature {
        Some("") => {}
        Some(other) => request = request.header("x-twilio-signature", other),
        None => request = request.header("x-twilio-signature", good),
    }
    Reply::from(request.send().await.unwrap()).await
}

/// A reply text from `phone`; returns the TwiML message text after checking the content type.
pub async fn text_back(app: &TestApp, phone: &str, body: &str) -> String {
    let reply =
        twilio_post(app, "/v1/webhooks/twilio/sms", &[("From", phone), ("To", FROM), ("Body", body)], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.content_type().starts_with("application/xml"), "{}", reply.content_type());
    assert!(reply.text.contains("<Response><Message>"), "{}", reply.text);
    reply.text
}

async fn sql_count(app: &TestApp, sql: &str) -> i64 {
    count(&mut app.db.connect().await, sql).await
}

async fn wait_sent(app: &TestApp, sent: i64) {
    eventually(Duration::from_secs(15), "SMS deliveries sent", || async {
        sql_count(app, "SELECT count(*) AS n FROM deliveries WHERE channel = 'sms' AND status = 'sent'").await == sent
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_reaches_twilio_and_signed_receipts_update_the_delivery() {
    let (twilio, app) = twilio_and_app().await;
    let seed = Seed::new(&app).await;
    let sms = seed.sms(PHONE).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[sms])], 0).await;
    wait_sent(&app, 1).await;

    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(request.headers.get("authorization").unwrap().to_str().unwrap(), format!("Basic {basic}"));
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&request.body).into_owned().collect();
    let delivery = scalar(&app, "SELECT id::text AS value FROM deliveries").await;
    assert_eq!(form["To"], PHONE);
    assert_eq!(form["From"], FROM);
    assert!(form["Body"].contains("Take the pills") && form["Body"].contains("ACK"), "{}", form["Body"]);
    let callback = format!("{PUBLIC}/v1/webhooks/twilio/status?delivery={delivery}");
    assert_eq!(form["StatusCallback"], callback);
    assert_eq!(scalar(&app, "SELECT provider_message_id AS value FROM deliveries").await, "SM0001");

    let status_path = format!("/v1/webhooks/twilio/status?delivery={delivery}");
    let delivered = [("MessageSid", "SM0001"), ("MessageStatus", "delivered")];
    // A wrong signature, one made for another URL, or none at all: 403, nothing changes.
    let forged =
        twilio_signature(&format!("{PUBLIC}/v1/webhooks/twilio/status?delivery={}", Uuid::new_v4()), &delivered);
    for signature in [Some("bm90IGEgc2lnbmF0dXJl"), Some(forged.as_str()), Some("")] {
        twilio_post(&app, &status_path, &delivered, signature).await.assert_error(403, "FORBIDDEN");
    }
    let status = "SELECT status AS value FROM deliveries";
    assert_eq!(scalar(&app, status).await, "sent");

    let taken = twilio_post(&app, &status_path, &delivered, None).await;
    assert_eq!(taken.status, 204, "{}", taken.text);
    assert_eq!(scalar(&app, status).await, "delivered");
    assert_eq!(sql_count(&app, "SELECT count(*) AS n FROM deliveries WHERE delivered_at IS NOT NULL").await, 1);
    // A send whose outcome was unknown (a timeout) learns it from the receipt.
    exec(&app, "UPDATE deliveries SET status = 'failed', last_error = 'unknown_outcome', delivered_at = NULL").await;
    assert_eq!(twilio_post(&app, &status_path, &delivered, None).await.status, 204);
    assert_eq!(scalar(&app, status).await, "delivered");
    // A late failure does not undo a delivery.
    let failed = [("MessageSid", "SM0001"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")];
    assert_eq!(twilio_post(&app, &status_path, &failed, None).await.status, 204);
    assert_eq!(scalar(&app, status).await, "delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_numbers_must_be_e164_at_subscribe_time() {
    let app = TestApp::spawn().await;
    let token = user(&app, "sms-sub@example.com").await;
    let me = user_id(&app, &token).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{me}'")).await;
    for bad in ["555-1234", "15551234567", "+0551234567", "+1555123456789012", "+1 555 123 4567"] {
        let reply = app.post("/v1/agents/sms/subscribe", json!({"config": {"phoneNumber": bad}}), Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["details"][0]["field"], "config.phoneNumber", "{bad}");
    }
    let good = app.post("/v1/agents/sms/subscribe", json!({"config": {"phoneNumber": PHONE}}), Some(&token)).await;
    assert_eq!(good.data(201)["config"]["phoneNumber"], PHONE, "{}", good.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_failure_receipt_fails_the_delivery_and_escalates_at_once() {
    let (_twilio, app) = twilio_and_app().await;
    let sink = accepting_sink().await;
    let seed = Seed::new(&app).await;
    let sms = seed.sms(PHONE).await;
    let next = seed.webhook(&format!("{}/tier-2", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[sms]), (60, &[next.id])], 0).await;
    wait_sent(&app, 1).await;
    let delivery = scalar(&app, "SELECT id::text AS value FROM deliveries WHERE channel = 'sms'").await;
    let path = format!("/v1/webhooks/twilio/status?delivery={delivery}");
    let other_message = [("MessageSid", "SM9999"), ("MessageStatus", "failed")];
    assert_eq!(twilio_post(&app, &path, &other_message, None).await.status, 204);
    let status = "SELECT status AS value FROM deliveries WHERE channel = 'sms'";
    assert_eq!(scalar(&app, status).await, "sent", "another message's receipt");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received_requests().await.unwrap().len(), 0, "tier 2 waits its hour while the SMS may arrive");

    let failed = [("MessageSid", "SM0001"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")];
    assert_eq!(twilio_post(&app, &path, &failed, None).await.status, 204);
    assert_eq!(
        scalar(&app, "SELECT status || ': ' || last_error AS value FROM deliveries WHERE channel = 'sms'").await,
        "failed: twilio reported the message undelivered (error 30003)"
    );
    // Nobody was reached on tier 1, so tier 2 fires now rather than in an hour.
    eventually(Duration::from_secs(15), "tier 2 fires at once", || async {
        sink.received_requests().await.unwrap_or_default().len() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_act_on_the_most_recent_open_reminder_of_that_number() {
    let (_twilio, app) = twilio_and_app().await;
    let seed = Seed::new(&app).await;
    let sms = seed.sms(PHONE).await;
    let first = seed.reminder_due_in(chrono::Duration::minutes(1), &[(0, &[sms])], 0).await;
    let second = seed.reminder_due_in(chrono::Duration::minutes(2), &[(0, &[sms])], 0).await;
    exec(&app, &format!("UPDATE reminders SET title = 'Water the plants' WHERE id = '{first}'")).await;
    exec(&app, &format!("UPDATE reminders SET title = 'Call mum' WHERE id = '{second}'")).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(1)).await;
    wait_sent(&app, 1).await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(1)).await;
    wait_sent(&app, 2).await;
    let episode = |reminder: Uuid| {
        format!(
            "SELECT status || '/' || coalesce(acted_by, '-') AS value FROM escalations WHERE reminder_id = '{reminder}'"
        )
    };
    let reminder = |reminder: Uuid| format!("SELECT status AS value FROM reminders WHERE id = '{reminder}'");

    // Someone else's number changes nothing.
    let before = scalar(&app, "SELECT string_agg(e::text, '|' ORDER BY e.id) AS value FROM escalations e").await;
    let stranger = text_back(&app, "+15559990000", "DONE").await;
    assert!(stranger.contains("not linked to an Escalating Reminders account"), "{stranger}");
    assert_eq!(scalar(&app, "SELECT string_agg(e::text, '|' ORDER BY e.id) AS value FROM escalations e").await, before);

    let acked = text_back(&app, PHONE, "ack").await;
    assert!(acked.contains("Acknowledged &quot;Call mum&quot;"), "{acked}");
    assert_eq!(scalar(&app, &episode(second)).await, "acknowledged/sms");
    assert_eq!(scalar(&app, &episode(first)).await, "active/-");

    let done = text_back(&app, PHONE, "DONE").await;
    assert!(done.contains("Done: &quot;Call mum&quot;"), "{done}");
    assert_eq!(scalar(&app, &episode(second)).await, "completed/sms");
    assert_eq!(scalar(&app, &reminder(second)).await, "completed");

    // The other reminder is now the most recent open one; a phrase that means no time changes nothing.
    let nonsense = text_back(&app, PHONE, "SNOOZE when pigs fly").await;
    assert!(nonsense.contains("not a time I understand"), "{nonsense}");
    assert_eq!(scalar(&app, &reminder(first)).await, "active");
    let snoozed = text_back(&app, PHONE, "SNOOZE 2 hours").await;
    assert_eq!(scalar(&app, &reminder(first)).await, "snoozed");
    assert_eq!(scalar(&app, &episode(first)).await, "cancelled/sms");
    let micros = "SELECT (extract(epoch FROM snoozed_until) * 1000000)::bigint::text AS value FROM reminders WHERE id";
    let micros: i64 = scalar(&app, &format!("{micros} = '{first}'")).await.parse().unwrap();
    let until = chrono::DateTime::from_timestamp_micros(micros).unwrap();
    let expected = until - app.state.clock.now();
    assert!(expected > chrono::Duration::minutes(119) && expected <= chrono::Duration::hours(2), "{expected}");
    let echo = reminder_core::nlp::echo(until, chrono_tz::UTC);
    assert!(snoozed.contains(&format!("Snoozed &quot;Water the plants&quot; until {echo}.")), "{snoozed}");
    assert_eq!(scalar(&app, "SELECT source || ' ' || phrase AS value FROM reminder_snoozes").await, "sms 2 hours");

    let idle = text_back(&app, PHONE, "ACK").await;
    assert!(idle.contains("Nothing is waiting"), "{idle}");
    // A reply without a valid signature acts on nothing.
    let forged =
        twilio_post(&app, "/v1/webhooks/twilio/sms", &[("From", PHONE), ("Body", "DONE")], Some("Zm9yZ2Vk")).await;
    forged.assert_error(403, "FORBIDDEN");
    assert_eq!(scalar(&app, &reminder(first)).await, "snoozed");
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_ends_texts_to_that_number_at_once_and_start_resumes_them() {
    let (twilio, app) = twilio_and_app().await;
    let seed = Seed::new(&app).await;
    let sms = seed.sms(PHONE).await;

    let stopped = text_back(&app, PHONE, "STOP").await;
    assert!(stopped.contains("no more texts"), "{stopped}");
    assert_eq!(scalar(&app, "SELECT phone AS value FROM sms_opt_outs").await, PHONE);
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[sms])], 0).await;
    eventually(Duration::from_secs(15), "the delivery fails", || async {
        sql_count(&app, "SELECT count(*) AS n FROM deliveries WHERE status = 'failed' AND last_error LIKE '%STOP%'")
            .await
            == 1
    })
    .await;
    assert_eq!(twilio.received_requests().await.unwrap().len(), 0, "a stopped number is never texted");

    let started = text_back(&app, PHONE, "start").await;
    assert!(started.contains("on again"), "{started}");
    assert_eq!(sql_count(&app, "SELECT count(*) AS n FROM sms_opt_outs").await, 0);
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[sms])], 0).await;
    wait_sent(&app, 1).await;
    assert_eq!(twilio.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_accepts_a_trusted_contacts_invitation_sent_to_that_number() {
    let (_twilio, app) = twilio_and_app().await;
    let token = crate::fixtures::user(&app, "ada@example.com").await;
    let owner = crate::fixtures::user_id(&app, &token).await;
    crate::fixtures::exec(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, phone, invited_at, invitation_texted_at)
             VALUES ('{owner}', 'Bob', '{PHONE}', now(), now())"
        ),
    )
    .await;
    assert!(text_back(&app, PHONE, "YES").await.contains("you are now a trusted contact"));
    let status = crate::fixtures::scalar(&app, "SELECT consent_status AS value FROM trusted_contacts").await;
    assert_eq!(status, "accepted");
    // Nothing pending any more: YES is a plain START again.
    assert!(text_back(&app, PHONE, "yes").await.contains("on again"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_only_contact_is_invited_by_text_and_accepts_with_yes() {
    let (twilio, app) = twilio_and_app().await;
    let token = crate::fixtures::user(&app, "ada@example.com").await;
    let owner = crate::fixtures::user_id(&app, &token).await;
    crate::fixtures::exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{owner}'")).await;
    let body = serde_json::json!({"name": "Bob", "phone": PHONE});
    app.post("/v1/trusted-contacts", body, Some(&token)).await.data(201);

    let requests = twilio.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "the invitation goes out as a text");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&requests[0].body).into_owned().collect();
    assert_eq!(form["To"], PHONE);
    assert!(form["Body"].contains("Reply YES") && form["Body"].contains("/contacts/invitation/"), "{}", form["Body"]);
    assert!(escalating_reminders::agents::sms::segments::segments(&form["Body"]) <= 2, "{}", form["Body"]);

    assert!(text_back(&app, PHONE, "YES").await.contains("you are now a trusted contact"));
    let status = crate::fixtures::scalar(&app, "SELECT consent_status AS value FROM trusted_contacts").await;
    assert_eq!(status, "accepted");

    // A number that replied STOP is not invited again.
    text_back(&app, "+15550002222", "STOP").await;
    let body = serde_json::json!({"name": "Eve", "phone": "+15550002222"});
    app.post("/v1/trusted-contacts", body, Some(&token)).await.data(201);
    assert_eq!(twilio.received_requests().await.unwrap().len(), 1, "no text to a stopped number");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_contact_texted_about_a_reminder_replies_ok_to_take_it() {
    let (twilio, app) = twilio_and_app().await;
    let seed = Seed::new(&app).await;
    let owner = seed.user;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{owner}'")).await;
    exec(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, phone, consent_status, accepted_at)
             VALUES ('{owner}', 'Bob', '{PHONE}', 'accepted', now())"
        ),
    )
    .await;
    // A reminder whose only tier asks the trusted contacts, due now.
    let reminder = scalar(
        &app,
        &format!(
            "WITH p AS (INSERT INTO escalation_profiles (user_id, name, tiers)
                        VALUES ('{owner}', 'ask', '[{{\"tierNumber\": 1, \"delayMinutes\": 0, \"includeTrustedContacts\": true}}]')
                        RETURNING id),
                  r AS (INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, next_trigger_at)
                        SELECT '{owner}', 'Feed the cat', id, 'UTC', now() FROM p RETURNING id, next_trigger_at),
                  s AS (INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone)
                        SELECT id, 'once', next_trigger_at, 'UTC' FROM r)
             SELECT id::text AS value FROM r"
        ),
    )
    .await;
    wait_sent(&app, 1).await;
    let requests = twilio.received_requests().await.unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&requests[0].body).into_owned().collect();
    assert!(form["Body"].contains("or reply OK"), "{}", form["Body"]);
    let episode = format!("SELECT status AS value FROM escalations WHERE reminder_id = '{reminder}'");

    // A contact can only take it on; completing is the owner's.
    let refused = text_back(&app, PHONE, "DONE").await;
    assert!(refused.contains("Only the reminder"), "{refused}");
    assert_eq!(scalar(&app, &episode).await, "active");

    let taken = text_back(&app, PHONE, "ok").await;
    assert!(taken.contains("you will take care of &quot;Feed the cat&quot;"), "{taken}");
    assert_eq!(scalar(&app, &episode).await, "acknowledged");
    let again = text_back(&app, PHONE, "Got it").await;
    assert!(again.contains("already taken care of"), "{again}");
}
