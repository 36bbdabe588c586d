//! A forgotten password, with this server sending mail to the test's SMTP listener: the link comes by
//! email, works once and for an hour, and setting the password ends every session and refresh token. The
//! answer never says whether an address has an account; requests are limited; without email the pages
//! do not exist.

use std::time::Duration;

use serde_json::json;

use super::{Visitor, csrf_of, location};
use crate::common::TestApp;
use crate::common::smtp::SmtpSink;
use crate::engine::eventually;
use crate::fixtures::scalar;

const OLD: &str = "correct horse battery";
const NEW: &str = "a brand new secret";

/// Asks for a link on the page; returns the page's text.
async fn ask(visitor: &mut Visitor<'_>, email: &str) -> (u16, String) {
    let form = visitor.get("/password/forgot").await;
    assert_eq!(form.status, 200, "{}", form.text);
    let reply = visitor.post("/password/forgot", &[("csrf", &csrf_of(&form.text)), ("email", email)]).await;
    (reply.status, reply.text)
}

/// The reset mails to `address` (sign-up also mails it a confirmation link), as their bodies.
fn reset_mails(smtp: &SmtpSink, address: &str) -> Vec<String> {
    smtp.received_by(address).iter().map(|mail| mail.body()).filter(|body| body.contains("/password/reset/")).collect()
}

/// The link in the newest reset mail to `address`, once `count` have arrived.
async fn link_in_mail(smtp: &SmtpSink, address: &str, count: usize) -> String {
    eventually(Duration::from_secs(10), "the reset mail arrives", || async {
        reset_mails(smtp, address).len() >= count
    })
    .await;
    let body = reset_mails(smtp, address).pop().expect("a mail");
    let start = body.find("/password/reset/").unwrap_or_else(|| panic!("no link in {body}"));
    body[start..].split_whitespace().next().unwrap_or_default().to_owned()
}

async fn login(app: &TestApp, password: &str) -> u16 {
    app.post("/v1/auth/login", json!({"email": "reset@example.com", "password": password}), None).await.status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_set_again_through_a_link_that_works_once() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url())]).await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("reset@example.com", "UTC").await;
    let api = app.post("/v1/auth/login", json!({"email": "reset@example.com", "password": OLD}), None).await;
    let refresh = api.body["data"]["tokens"]["refreshToken"].as_str().expect("a refresh token").to_owned();

    let mut someone = Visitor::new(&app);
    assert!(someone.get("/login").await.text.contains("href=\"/password/forgot\""), "offered on sign-in");
    let (status, known) = ask(&mut someone, "Reset@Example.com").await;
    assert_eq!(status, 200);
    let (_, unknown) = ask(&mut someone, "nobody@example.com").await;
    assert!(known.contains("If an account uses"), "{known}");
    let same = |text: &str, email: &str| text.replace(email, "EMAIL");
    assert_eq!(same(&known, "Reset@Example.com"), same(&unknown, "nobody@example.com"), "the answers are alike");
    let link = link_in_mail(&smtp, "reset@example.com", 1).await;
    assert!(smtp.received_by("nobody@example.com").is_empty());
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(token.starts_with("erpw_"), "{link}");
    let stored = format!(
        "SELECT count(*)::text AS value FROM password_resets WHERE token_hash = sha256('{token}'::bytea) \
         AND expires_at <= now() + interval '61 minutes'"
    );
    assert_eq!(scalar(&app, &stored).await, "1", "only the token's hash is stored, with an expiry");

    // The page the link opens: the two passwords must agree and be long enough.
    let path = &link[link.find("/password/reset/").unwrap()..];
    let page = someone.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = csrf_of(&page.text);
    let reply = someone.post(path, &[("csrf", &csrf), ("password", NEW), ("password_again", "something else")]).await;
    assert!(reply.status == 400 && reply.text.contains("id=\"password_again-error\""), "{}", reply.text);
    let reply = someone.post(path, &[("csrf", &csrf), ("password", "short"), ("password_again", "short")]).await;
    assert!(reply.status == 400 && reply.text.contains("id=\"password-error\""), "{}", reply.text);
    let reply = someone.post(path, &[("password", NEW), ("password_again", NEW)]).await;
    assert_eq!(reply.status, 403, "the form needs its token");
    assert_eq!(login(&app, OLD).await, 200, "nothing changed yet");

    let reply = someone.post(path, &[("csrf", &csrf), ("password", NEW), ("password_again", NEW)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/login"), "{}", reply.text);
    assert!(someone.get("/login").await.text.contains("Your new password is set"));

    // Every session and refresh token is over; the new password signs in, the old one does not.
    let home = ada.get("/").await;
    assert_eq!(home.status, 303, "the browser session ended");
    assert!(location(&home).starts_with("/login"));
    assert_eq!(app.post("/v1/auth/refresh", json!({"refreshToken": refresh}), None).await.status, 401);
    assert_eq!(login(&app, OLD).await, 401);
    assert_eq!(login(&app, NEW).await, 200);

    // Used once: the link is dead now, and changes nothing.
    let again = someone.get(path).await;
    assert!(again.status == 410 && again.text.contains("This link no longer works"), "{}", again.text);
    let csrf = csrf_of(&someone.get("/password/forgot").await.text);
    let reply = someone
        .post(path, &[("csrf", &csrf), ("password", "third password!"), ("password_again", "third password!")])
        .await;
    assert_eq!(reply.status, 410);
    assert_eq!(login(&app, NEW).await, 200);

    // A new link is dead after an hour.
    ask(&mut someone, "reset@example.com").await;
    let link = link_in_mail(&smtp, "reset@example.com", 2).await;
    let path = &link[link.find("/password/reset/").unwrap()..];
    assert_eq!(someone.get(path).await.status, 200);
    app.state.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(someone.get(path).await.status, 410);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_limited_and_without_email_there_is_no_forgotten_password_page() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    assert!(!visitor.get("/login").await.text.contains("/password/forgot"));
    assert_eq!(visitor.get("/password/forgot").await.status, 404);
    assert_eq!(visitor.get("/password/reset/erpw_anything").await.status, 404);

    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url())]).await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("limited@example.com", "UTC").await;
    let mut someone = Visitor::new(&app);
    // Three links an hour to one address; a fourth request reads the same and sends nothing.
    for _ in 0..4 {
        let (status, text) = ask(&mut someone, "limited@example.com").await;
        assert!(status == 200 && text.contains("If an account uses"), "{text}");
    }
    link_in_mail(&smtp, "limited@example.com", 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(reset_mails(&smtp, "limited@example.com").len(), 3);
    // Twenty requests an hour from one network.
    for n in 4..20 {
        let (status, _) = ask(&mut someone, &format!("other{n}@example.com")).await;
        assert_eq!(status, 200);
    }
    let (status, text) = ask(&mut someone, "one-more@example.com").await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("Slow down"));
}
