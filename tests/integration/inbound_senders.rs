//! Email watchers trust a `From` only as far as the inbound provider's SPF/DKIM verdicts vouch for it, and
//! the owner can rotate the watcher address so a leaked one stops working.

use serde_json::json;

use crate::common::TestApp;
use crate::fixtures::{once_reminder, user};
use crate::watchers::{SECRET, post_email, state_of, watch};

async fn app() -> TestApp {
    TestApp::spawn_with(&[("INBOUND_EMAIL_SECRET", SECRET)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_from_with_failing_verdicts_does_not_complete_and_a_vouched_one_does() {
    let app = app().await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "pay rent").await;
    let (_, address) = watch(&app, &token, json!({"reminderId": id, "senderPattern": "*@bank.example"})).await;

    // A forger writes the bank's From; SendGrid's verdicts say the bank vouched for none of it (a DKIM pass
    // for the forger's own domain, an SPF pass for the forger's envelope sender).
    let forged_envelope = json!({"to": [address], "from": "bounce@evil.example"}).to_string();
    for (spf, dkim, envelope) in [
        ("softfail", "none", forged_envelope.as_str()),
        ("pass", "{@evil.example : pass}", forged_envelope.as_str()),
        ("none", "{@bank.example : fail}", ""),
    ] {
        let email = [
            ("from", "Bank Alerts <alerts@bank.example>"),
            ("to", address.as_str()),
            ("subject", "Payment received"),
            ("SPF", spf),
            ("dkim", dkim),
            ("envelope", envelope),
        ];
        let reply = post_email(&app, SECRET, &email).await;
        assert_eq!(reply.data(200)["results"], json!([]), "{spf} {dkim}: {}", reply.text);
        assert_eq!(state_of(&app, &id).await, "active/v1", "{spf} {dkim}");
    }

    // The bank's own mail, DKIM-signed for its domain: completes.
    let email = [
        ("from", "Bank Alerts <alerts@bank.example>"),
        ("to", address.as_str()),
        ("subject", "Payment received"),
        ("SPF", "fail"),
        ("dkim", "{@bank.example : pass}"),
        ("headers", "Message-ID: <real-1@bank.example>"),
    ];
    let reply = post_email(&app, SECRET, &email).await;
    assert_eq!(reply.data(200)["results"][0]["acted"], true, "{}", reply.text);
    assert_eq!(state_of(&app, &id).await, "completed/v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_rotation_the_old_address_is_ignored_and_the_new_one_works() {
    let app = app().await;
    let token = user(&app, "ada@example.com").await;
    let other = user(&app, "bob@example.com").await;
    let id = once_reminder(&app, &token, "pay rent").await;
    let (_, old) = watch(&app, &token, json!({"reminderId": id, "subjectKeyword": "paid"})).await;
    let bobs = once_reminder(&app, &other, "bob's").await;
    let (_, bob_address) = watch(&app, &other, json!({"reminderId": bobs, "subjectKeyword": "paid"})).await;

    let rotated = app.post("/v1/watchers/rotate-address", json!({}), Some(&token)).await;
    let new = rotated.data(200)["inboundAddress"].as_str().unwrap().to_owned();
    assert!(new != old && new.starts_with("watch+"), "{new}");
    assert_eq!(app.get("/v1/watchers", Some(&token)).await.data(200)[0]["inboundAddress"], new.as_str());
    app.post("/v1/watchers/rotate-address", json!({}), None).await.assert_error(401, "UNAUTHORIZED");

    let stale = post_email(&app, SECRET, &[("from", "x@y.example"), ("to", old.as_str()), ("subject", "paid")]).await;
    assert_eq!(stale.data(200)["results"], json!([]), "{}", stale.text);
    assert_eq!(state_of(&app, &id).await, "active/v1");

    let fresh = post_email(&app, SECRET, &[("from", "x@y.example"), ("to", new.as_str()), ("subject", "paid")]).await;
    assert_eq!(fresh.data(200)["results"][0]["acted"], true, "{}", fresh.text);
    assert_eq!(state_of(&app, &id).await, "completed/v2");
    // Another user's address is untouched by Ada's rotation.
    assert_eq!(app.get("/v1/watchers", Some(&other)).await.data(200)[0]["inboundAddress"], bob_address.as_str());
}
