//! Email verification, with this server sending mail to the test's SMTP listener: the link mailed at sign-up
//! confirms the address once and within 48 hours; until then email channels may go only to the account's
//! own address; a new link ends the older one and links are limited. Without email, accounts start confirmed.

use std::time::Duration;

use serde_json::{Value, json};

use super::{access, register};
use crate::common::smtp::SmtpSink;
use crate::common::{Reply, TestApp};
use crate::engine::eventually;
use crate::fixtures::{patch, scalar};

const ADA: &str = "ada-verify@example.com";

/// The tokens of the confirmation links mailed to `address`, once `n` have arrived (in arrival order).
async fn link_tokens(smtp: &SmtpSink, address: &str, n: usize) -> Vec<String> {
    let links = || {
        smtp.received_by(address)
            .into_iter()
            .map(|mail| mail.body())
            .filter_map(|body| body.split_whitespace().find(|w| w.contains("/verify-email/")).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(10), "the confirmation mail arrives", || async { links().len() >= n }).await;
    links()
        .into_iter()
        .map(|link| {
            assert!(link.starts_with("http://127.0.0.1:3801/verify-email/erev_"), "{link}");
            link.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

/// The token of the `n`th link, once it has arrived (the test waited for the ones before).
async fn link_token(smtp: &SmtpSink, address: &str, n: usize) -> String {
    link_tokens(smtp, address, n).await[n - 1].clone()
}

async fn add_email_channel(app: &TestApp, token: &str, address: &str) -> Reply {
    app.post("/v1/agents/email/subscribe", json!({"config": {"address": address}}), Some(token)).await
}

async fn confirm(app: &TestApp, token: &str) -> Reply {
    app.post("/v1/auth/verify-email", json!({ "token": token }), None).await
}

async fn verified(app: &TestApp, token: &str) -> Value {
    app.get("/v1/users/me", Some(token)).await.data(200)["emailVerified"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_mailed_at_sign_up_confirms_the_address_once_and_opens_email_channels_to_others() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url()), ("TIER_LIMITS", r#"{"FREE": {"channels": 5}}"#)]).await;
    let auth = register(&app, ADA).await;
    assert_eq!(auth["user"]["emailVerified"], false, "{auth}");
    let token = access(&auth);
    let link = link_token(&smtp, ADA, 1).await;
    let stored = format!(
        "SELECT count(*)::text AS value FROM email_verifications WHERE token_hash = sha256('{link}'::bytea) \
         AND expires_at <= now() + interval '48 hours 1 minute' AND used_at IS NULL"
    );
    assert_eq!(scalar(&app, &stored).await, "1", "only the token's hash is stored, with an expiry");

    // Unconfirmed: an email channel to another address is refused with its own code; to its own, not.
    let other = add_email_channel(&app, &token, "someone@example.net").await;
    other.assert_error(403, "EMAIL_NOT_VERIFIED");
    assert!(other.body["error"]["message"].as_str().unwrap().contains(ADA), "{}", other.text);
    let own = add_email_channel(&app, &token, "Ada-Verify@Example.com").await.data(201).clone();
    let moved = format!("/v1/agents/subscriptions/{}", own["id"].as_str().unwrap());
    patch(&app, &token, &moved, json!({"config": {"address": "someone@example.net"}}))
        .await
        .assert_error(403, "EMAIL_NOT_VERIFIED");
    // Other channel kinds are as they were.
    app.post("/v1/agents/pull/subscribe", json!({"config": {}}), Some(&token)).await.data(201);

    // Bad input is the envelope; a token that is no link of ours is a dead link.
    let unknown = app.post("/v1/auth/verify-email", json!({"token": link, "extra": 1}), None).await;
    unknown.assert_error(400, "VALIDATION_ERROR");
    app.post("/v1/auth/verify-email", json!({"token": 7}), None).await.assert_error(400, "VALIDATION_ERROR");
    confirm(&app, "erev_not-a-link").await.assert_error(422, "UNPROCESSABLE_ENTITY");

    let done = confirm(&app, &link).await;
    assert_eq!(done.data(200)["email"], ADA);
    assert_eq!(done.body["data"]["emailVerified"], true);
    assert_eq!(verified(&app, &token).await, true);
    add_email_channel(&app, &token, "someone@example.net").await.data(201);
    patch(&app, &token, &moved, json!({"config": {"address": "elsewhere@example.net"}})).await.data(200);

    // Once only; and asking again once confirmed is a conflict, not a mail.
    confirm(&app, &link).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    app.post("/v1/auth/verify-email/resend", json!({}), Some(&token)).await.assert_error(409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_link_ends_the_older_one_links_expire_and_are_limited() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url())]).await;
    let token = access(&register(&app, ADA).await);
    let first = link_token(&smtp, ADA, 1).await;
    app.post("/v1/auth/verify-email/resend", json!({}), None).await.assert_error(401, "UNAUTHORIZED");

    let resend = app.post("/v1/auth/verify-email/resend", json!({}), Some(&token)).await;
    assert_eq!(resend.status, 204, "{}", resend.text);
    let second = link_token(&smtp, ADA, 2).await;
    confirm(&app, &first).await.assert_error(422, "UNPROCESSABLE_ENTITY");

    // Three links an hour; the fourth request is refused and sends nothing.
    for _ in 0..2 {
        assert_eq!(app.post("/v1/auth/verify-email/resend", json!({}), Some(&token)).await.status, 204);
    }
    let limited = app.post("/v1/auth/verify-email/resend", json!({}), Some(&token)).await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.headers.get("retry-after").is_some());
    let links = link_tokens(&smtp, ADA, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received_by(ADA).len(), 4, "the sign-up link and three more");
    // The last two mails may arrive in either order: the one link still open is the newest.
    let mut open = Vec::new();
    for link in &links {
        let sql = format!(
            "SELECT count(*)::text AS value FROM email_verifications WHERE token_hash = sha256('{link}'::bytea)"
        );
        if scalar(&app, &sql).await == "1" {
            open.push(link.clone());
        }
    }
    assert_eq!(open.len(), 1, "asking again ends the older links");
    let newest = open.remove(0);
    confirm(&app, &second).await.assert_error(422, "UNPROCESSABLE_ENTITY");

    // The newest works for 48 hours and no longer.
    app.state.clock.advance(chrono::Duration::hours(48) + chrono::Duration::minutes(1));
    confirm(&app, &newest).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    assert_eq!(verified(&app, &token).await, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_email_accounts_start_confirmed_and_channels_work_as_before() {
    let app = TestApp::spawn().await;
    let auth = register(&app, ADA).await;
    assert_eq!(auth["user"]["emailVerified"], true, "no link could arrive, so none is asked for");
    let token = access(&auth);
    add_email_channel(&app, &token, "someone@example.net").await.data(201);
    app.post("/v1/auth/verify-email/resend", json!({}), Some(&token)).await.assert_error(409, "CONFLICT");
}
