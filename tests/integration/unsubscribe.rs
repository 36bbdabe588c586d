//! Both ways a mail client unsubscribes from a notification email stop further emails to that address: a
//! message to the `mailto:` of `List-Unsubscribe`, and RFC 8058's one-click POST, even days later.

use std::time::Duration;

use crate::common::TestApp;
use crate::common::smtp::SmtpSink;
use crate::engine::eventually;
use crate::engine::seed::{Seed, count};
use crate::fixtures::scalar;
use crate::watchers::{SECRET, post_email};

const INBOX: &str = "alice@example.net";

async fn app_mailing_to(sink: &SmtpSink) -> TestApp {
    let smtp = sink.url();
    let env = [
        ("SMTP_URL", smtp.as_str()),
        ("EMAIL_FROM", "Reminders <reminders@example.com>"),
        ("INBOUND_EMAIL_SECRET", SECRET),
    ];
    TestApp::spawn_roles("all", &env).await
}

/// A reminder emailing `inbox` fires; returns the `List-Unsubscribe` header of the email that arrives.
async fn first_email(sink: &SmtpSink, seed: &Seed<'_>, inbox: uuid::Uuid) -> String {
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    eventually(Duration::from_secs(15), "the email arrives", || async { sink.received_by(INBOX).len() == 1 }).await;
    sink.received_by(INBOX)[0].header("List-Unsubscribe").expect("a List-Unsubscribe header")
}

/// Another reminder for the same inbox fires; asserts that no further email reaches it.
async fn nothing_more_arrives(app: &TestApp, sink: &SmtpSink, seed: &Seed<'_>, inbox: uuid::Uuid) {
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[inbox])], 0).await;
    eventually(Duration::from_secs(15), "the second reminder fires", || async {
        count(&mut app.db.connect().await, "SELECT count(*) AS n FROM escalations").await >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received_by(INBOX).len(), 1, "no email after unsubscribing");
    let disabled = format!("SELECT count(*) AS n FROM user_agent_subscriptions WHERE id = '{inbox}' AND NOT enabled");
    assert_eq!(count(&mut app.db.connect().await, &disabled).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_to_the_list_unsubscribe_mailto_stops_emails_to_that_address() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.email(INBOX).await;
    let header = first_email(&sink, &seed, inbox).await;
    let mailto = header.split("<mailto:").nth(1).expect("a mailto").split('>').next().unwrap();
    let (address, query) = mailto.split_once('?').unwrap();
    assert_eq!(query, "subject=unsubscribe");

    // What a mail client sends: the subject from the mailto, often no body at all.
    let posted = post_email(&app, SECRET, &[("from", INBOX), ("to", address), ("subject", "unsubscribe")]).await;
    let result = &posted.data(200)["results"][0];
    assert_eq!((result["acted"].as_bool(), result["action"].as_str()), (Some(true), Some("unsubscribe")), "{result}");
    let reason = format!("SELECT disabled_reason AS value FROM user_agent_subscriptions WHERE id = '{inbox}'");
    assert!(scalar(&app, &reason).await.contains("List-Unsubscribe"));
    nothing_more_arrives(&app, &sink, &seed, inbox).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_click_unsubscribe_works_days_later_and_stops_emails() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink).await;
    let seed = Seed::new(&app).await;
    let inbox = seed.email(INBOX).await;
    let header = first_email(&sink, &seed, inbox).await;
    let url = header.trim_start_matches('<').split('>').next().unwrap();
    assert!(url.starts_with("http://127.0.0.1:3801/a/"), "{header}");

    // The recipient presses "unsubscribe" in their mail client four days after the email came.
    crate::engine::advance_settled(&app, chrono::Duration::days(4)).await;
    assert_eq!(crate::email::one_click_unsubscribe(&app, &header).await, 200);
    nothing_more_arrives(&app, &sink, &seed, inbox).await;
}
