//! The console's Channels page over plain HTTP: adding email and webhook channels through the forms, the
//! code from the inbox, test sends, the webhook secret shown once, deleting, tenancy and form tokens.

use serde_json::Value;

use super::{Visitor, header, location};
use crate::common::smtp::SmtpSink;
use crate::common::{TestApp, webhook_signed_by};
use crate::engine::accepting_sink;
use crate::fixtures::{confirm_own_address, scalar};

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(app, &format!("SELECT ({sql})::text AS value")).await.parse().unwrap()
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let start = text.find("code: ").expect("a code in the message") + 6;
    text[start..start + 6].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_channel_is_confirmed_with_the_code_from_its_inbox_tested_and_deleted() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &sink.url())]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("channels@example.com", "UTC").await;
    let home = ada.get("/").await;
    // Said once: the first-steps card asks for a channel, so the "No channel set up" alert waits.
    assert_eq!(home.text.matches("<a href=\"/channels\">Set up a channel</a>").count(), 1, "{}", home.text);
    assert!(!home.text.contains("No channel set up"), "{}", home.text);
    let reminder = ada.create_daily(&csrf, "Take pills", "21:00").await;
    let detail = ada.get(&format!("/reminders/{reminder}")).await;
    assert!(detail.text.contains("no channel set up"), "{}", detail.text);
    assert!(detail.text.contains("<a href=\"/channels\">Set up a channel</a>"), "the timeline links to the channels");
    let empty = ada.get("/channels").await;
    assert_eq!(empty.status, 200);
    assert!(empty.text.contains("You have no channel yet"), "{}", empty.text);
    assert!(empty.text.contains("aria-current=\"page\">Channels"), "the nav marks the page");

    // A bad address stays in the field, with the error next to it.
    let bad = ada.post("/channels", &[("csrf", &csrf), ("kind", "email"), ("address", "not an address")]).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("value=\"not an address\"") && bad.text.contains("id=\"address-error\""));
    assert!(bad.text.contains("aria-describedby=\"address-error\""));
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions").await, 0);

    // Until the account's own address is confirmed, email channels go only there; the form says why.
    let address = "inbox@example.net";
    let refused = ada.post("/channels", &[("csrf", &csrf), ("kind", "email"), ("address", address)]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Confirm your own email address first"), "{}", refused.text);
    assert!(refused.text.contains("id=\"email_form-error\""), "{}", refused.text);
    confirm_own_address(&app, "channels@example.com").await;
    let added = ada.post("/channels", &[("csrf", &csrf), ("kind", "email"), ("address", address)]).await;
    assert_eq!(added.status, 303, "{}", added.text);
    let path = location(&added);
    assert!(path.starts_with("/channels/"), "{path}");
    let page = ada.get(&path).await;
    assert!(page.text.contains("We sent a 6-digit code to inbox@example.net"), "{}", page.text);
    assert!(page.text.contains("Waiting for its code") && page.text.contains("Enter the code"));
    assert!(!page.text.contains("Send a test"), "no test before the code");
    assert!(ada.get("/channels").await.text.contains("Waiting for its code"));

    // A new code at once is refused kindly, on the page.
    let early = ada.post(&format!("{path}/resend"), &[("csrf", &csrf)]).await;
    assert_eq!(early.status, 429, "{}", early.text);
    assert!(early.text.contains("id=\"resend-error\"") && early.text.contains("Please wait about"), "{}", early.text);
    assert!(!header(&early, "retry-after").is_empty());

    let inbox = sink.received_by(address);
    assert_eq!(inbox.len(), 1);
    let code = code_in(&inbox[0].body());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = ada.post(&format!("{path}/verify"), &[("csrf", &csrf), ("code", wrong)]).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("That is not the code we sent") && refused.text.contains("id=\"code-error\""));
    assert!(refused.text.contains(&format!("value=\"{wrong}\"")), "the typed code is kept");

    let confirmed = ada.post(&format!("{path}/verify"), &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!((confirmed.status, location(&confirmed)), (303, path.clone()), "{}", confirmed.text);
    let page = ada.get(&path).await;
    assert!(page.text.contains("Confirmed. inbox@example.net now receives your reminders."), "{}", page.text);
    assert!(page.text.contains("Ready") && !page.text.contains("Enter the code"));
    let home = ada.get("/").await.text;
    let asks = home.contains("No channel set up") || home.contains("<a href=\"/channels\">Set up a channel</a>");
    assert!(!asks, "the dashboard stops asking: {home}");

    let tested = ada.post(&format!("{path}/test"), &[("csrf", &csrf)]).await;
    assert_eq!(tested.status, 303);
    assert!(ada.get(&path).await.text.contains("Test sent."));
    let inbox = sink.received_by(address);
    assert_eq!(inbox.len(), 2, "the code, then the test");

    // Off and on again.
    assert_eq!(ada.post(&format!("{path}/enabled"), &[("csrf", &csrf), ("enabled", "false")]).await.status, 303);
    assert!(ada.get(&path).await.text.contains("Turned off."));
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions WHERE NOT enabled").await, 1);
    assert_eq!(ada.post(&format!("{path}/enabled"), &[("csrf", &csrf), ("enabled", "true")]).await.status, 303);

    // Deleting needs the box ticked.
    let unticked = ada.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(unticked.status, 400);
    assert!(unticked.text.contains("id=\"confirm-error\""), "{}", unticked.text);
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions").await, 1);
    let deleted = ada.post(&format!("{path}/delete"), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!((deleted.status, location(&deleted).as_str()), (303, "/channels"));
    assert!(ada.get("/channels").await.text.contains("Channel deleted."));
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions").await, 0);
    assert_eq!(ada.get(&path).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_secret_shows_once_and_its_test_arrives_signed_and_strangers_get_nothing() {
    let hook = accepting_sink().await;
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("webhook-page@example.com", "UTC").await;
    let url = format!("{}/hook", hook.uri());
    let created = ada.post("/channels", &[("csrf", &csrf), ("kind", "webhook"), ("url", &url)]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert!(created.text.contains("shown only this once"), "{}", created.text);
    let secret = created.text.split("value=\"whsec_").nth(1).expect("the secret").split('"').next().unwrap();
    let secret = format!("whsec_{secret}");
    let id = scalar(&app, "SELECT id::text AS value FROM user_agent_subscriptions").await;
    let path = format!("/channels/{id}");

    let again = ada.get(&path).await;
    assert_eq!(again.status, 200);
    assert!(again.text.contains(&url) && !again.text.contains(&secret), "shown once");
    assert!(!ada.get("/channels").await.text.contains(&secret));

    let tested = ada.post(&format!("{path}/test"), &[("csrf", &csrf)]).await;
    assert_eq!((tested.status, location(&tested)), (303, path.clone()));
    assert!(ada.get(&path).await.text.contains("Test sent."));
    let requests = hook.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(webhook_signed_by(&secret, &requests[0]), "signed with the secret shown");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["type"], "test");

    // The free tier has one channel: a second is refused on the form, the URL kept.
    let other = format!("{}/other", hook.uri());
    let refused = ada.post("/channels", &[("csrf", &csrf), ("kind", "webhook"), ("url", &other)]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("Tier limit reached") && refused.text.contains(&format!("value=\"{other}\"")));
    assert!(refused.text.contains("id=\"webhook_form-error\""));

    // Another user: every page and action of this channel is a 404 page; nothing changes.
    let mut eve = Visitor::new(&app);
    let eves = eve.sign_up("eve-channels@example.com", "UTC").await;
    let page = eve.get(&path).await;
    assert_eq!(page.status, 404);
    assert!(page.content_type().starts_with("text/html") && !page.text.contains(&url));
    for (action, fields) in [
        ("test", vec![("csrf", eves.as_str())]),
        ("delete", vec![("csrf", eves.as_str()), ("confirm", "yes")]),
        ("enabled", vec![("csrf", eves.as_str()), ("enabled", "false")]),
        ("verify", vec![("csrf", eves.as_str()), ("code", "123456")]),
        ("resend", vec![("csrf", eves.as_str())]),
    ] {
        let reply = eve.post(&format!("{path}/{action}"), &fields).await;
        assert_eq!(reply.status, 404, "{action}: {}", reply.text);
    }
    assert_eq!(eve.get("/channels/not-a-uuid").await.status, 404);

    // Without the form token (or with another session's): 403, nothing changed.
    for token in [None, Some(eves.as_str()), Some("not-the-token")] {
        let with = |mut fields: Vec<(&'static str, String)>| {
            if let Some(token) = token {
                fields.push(("csrf", token.to_owned()));
            }
            fields
        };
        let posts = [
            ("/channels".to_owned(), with(vec![("kind", "pull".into())])),
            (format!("{path}/test"), with(vec![])),
            (format!("{path}/delete"), with(vec![("confirm", "yes".into())])),
            (format!("{path}/enabled"), with(vec![("enabled", "false".into())])),
        ];
        for (target, fields) in posts {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = ada.post(&target, &fields).await;
            assert_eq!(reply.status, 403, "{target} with {token:?}");
            assert!(reply.text.contains("Nothing was changed"));
        }
    }
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM user_agent_subscriptions WHERE enabled").await, 1);
    assert_eq!(hook.received_requests().await.unwrap().len(), 1, "no test was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_send_that_fails_says_why_on_the_page() {
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .mount(&hook)
        .await;
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("failing-hook@example.com", "UTC").await;
    let url = format!("{}/broken", hook.uri());
    let created = ada.post("/channels", &[("csrf", &csrf), ("kind", "webhook"), ("url", &url)]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = scalar(&app, "SELECT id::text AS value FROM user_agent_subscriptions").await;
    let tested = ada.post(&format!("/channels/{id}/test"), &[("csrf", &csrf)]).await;
    assert_eq!(tested.status, 303);
    let page = ada.get(&format!("/channels/{id}")).await;
    assert!(page.text.contains("Test failed for now: the endpoint answered 500"), "{}", page.text);
    assert!(!page.text.contains("Test sent."));
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);
}
