//! Email end to end through the engine into an in-test SMTP server: headers, both parts, escaping, action
//! links, the reply address; SMTP 4xx retried, 5xx failed; a 410 webhook disabled and its owner told.

use std::time::Duration;

use escalating_reminders::notifications::links::LinkSigner;
use escalating_reminders::notifications::reply_address::ReplyAddresses;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::common::smtp::SmtpSink;
use crate::engine::eventually;
use crate::engine::seed::{Seed, count};
use crate::fixtures::scalar;

async fn app_mailing_to(sink: &SmtpSink) -> TestApp {
    TestApp::spawn_roles("all", &[("SMTP_URL", &sink.url()), ("EMAIL_FROM", "Reminders <reminders@example.com>")]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_arrives_with_headers_both_parts_escaped_and_action_links() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.email("alice@example.net").await;
    let reminder = seed.reminder_due_in(chrono::Duration::minutes(1), &[(0, &[inbox])], 0).await;
    seed.retitle(reminder, "Pills <script>alert(1)</script> & water").await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(1)).await;

    eventually(Duration::from_secs(15), "the email arrives", || async {
        !sink.received_by("alice@example.net").is_empty()
    })
    .await;
    let email = &sink.received_by("alice@example.net")[0];
    let delivery_id = scalar(&app, "SELECT id::text AS value FROM deliveries").await;
    assert_eq!(email.header("From").as_deref(), Some("Reminders <reminders@example.com>"));
    assert_eq!(email.header("To").as_deref(), Some("alice@example.net"));
    assert_eq!(email.header("Subject").as_deref(), Some("Reminder: Pills <script>alert(1)</script> & water"));
    assert_eq!(email.header("Message-ID"), Some(format!("<{delivery_id}@example.com>")));

    let reply_to = email.header("Reply-To").expect("a Reply-To header");
    let replies = ReplyAddresses::for_state(&app.state);
    assert_eq!(replies.verify(&reply_to), Some(delivery_id.parse().unwrap()), "{reply_to}");
    assert!(reply_to.starts_with("reminders+"), "{reply_to}");

    let unsubscribe = email.header("List-Unsubscribe").expect("a List-Unsubscribe header");
    assert!(unsubscribe.contains("<http://127.0.0.1:3801/a/") && unsubscribe.contains("<mailto:reminders+"));
    assert_eq!(email.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));

    let text = email.part("text/plain").expect("a text part");
    // minijinja also escapes `/` (as `&#x2f;`), which browsers read back as `/`.
    let html = email.part("text/html").expect("an HTML part").replace("&#x2f;", "/");
    assert!(text.contains("Pills <script>alert(1)</script> & water"), "{text}");
    assert!(html.contains("Pills &lt;script&gt;alert(1)&lt;/script&gt; &amp; water"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    // Three action links, each verifying as this delivery's, in both parts.
    let signer = LinkSigner::new(&app.state.config);
    let tokens: Vec<&str> =
        text.split("http://127.0.0.1:3801/a/").skip(1).map(|rest| rest.split_whitespace().next().unwrap()).collect();
    assert_eq!(tokens.len(), 4, "acknowledge, complete, snooze and unsubscribe: {text}");
    for token in &tokens {
        let claim = signer.verify(token, app.state.clock.now()).expect("a valid link");
        assert_eq!(claim.delivery_id.to_string(), delivery_id);
        assert!(html.contains(token), "the HTML part carries the same links");
    }
    let mut conn = app.db.connect().await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await, 1);

    // One-click unsubscribe (RFC 8058): the mail client POSTs the List-Unsubscribe URL without a page.
    assert_eq!(one_click_unsubscribe(&app, &unsubscribe).await, 200);
    let disabled = format!("SELECT count(*) AS n FROM user_agent_subscriptions WHERE id = '{inbox}' AND NOT enabled");
    assert_eq!(count(&mut conn, &disabled).await, 1, "the address is unsubscribed");
    assert_eq!(scalar(&app, "SELECT status AS value FROM reminders").await, "active", "and nothing else changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_4xx_is_retried_and_5xx_fails_at_once() {
    let sink = SmtpSink::start().await;
    sink.script("flaky@example.net", &["451 4.3.0 Mailbox busy, try later"]);
    sink.script("gone@example.net", &["550 5.1.1 No such user"]);
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let flaky = seed.email("flaky@example.net").await;
    let gone = seed.email("gone@example.net").await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[flaky, gone])], 0).await;

    eventually(Duration::from_secs(15), "both first attempts are recorded", || async {
        let mut conn = app.db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE attempts = 1 AND status IN ('pending', 'failed')")
            .await
            == 2
    })
    .await;
    assert!(sink.received_by("flaky@example.net").is_empty());
    // The email ladder's first step is 30 s (±10 %).
    crate::engine::advance_settled(&app, chrono::Duration::seconds(40)).await;
    eventually(Duration::from_secs(15), "the retry is delivered", || async {
        sink.received_by("flaky@example.net").len() == 1
    })
    .await;
    crate::engine::advance_settled(&app, chrono::Duration::minutes(10)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.attempts("flaky@example.net"), 2);
    assert_eq!(sink.attempts("gone@example.net"), 1, "a 5xx is not retried");
    let status = |address: &str| {
        format!(
            "SELECT d.status || ':' || d.attempts || ':' || coalesce(d.last_error, '') AS value FROM deliveries d
             JOIN user_agent_subscriptions s ON s.id = d.target_id WHERE s.config->>'address' = '{address}'"
        )
    };
    let flaky_row = scalar(&app, &status("flaky@example.net")).await;
    assert!(flaky_row.starts_with("sent:2:"), "{flaky_row}");
    let gone_row = scalar(&app, &status("gone@example.net")).await;
    assert!(gone_row.starts_with("failed:1:") && gone_row.contains("550"), "{gone_row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_answering_410_is_disabled_and_its_owner_told_by_email() {
    let endpoint = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(410)).mount(&endpoint).await;
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let owner = format!("{}@example.com", seed.user);
    let hook = seed.webhook(&format!("{}/hooks/home?token=abc123", endpoint.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id])], 0).await;

    eventually(Duration::from_secs(15), "the owner's notice arrives", || async {
        !sink.received_by(&owner).is_empty()
    })
    .await;
    let notice = &sink.received_by(&owner)[0];
    assert_eq!(notice.header("Subject").as_deref(), Some("A webhook endpoint was disabled"));
    let body = notice.body();
    assert!(body.contains("/hooks/home") && body.contains("410"), "{body}");
    assert!(!body.contains("abc123"), "the URL's query may hold a secret: {body}");
    let mut conn = app.db.connect().await;
    let disabled =
        format!("SELECT count(*) AS n FROM user_agent_subscriptions WHERE id = '{}' AND NOT enabled", hook.id);
    assert_eq!(count(&mut conn, &disabled).await, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received_by(&owner).len(), 1, "told once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_contact_is_emailed_as_one_and_can_opt_out_by_link() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let contact = uuid::Uuid::new_v4();
    let reminder = seed.reminder_due_in(chrono::Duration::minutes(1), &[(0, &[])], 0).await;
    let setup = format!(
        "INSERT INTO trusted_contacts (id, user_id, name, email, consent_status)
         VALUES ('{contact}', '{user}', 'Carol', 'carol@example.net', 'accepted');
         UPDATE escalation_profiles SET tiers = '[{{\"tierNumber\": 1, \"delayMinutes\": 0, \"trustedContactIds\": [\"{contact}\"]}}]'
         WHERE id = (SELECT escalation_profile_id FROM reminders WHERE id = '{reminder}')",
        user = seed.user
    );
    for statement in setup.split(';') {
        crate::fixtures::exec(&app, statement).await;
    }
    crate::engine::advance_settled(&app, chrono::Duration::minutes(1)).await;
    eventually(Duration::from_secs(15), "the contact's email arrives", || async {
        !sink.received_by("carol@example.net").is_empty()
    })
    .await;
    let email = &sink.received_by("carol@example.net")[0];
    let text = email.part("text/plain").expect("a text part");
    assert!(text.contains("trusted contact") && text.contains("Take the pills"), "{text}");
    // The contact's one action is "I've got it"; the owner's done / snooze links are not theirs to use.
    assert!(text.contains("Engine Test has not reacted") && text.contains("/contacts/got-it/"), "{text}");
    assert!(!text.contains("Done:") && !text.contains("Snooze 1 h:"), "{text}");
    let got_it = text.split_whitespace().find(|w| w.contains("/contacts/got-it/")).unwrap();
    let got_it = got_it.trim_start_matches("http://127.0.0.1:3801");
    assert_eq!(app.client.post(app.url(got_it)).send().await.unwrap().status(), 200);
    let status =
        scalar(&app, &format!("SELECT status AS value FROM escalations WHERE reminder_id = '{reminder}'")).await;
    assert_eq!(status, "acknowledged", "the contact's link acknowledges the episode for everyone");

    let unsubscribe = email.header("List-Unsubscribe").unwrap();
    let url = unsubscribe.trim_start_matches('<').split('>').next().unwrap();
    let path = url.trim_start_matches("http://127.0.0.1:3801");
    let confirm = app.client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
    assert!(confirm.contains("Unsubscribe"), "{confirm}");
    let done = app.client.post(app.url(path)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let opted_out =
        scalar(&app, &format!("SELECT consent_status AS value FROM trusted_contacts WHERE id = '{contact}'")).await;
    assert_eq!(opted_out, "opted_out");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_emails_and_notices_go_to_the_outbox_folder() {
    let outbox = std::env::temp_dir().join(format!("er-outbox-{}", uuid::Uuid::new_v4().simple()));
    let app = TestApp::spawn_roles("all", &[("SMTP_URL", ""), ("EMAIL_OUTBOX_DIR", outbox.to_str().unwrap())]).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.email("dana@example.net").await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    eventually(Duration::from_secs(15), "the delivery is sent", || async {
        let mut conn = app.db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await == 1
    })
    .await;
    let delivery_id = scalar(&app, "SELECT id::text AS value FROM deliveries").await;
    let written = std::fs::read_to_string(outbox.join(format!("{delivery_id}.eml"))).expect("the email file");
    assert!(written.contains("Subject: Reminder: Take the pills") && written.contains("To: dana@example.net"));

    let notice = escalating_reminders::accounts::users::notice::Notice {
        subject: "Your payment failed".to_owned(),
        text: "Please update your card.".to_owned(),
    };
    escalating_reminders::accounts::users::notice::email_owner(&app.state, seed.user.into(), notice).await.unwrap();
    let notices: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("notice-"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].contains("Subject: Your payment failed") && notices[0].contains("Please update your card."));
    assert!(notices[0].contains(&format!("To: {}@example.com", seed.user)));
    let _ = std::fs::remove_dir_all(&outbox);
}

/// What a mail client does with a `List-Unsubscribe` header (RFC 8058 one-click): POSTs its URL with
/// `List-Unsubscribe=One-Click`, without showing a page. Returns the status.
pub async fn one_click_unsubscribe(app: &TestApp, header: &str) -> u16 {
    let url = header.trim_start_matches('<').split('>').next().unwrap();
    let response = app
        .client
        .post(app.url(url.trim_start_matches("http://127.0.0.1:3801")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}
