//! IMAP mailbox watchers against a real dovecot: new mail that matches acts once (a second copy of the same
//! message changes nothing), mail that was there first never acts, a refused login is reported in words and
//! emailed once without touching anyone else's watcher, and the API's tier and field checks.

use std::time::Duration;

use reminder_core::tiers::Tier;
use serde_json::{Value, json};

use crate::common::dovecot::Dovecot;
use crate::common::smtp::SmtpSink;
use crate::common::{Reply, TestApp};
use crate::console::Visitor;
use crate::engine::eventually;
use crate::fixtures::{fields, in_hours, once_reminder, override_tier, scalar, user, user_id};
use crate::reminder_actions::fire;
use crate::watchers::state_of;

const WAIT: Duration = Duration::from_secs(60);

/// The api and worker roles, polling every second.
async fn app(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("IMAP_POLL_INTERVAL_SECS", "1"), ("IMAP_POLL_TICK_MS", "100"), ("DEFAULT_TIER", "PERSONAL")];
    env.extend_from_slice(extra);
    TestApp::spawn_roles("api,worker", &env).await
}

fn mailbox(dovecot: &Dovecot, reminder: &str, user: &str, password: &str) -> Value {
    json!({"provider": "IMAP", "reminderId": reminder, "host": "127.0.0.1", "port": dovecot.port, "user": user,
           "appPassword": password, "tls": false, "subjectKeyword": "payment received"})
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let created = app.post("/v1/watchers", body, Some(token)).await;
    created.data(201)["id"].as_str().unwrap().to_owned()
}

async fn watcher(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/v1/watchers/{id}"), Some(token)).await.data(200).clone()
}

/// Waits until the watcher's mailbox satisfies `check`.
async fn wait_for(app: &TestApp, token: &str, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, what, || async { check(&watcher(app, token, id).await["mailbox"]) }).await;
    watcher(app, token, id).await
}

/// Waits until the watcher has completed `polls` more polls than it had when called.
async fn wait_for_polls(app: &TestApp, token: &str, id: &str, polls: usize) {
    for n in 0..polls {
        let before = watcher(app, token, id).await["mailbox"]["lastPolledAt"].clone();
        let what = format!("poll {n} of {polls}");
        wait_for(app, token, id, &what, |m| m["lastPolledAt"] != before && m["status"] == "ok").await;
    }
}

fn mail(message_id: &str, subject: &str) -> String {
    format!(
        "From: Bank Alerts <alerts@bank.example>\nTo: ada@example.com\nSubject: {subject}\nMessage-ID: <{message_id}>\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\nContent-Type: text/plain\n\nWe received 800 EUR.\n"
    )
}

async fn events(app: &TestApp, watcher: &str) -> String {
    scalar(
        app,
        &format!("SELECT count(*)::text AS value FROM watcher_events WHERE watcher_id = '{watcher}' AND source = 'imap_watcher'"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_message_completes_the_open_occurrence_once_and_its_copy_changes_nothing() {
    let dovecot = Dovecot::start(&[("ada", "ada-app-password")]).await;
    let app = app(&[]).await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let reminder = once_reminder(&app, &token, "pay rent").await;
    let episode = fire(&app, &reminder, &owner, &in_hours(0)).await;
    let id = create(&app, &token, mailbox(&dovecot, &reminder, "ada", "ada-app-password")).await;

    let view = watcher(&app, &token, &id).await;
    assert_eq!(view["provider"], "IMAP");
    assert!(view.get("inboundAddress").is_none(), "an IMAP watcher has no address to forward to: {view}");
    assert_eq!(view["mailbox"]["user"], "ada");
    assert_eq!(view["mailbox"]["folder"], "INBOX");
    assert!(!view.to_string().contains("ada-app-password"), "the password is never shown");
    wait_for(&app, &token, &id, "the first poll", |m| m["status"] == "ok").await;

    // Mail that does not match is read and left alone.
    dovecot.append("ada", "ada-app-password", "INBOX", &mail("other-1@bank.example", "Statement ready"), None).await;
    wait_for_polls(&app, &token, &id, 2).await;
    assert_eq!(state_of(&app, &reminder).await, "active/v1");

    let raw = mail("paid-1@bank.example", "Your Payment Received - December");
    dovecot.append("ada", "ada-app-password", "INBOX", &raw, None).await;
    eventually(WAIT, "the reminder completed", || async { state_of(&app, &reminder).await == "completed/v2" }).await;
    let acted = format!("SELECT status || '/' || acted_by AS value FROM escalations WHERE id = '{episode}'");
    assert_eq!(scalar(&app, &acted).await, "completed/email");
    assert_eq!(events(&app, &id).await, "1");
    let summary = scalar(&app, &format!("SELECT summary AS value FROM watcher_events WHERE watcher_id = '{id}'")).await;
    assert!(summary.starts_with("completed by an email from alerts@bank.example"), "{summary}");

    // The same message again (a new UID, the same Message-ID): nothing changes.
    dovecot.append("ada", "ada-app-password", "INBOX", &raw, None).await;
    let before = watcher(&app, &token, &id).await["mailbox"]["lastPolledAt"].clone();
    wait_for(&app, &token, &id, "a poll after the copy", |m| m["lastPolledAt"] != before).await;
    wait_for_polls(&app, &token, &id, 1).await;
    assert_eq!(state_of(&app, &reminder).await, "completed/v2");
    assert_eq!(events(&app, &id).await, "1");
    let view = watcher(&app, &token, &id).await;
    assert_eq!((view["mailbox"]["status"].as_str(), view["mailbox"]["failures"].as_i64()), (Some("ok"), Some(0)));
    assert_eq!(view["mailbox"]["lastError"], Value::Null);
    assert_eq!(dovecot.unseen("ada", "ada-app-password", "INBOX").await, 3, "the watcher only peeks");

    let listed = app.get("/v1/watchers", Some(&token)).await;
    assert_eq!(listed.data(200)[0]["mailbox"]["status"], "ok", "{}", listed.text);
    let export = app.get("/v1/users/me/export", Some(&token)).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert!(export.text.contains("imap_host"), "the watcher is exported");
    assert!(!export.text.contains("secret_ciphertext"), "the sealed credentials are not exported");
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_that_was_there_before_the_watcher_never_acts() {
    let dovecot = Dovecot::start(&[("ada", "ada-app-password")]).await;
    let app = app(&[]).await;
    let token = user(&app, "ada@example.com").await;
    let reminder = once_reminder(&app, &token, "pay rent").await;
    let old = mail("paid-0@bank.example", "Payment received - November");
    dovecot.append("ada", "ada-app-password", "INBOX", &old, Some("01-Nov-2026 09:00:00 +0000")).await;

    let id = create(&app, &token, mailbox(&dovecot, &reminder, "ada", "ada-app-password")).await;
    wait_for(&app, &token, &id, "the first poll", |m| m["status"] == "ok").await;
    wait_for_polls(&app, &token, &id, 3).await;
    assert_eq!(state_of(&app, &reminder).await, "active/v1");
    assert_eq!(events(&app, &id).await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_login_is_reported_and_mailed_once_while_another_users_watcher_still_acts() {
    let dovecot = Dovecot::start(&[("ada", "ada-app-password"), ("bob", "bob-app-password")]).await;
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let app = app(&[("SMTP_URL", smtp.as_str())]).await;
    // Ada signs up in the console, where she later reads why her watcher fails.
    let mut console = Visitor::new(&app);
    console.sign_up("ada@example.com", "UTC").await;
    let login = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let signed_in = app.post("/v1/auth/login", login, None).await;
    let ada = signed_in.data(200)["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let bob = user(&app, "bob@example.com").await;
    let ada_reminder = once_reminder(&app, &ada, "pay rent").await;
    let bob_reminder = once_reminder(&app, &bob, "pay rent").await;
    let failing = create(&app, &ada, mailbox(&dovecot, &ada_reminder, "ada", "an-old-password")).await;
    let working = create(&app, &bob, mailbox(&dovecot, &bob_reminder, "bob", "bob-app-password")).await;

    let view = wait_for(&app, &ada, &failing, "a failed poll", |m| m["failures"].as_i64() >= Some(1)).await;
    assert_eq!(view["mailbox"]["lastError"], "The IMAP server refused the user name or app password", "{view}");
    let view = wait_for(&app, &ada, &failing, "three failures", |m| m["failures"].as_i64() >= Some(3)).await;
    assert_eq!(view["mailbox"]["status"], "failing", "{view}");

    wait_for(&app, &bob, &working, "bob's first poll", |m| m["status"] == "ok").await;
    dovecot.append("bob", "bob-app-password", "INBOX", &mail("bob-1@bank.example", "Payment received"), None).await;
    eventually(WAIT, "bob's reminder completed", || async { state_of(&app, &bob_reminder).await == "completed/v2" })
        .await;

    let notices = || {
        sink.received_by("ada@example.com")
            .into_iter()
            .filter(|m| m.header("Subject").is_some_and(|s| s.contains("mailbox watcher")))
            .collect::<Vec<_>>()
    };
    eventually(WAIT, "the owner told", || async { !notices().is_empty() }).await;
    wait_for(&app, &ada, &failing, "a fourth failure", |m| m["failures"].as_i64() >= Some(4)).await;
    let told = notices();
    assert_eq!(told.len(), 1, "one email, at the third failure");
    assert!(told[0].body().contains("refused the user name or app password"), "{}", told[0].data);
    assert!(told[0].body().contains("/evidence"), "{}", told[0].data);
    assert_eq!(state_of(&app, &ada_reminder).await, "active/v1");
    let page = console.get("/evidence").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<strong>failing</strong>"), "{}", page.text);
    assert!(page.text.contains("The IMAP server refused the user name or app password"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_checks_tier_fields_and_owner() {
    let dovecot = Dovecot::start(&[("ada", "ada-app-password")]).await;
    let app = app(&[("DEFAULT_TIER", "FREE")]).await;
    let free = user(&app, "free@example.com").await;
    let reminder = once_reminder(&app, &free, "pay rent").await;
    let refused = app.post("/v1/watchers", mailbox(&dovecot, &reminder, "ada", "ada-app-password"), Some(&free)).await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("PERSONAL"), "{}", refused.text);
    // The inbound-address watcher stays open to FREE.
    let email = app.post("/v1/watchers", json!({"reminderId": reminder, "subjectKeyword": "paid"}), Some(&free)).await;
    assert_eq!(email.data(201)["provider"], "EMAIL");
    assert!(email.data(201)["inboundAddress"].is_string() && email.data(201).get("mailbox").is_none());

    let ada = user(&app, "ada@example.com").await;
    override_tier(&app, user_id(&app, &ada).await.parse().unwrap(), Tier::Personal).await;
    let ada_reminder = once_reminder(&app, &ada, "pay rent").await;
    let bad = |change: Value| {
        let mut body = mailbox(&dovecot, &ada_reminder, "ada", "ada-app-password");
        for (key, value) in change.as_object().unwrap() {
            match value {
                Value::Null => body.as_object_mut().unwrap().remove(key),
                value => body.as_object_mut().unwrap().insert(key.clone(), value.clone()),
            };
        }
        body
    };
    let field_errors = |reply: &Reply| {
        reply.assert_error(400, "VALIDATION_ERROR");
        fields(reply)
    };
    let cases = [
        (json!({"provider": null}), vec!["host", "port", "user", "appPassword", "tls"]),
        (json!({"provider": "EMAIL"}), vec!["host", "port", "user", "appPassword", "tls"]),
        (json!({"port": 0}), vec!["port"]),
        (json!({"host": "imap example.com"}), vec!["host"]),
        (json!({"user": ""}), vec!["user"]),
    ];
    for (change, expected) in cases {
        let reply = app.post("/v1/watchers", bad(change.clone()), Some(&ada)).await;
        assert_eq!(field_errors(&reply), expected, "{change}: {}", reply.text);
    }
    // NUL anywhere in a body is refused before it is read (the bad-byte guard); the field check has a unit test.
    let nul = app.post("/v1/watchers", bad(json!({"host": "127.0.0.1\u{0}evil"})), Some(&ada)).await;
    nul.assert_error(400, "VALIDATION_ERROR");
    let unknown = app.post("/v1/watchers", bad(json!({"password": "x"})), Some(&ada)).await;
    assert!(unknown.status == 400 || unknown.status == 422, "{}", unknown.text);

    let id = create(&app, &ada, mailbox(&dovecot, &ada_reminder, "ada", "ada-app-password")).await;
    app.get(&format!("/v1/watchers/{id}"), Some(&free)).await.assert_error(404, "NOT_FOUND");
    let gone = app.call(reqwest::Method::DELETE, &format!("/v1/watchers/{id}"), None, Some(&free)).await;
    gone.assert_error(404, "NOT_FOUND");
    assert_eq!(app.call(reqwest::Method::DELETE, &format!("/v1/watchers/{id}"), None, Some(&ada)).await.status, 204);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_downgrade_pauses_the_mailbox_until_the_plan_allows_it_again() {
    let dovecot = Dovecot::start(&[("ada", "ada-app-password")]).await;
    let app = app(&[]).await;
    let ada = user(&app, "ada@example.com").await;
    let owner: uuid::Uuid = user_id(&app, &ada).await.parse().unwrap();
    let reminder = once_reminder(&app, &ada, "pay rent").await;
    let id = create(&app, &ada, mailbox(&dovecot, &reminder, "ada", "ada-app-password")).await;
    wait_for_polls(&app, &ada, &id, 1).await;

    // FREE allows no mailbox watchers: this one pauses, and is told so.
    override_tier(&app, owner, Tier::Free).await;
    let paused = watcher(&app, &ada, &id).await;
    let reason = paused["mailbox"]["pausedReason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("FREE tier allows 0 mailbox watchers"), "{paused}");
    // A poll claimed just before the downgrade may still finish; after that, none starts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let polled = watcher(&app, &ada, &id).await["mailbox"]["lastPolledAt"].clone();
    dovecot.append("ada", "ada-app-password", "INBOX", &mail("ada-1@bank.example", "Payment received"), None).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // three poll intervals
    assert_eq!(watcher(&app, &ada, &id).await["mailbox"]["lastPolledAt"], polled, "a paused mailbox was read");
    assert_eq!(state_of(&app, &reminder).await, "active/v1", "a paused mailbox's mail acted");

    // Back on PERSONAL, it is read again.
    escalating_reminders::stopping::set_tier_override(&app.state, owner.into(), None).await.unwrap();
    assert!(watcher(&app, &ada, &id).await["mailbox"]["pausedReason"].is_null());
    wait_for_polls(&app, &ada, &id, 1).await;
}
