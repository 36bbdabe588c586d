//! Email watchers and inbound email: rules per user, SendGrid Inbound Parse posts routed by recipient,
//! replies to notification emails, the URL secret, the size limit, and unmatched mail changing nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp};
use crate::fixtures::{in_hours, once_reminder, scalar, user, user_id};
use crate::reminder_actions::fire;

pub const SECRET: &str = "inbound-secret-for-tests-0123456789";

async fn app() -> TestApp {
    TestApp::spawn_with(&[("INBOUND_EMAIL_SECRET", SECRET)]).await
}

/// A SendGrid Inbound Parse post: text fields as form-data parts, plus an attachment part.
pub async fn post_email(app: &TestApp, secret: &str, fields: &[(&str, &str)]) -> Reply {
    let boundary = "xYzZY";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nDONE (an attachment is never read)\r\n--{boundary}--\r\n"
    ));
    let url = app.url(&format!("/v1/webhooks/email/inbound/{secret}"));
    let request =
        app.client.post(url).header("content-type", format!("multipart/form-data; boundary={boundary}")).body(body);
    Reply::from(request.send().await.unwrap()).await
}

/// A watcher on the reminder; returns the user's inbound address.
pub async fn watch(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let created = app.post("/v1/watchers", body, Some(token)).await;
    let data = created.data(201);
    (data["id"].as_str().unwrap().to_owned(), data["inboundAddress"].as_str().unwrap().to_owned())
}

/// The address with the last character of its signed token changed.
fn tamper(address: &str) -> String {
    let (token, domain) = address.split_once('@').unwrap();
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}@{domain}", if last == "0" { "1" } else { "0" })
}

pub async fn state_of(app: &TestApp, id: &str) -> String {
    scalar(app, &format!("SELECT status || '/v' || version AS value FROM reminders WHERE id = '{id}'")).await
}

async fn evidence_rows(app: &TestApp) -> String {
    scalar(app, "SELECT count(*)::text AS value FROM watcher_events").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_sendgrid_post_completes_the_reminder_once() {
    let app = app().await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "pay rent").await;
    // An older, broader rule on the same reminder matches too: the email still acts once.
    watch(&app, &token, json!({"reminderId": id, "bodyKeyword": "received"})).await;
    let rule = json!({"reminderId": id, "senderPattern": "*@bank.example", "subjectKeyword": "payment received"});
    let (watcher, address) = watch(&app, &token, rule).await;
    assert!(address.starts_with("watch+") && address.ends_with("@localhost"), "{address}");
    let detail = app.get(&format!("/v1/reminders/{id}"), Some(&token)).await;
    assert!(detail.data(200)["completionCriteria"]["howToComplete"].as_str().unwrap().contains("by hand"));

    let to = format!("\"Ada\" <{address}>");
    let email = [
        ("from", "Bank Alerts <alerts@bank.example>"),
        ("to", to.as_str()),
        ("subject", "Your Payment Received - November"),
        ("text", "We received 800 EUR."),
        ("headers", "Message-ID: <abc-1@bank.example>\nSubject: Your Payment Received - November"),
        ("envelope", "{\"to\":[\"someone@elsewhere.example\"],\"from\":\"alerts@bank.example\"}"),
    ];
    let reply = post_email(&app, SECRET, &email).await;
    let results = reply.data(200)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 1, "{}", reply.text);
    assert_eq!(results[0]["acted"], true, "{}", reply.text);
    assert_eq!(results[0]["watcherId"], watcher.as_str());
    assert_eq!(state_of(&app, &id).await, "completed/v2");
    let row = scalar(
        &app,
        &format!("SELECT source || '|' || action || '|' || summary AS value FROM watcher_events WHERE watcher_id = '{watcher}'"),
    )
    .await;
    assert!(row.starts_with("email_watcher|complete|completed by an email from alerts@bank.example"), "{row}");
    let actor = scalar(
        &app,
        &format!(
            "SELECT data->>'actor' AS value FROM event_logs WHERE subject_id = '{id}' AND kind = 'reminder.completed'"
        ),
    )
    .await;
    assert_eq!(actor, "email");

    // SendGrid retries the same message: recorded once, nothing changes.
    let again = post_email(&app, SECRET, &email).await;
    assert_eq!(again.data(200)["results"][0]["acted"], false, "{}", again.text);
    assert_eq!(state_of(&app, &id).await, "completed/v2");
    assert_eq!(evidence_rows(&app).await, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn unmatched_and_misaddressed_email_changes_nothing() {
    let app = app().await;
    let ada = user(&app, "ada@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let id = once_reminder(&app, &ada, "pay rent").await;
    let (_, ada_address) = watch(&app, &ada, json!({"reminderId": id, "subjectKeyword": "paid"})).await;
    let bob_reminder = once_reminder(&app, &bob, "other").await;
    let (_, bob_address) = watch(&app, &bob, json!({"reminderId": bob_reminder, "bodyKeyword": "never"})).await;
    let forged_address = tamper(&ada_address);

    for (to, subject) in [
        (ada_address.as_str(), "nothing to see"), // Ada's address, no rule matches
        (bob_address.as_str(), "paid"),           // Ada's rule, but mail for Bob
        ("ada@example.com", "paid"),              // not one of our addresses
        (forged_address.as_str(), "paid"),        // a forged token
    ] {
        let reply = post_email(&app, SECRET, &[("from", "x@y.example"), ("to", to), ("subject", subject)]).await;
        assert_eq!(reply.data(200)["results"], json!([]), "{to} {subject}: {}", reply.text);
    }
    assert_eq!(state_of(&app, &id).await, "active/v1");
    assert_eq!(state_of(&app, &bob_reminder).await, "active/v1");
    assert_eq!(evidence_rows(&app).await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_without_the_url_secret_is_refused_and_changes_nothing() {
    let app = app().await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "pay rent").await;
    let (_, address) = watch(&app, &token, json!({"reminderId": id, "subjectKeyword": "paid"})).await;
    let email = [("from", "x@y.example"), ("to", address.as_str()), ("subject", "paid")];
    post_email(&app, "wrong-secret", &email).await.assert_error(401, "UNAUTHORIZED");
    post_email(&app, &format!("{SECRET}x"), &email).await.assert_error(401, "UNAUTHORIZED");
    let bare = app.client.post(app.url("/v1/webhooks/email/inbound")).body("from=x").send().await.unwrap();
    Reply::from(bare).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(state_of(&app, &id).await, "active/v1");
    assert_eq!(evidence_rows(&app).await, "0");

    // Too large: 413 with the envelope; not multipart at all: 400.
    let huge = "x".repeat(1024 * 1024 + 10);
    post_email(&app, SECRET, &[("text", huge.as_str())]).await.assert_error(413, "PAYLOAD_TOO_LARGE");
    let url = app.url(&format!("/v1/webhooks/email/inbound/{SECRET}"));
    let json_body = app.client.post(url).json(&json!({"from": "x"})).send().await.unwrap();
    Reply::from(json_body).await.assert_error(400, "VALIDATION_ERROR");

    // Without INBOUND_EMAIL_SECRET configured, every post is refused.
    let unconfigured = TestApp::spawn().await;
    post_email(&unconfigured, SECRET, &email).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_to_a_notification_snoozes_its_episode_and_records_the_time_understood() {
    let outbox = std::env::temp_dir().join(format!("er-replies-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(&[("INBOUND_EMAIL_SECRET", SECRET), ("EMAIL_OUTBOX_DIR", &dir)]).await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let id = once_reminder(&app, &token, "call mum").await;
    let escalation = fire(&app, &id, &owner, &in_hours(0)).await;
    let delivery = scalar(
        &app,
        &format!("SELECT id::text AS value FROM deliveries WHERE escalation_id = '{escalation}' AND status = 'sent'"),
    )
    .await;
    // The Reply-To address the email channel puts on the notification of that delivery.
    let replies = escalating_reminders::notifications::reply_address::ReplyAddresses::for_state(&app.state);
    let reply_to = |delivery: &str| replies.address(delivery.parse().unwrap());
    let to = reply_to(&delivery);
    let text = "Snooze 2h\n\nOn Wed, Escalating Reminders wrote:\n> done";
    let reply = post_email(
        &app,
        SECRET,
        &[("from", "ada@example.com"), ("to", to.as_str()), ("subject", "Re: call mum"), ("text", text)],
    )
    .await;
    let result = reply.data(200)["results"][0].clone();
    assert_eq!((result["acted"].as_bool(), result["action"].as_str()), (Some(true), Some("snooze")), "{}", reply.text);
    let understood = result["interpretedAs"].as_str().unwrap().to_owned();
    assert!(understood.ends_with("Europe/Berlin"), "{understood}");
    let view = app.get(&format!("/v1/reminders/{id}"), Some(&token)).await;
    let view = view.data(200);
    assert_eq!(view["status"], "snoozed");
    let until = chrono::DateTime::parse_from_rfc3339(view["snoozedUntil"].as_str().unwrap()).unwrap();
    let ahead = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(ahead > chrono::Duration::minutes(119) && ahead <= chrono::Duration::minutes(120), "{ahead}");
    let summary = scalar(
        &app,
        &format!("SELECT summary AS value FROM watcher_events WHERE reminder_id = '{id}' AND source = 'email_reply'"),
    )
    .await;
    assert!(summary.contains(&understood) && summary.contains("\"2h\""), "{summary}");
    // The owner is answered by email with the time understood.
    let answers: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .map(|mail| mail.replace("=\r\n", ""))
        .collect();
    assert!(
        answers.iter().any(|mail| mail.contains("Subject: Your reply was applied") && mail.contains(&understood)),
        "{answers:?}"
    );

    // The episode is over now: a later "done" reply to the same notification changes nothing.
    let late = post_email(&app, SECRET, &[("from", "ada@example.com"), ("to", to.as_str()), ("text", "done")]).await;
    assert_eq!(late.data(200)["results"][0]["acted"], false, "{}", late.text);
    assert_eq!(state_of(&app, &id).await, "snoozed/v2");

    // "done" on a live episode completes; an unreadable first line and a forged token do nothing.
    let other = once_reminder(&app, &token, "pills").await;
    let episode = fire(&app, &other, &owner, &in_hours(0)).await;
    let sent = scalar(
        &app,
        &format!("SELECT id::text AS value FROM deliveries WHERE escalation_id = '{episode}' AND status = 'sent'"),
    )
    .await;
    let to = reply_to(&sent);
    let muddled = post_email(&app, SECRET, &[("to", to.as_str()), ("text", "maybe later?\ndone")]).await;
    assert_eq!(muddled.data(200)["results"][0]["acted"], false);
    let forged = tamper(&to);
    let ignored = post_email(&app, SECRET, &[("to", forged.as_str()), ("text", "done")]).await;
    assert_eq!(ignored.data(200)["results"], json!([]), "{}", ignored.text);
    assert_eq!(state_of(&app, &other).await, "active/v1");
    let done = post_email(&app, SECRET, &[("to", to.as_str()), ("text", "DONE")]).await;
    assert_eq!(done.data(200)["results"][0]["acted"], true, "{}", done.text);
    assert_eq!(state_of(&app, &other).await, "completed/v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn watcher_rules_are_validated_and_scoped_to_their_owner() {
    let app = app().await;
    let owner = user(&app, "owner@example.com").await;
    let intruder = user(&app, "intruder@example.com").await;
    let id = once_reminder(&app, &owner, "mine").await;

    let missing = app.post("/v1/watchers", json!({"reminderId": id}), Some(&owner)).await;
    missing.assert_error(400, "VALIDATION_ERROR");
    let bad = app
        .post("/v1/watchers", json!({"reminderId": id, "subjectKeyword": "x", "action": "snooze"}), Some(&owner))
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    // Another user's reminder reads as not found.
    let borrowed = app.post("/v1/watchers", json!({"reminderId": id, "subjectKeyword": "x"}), Some(&intruder)).await;
    borrowed.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(borrowed.body["error"]["details"][0]["message"], "not found");

    let (watcher, address) =
        watch(&app, &owner, json!({"reminderId": id, "bodyKeyword": " paid ", "action": "acknowledge"})).await;
    let got = app.get(&format!("/v1/watchers/{watcher}"), Some(&owner)).await;
    assert_eq!(
        (got.data(200)["bodyKeyword"].as_str(), got.data(200)["action"].as_str()),
        (Some("paid"), Some("acknowledge"))
    );
    assert_eq!(app.get("/v1/watchers", Some(&owner)).await.data(200)[0]["inboundAddress"], address.as_str());
    assert_eq!(app.get("/v1/watchers", Some(&intruder)).await.data(200), &json!([]));
    app.get(&format!("/v1/watchers/{watcher}"), Some(&intruder)).await.assert_error(404, "NOT_FOUND");
    app.call(Method::DELETE, &format!("/v1/watchers/{watcher}"), None, Some(&intruder))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(app.call(Method::DELETE, &format!("/v1/watchers/{watcher}"), None, Some(&owner)).await.status, 204);
    app.get(&format!("/v1/watchers/{watcher}"), Some(&owner)).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sample_message_shows_what_a_watcher_would_match_and_acts_on_nothing() {
    let app = app().await;
    let token = user(&app, "sample@example.com").await;
    let id = once_reminder(&app, &token, "pay rent").await;
    let rule = json!({"reminderId": id, "senderPattern": "*@bank.example", "subjectKeyword": "payment received"});
    let (watcher, _) = watch(&app, &token, rule).await;
    let path = format!("/v1/watchers/{watcher}/test");
    let before = state_of(&app, &id).await;

    let sample =
        json!({"from": "Bank Alerts <Alerts@Bank.example>", "subject": "Your Payment Received", "body": "800 EUR"});
    let reply = app.post(&path, sample, Some(&token)).await;
    let result = reply.data(200);
    assert_eq!((result["matched"].as_bool(), result["wouldAct"].as_bool()), (Some(true), Some(true)), "{result}");
    assert_eq!(result["action"], "complete");
    assert_eq!(result["reminderId"], id.as_str());
    assert_eq!(result["sender"], "alerts@bank.example");
    let conditions: Vec<(&str, bool)> = result["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["matched"].as_bool().unwrap()))
        .collect();
    assert_eq!(conditions, [("senderPattern", true), ("subjectKeyword", true)]);

    // One condition missed: which one is said, and the watcher would not act.
    let other = json!({"from": "alerts@bank.example.evil", "subject": "Your payment received"});
    let result = app.post(&path, other, Some(&token)).await.data(200).clone();
    assert_eq!(result["matched"], false, "{result}");
    assert_eq!(result["conditions"][0]["matched"], false);
    assert_eq!(result["conditions"][1]["matched"], true);

    // Nothing was completed or recorded.
    assert_eq!(state_of(&app, &id).await, before);
    assert_eq!(evidence_rows(&app).await, "0");

    // Bad input is the envelope; another user's watcher (or none) is 404.
    for bad in [
        json!({"subject": "no sender"}),
        json!({"from": "nobody", "subject": "x"}),
        json!({"from": "a@b.example", "subject": 5}),
        json!({"from": "a@b.example", "cc": "c@d.example"}),
    ] {
        app.post(&path, bad, Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
    }
    let eve = user(&app, "eve-sample@example.com").await;
    let sample = json!({"from": "alerts@bank.example", "subject": "payment received"});
    app.post(&path, sample.clone(), Some(&eve)).await.assert_error(404, "NOT_FOUND");
    let missing = format!("/v1/watchers/{}/test", uuid::Uuid::new_v4());
    app.post(&missing, sample.clone(), Some(&token)).await.assert_error(404, "NOT_FOUND");
    app.post("/v1/watchers/not-a-uuid/test", sample, Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
}
