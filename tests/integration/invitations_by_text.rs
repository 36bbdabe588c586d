//! An SMS `YES` accepts only an invitation that was texted to that very number and is within its 14 days;
//! with several waiting, the sender is asked which (`YES 1`, `YES 2`) and only the chosen one is accepted.

use serde_json::json;

use crate::common::TestApp;
use crate::fixtures::{exec, scalar, user, user_id};
use crate::sms::{PHONE, text_back, twilio_and_app};

/// A user named `name` on PERSONAL (room for trusted contacts); returns their token.
async fn owner(app: &TestApp, email: &str, name: &str) -> String {
    let token = user(app, email).await;
    let id = user_id(app, &token).await;
    exec(app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{id}'")).await;
    let renamed = app.call(reqwest::Method::PATCH, "/v1/users/me", Some(json!({"displayName": name})), Some(&token));
    renamed.await.data(200);
    token
}

/// Adds a trusted contact with `phone` through the API (the invitation is texted); returns its id.
async fn invite(app: &TestApp, token: &str, phone: &str) -> String {
    let created = app.post("/v1/trusted-contacts", json!({"name": "Sam", "phone": phone}), Some(token)).await;
    created.data(201)["id"].as_str().unwrap().to_owned()
}

async fn consent(app: &TestApp, contact: &str) -> String {
    scalar(app, &format!("SELECT consent_status AS value FROM trusted_contacts WHERE id = '{contact}'")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_does_not_accept_an_invitation_never_texted_there_or_past_its_14_days() {
    let (_twilio, app) = twilio_and_app().await;
    let ada = owner(&app, "ada@example.com", "Ada").await;
    let ada_id = user_id(&app, &ada).await;
    // An invitation to a number that was never texted (only emailed; the owner typed someone's number).
    let stranger = "+15550003333";
    let untexted = scalar(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, email, phone, invited_at)
             VALUES ('{ada_id}', 'Typo', 'typo@example.com', '{stranger}', now()) RETURNING id::text AS value"
        ),
    )
    .await;
    let answer = text_back(&app, stranger, "YES").await;
    assert!(answer.contains("on again") && !answer.contains("trusted contact"), "{answer}");
    assert_eq!(consent(&app, &untexted).await, "pending");

    // A texted invitation, answered 15 days later: expired, nothing accepted.
    let texted = invite(&app, &ada, PHONE).await;
    app.state.clock.advance(chrono::Duration::days(15));
    let late = text_back(&app, PHONE, "YES").await;
    assert!(late.contains("on again") && !late.contains("trusted contact"), "{late}");
    assert_eq!(consent(&app, &texted).await, "pending");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_two_invitations_yes_asks_which_and_yes_2_accepts_only_that_one() {
    let (_twilio, app) = twilio_and_app().await;
    let ada = owner(&app, "ada@example.com", "Ada").await;
    let bob = owner(&app, "bob@example.com", "Bob").await;
    let from_ada = invite(&app, &ada, PHONE).await;
    let from_bob = invite(&app, &bob, PHONE).await;

    let asked = text_back(&app, PHONE, "YES").await;
    assert!(asked.contains("YES 1 for Ada") && asked.contains("YES 2 for Bob"), "{asked}");
    assert_eq!((consent(&app, &from_ada).await, consent(&app, &from_bob).await), ("pending".into(), "pending".into()));

    let chosen = text_back(&app, PHONE, "YES 2").await;
    assert!(chosen.contains("you are now a trusted contact of Bob"), "{chosen}");
    assert_eq!(consent(&app, &from_bob).await, "accepted");
    assert_eq!(consent(&app, &from_ada).await, "pending", "only the chosen invitation is accepted");

    // One left: a plain YES now accepts it.
    let last = text_back(&app, PHONE, "yes").await;
    assert!(last.contains("you are now a trusted contact of Ada"), "{last}");
    assert_eq!(consent(&app, &from_ada).await, "accepted");
}
