//! The home page's first steps, with plain forms (no JavaScript): the card asking to confirm the address
//! and the page its mailed link opens (a GET confirms nothing, one press does); the onboarding card, whose
//! template buttons create the first reminder, and which goes away when done or hidden.

use std::time::Duration;

use super::{Visitor, csrf_of, location};
use crate::common::TestApp;
use crate::common::smtp::SmtpSink;
use crate::engine::eventually;
use crate::fixtures::scalar;

const CONFIRM_CARD: &str = "Confirm your email address";
const ONBOARDING_CARD: &str = "id=\"onboarding-heading\"";

async fn verified_at(app: &TestApp, email: &str) -> String {
    scalar(app, &format!("SELECT COALESCE(email_verified_at::text, 'no') AS value FROM users WHERE email = '{email}'"))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mailed_link_opens_a_page_that_confirms_the_address_with_one_press() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url())]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("confirm-page@example.com", "Europe/Berlin").await;
    let home = ada.get("/").await;
    assert!(home.text.contains(CONFIRM_CARD) && home.text.contains("confirm-page@example.com"), "{}", home.text);

    // Asking again from the card mails a second link and says so.
    let again = ada.post("/verify-email/resend", &[("csrf", &csrf)]).await;
    assert_eq!((again.status, location(&again).as_str()), (303, "/"));
    assert!(ada.get("/").await.text.contains("We sent a new link"), "the home page says it");
    let links = || {
        smtp.received_by("confirm-page@example.com")
            .iter()
            .filter_map(|m| m.body().split_whitespace().find(|w| w.contains("/verify-email/")).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(10), "both links arrive", || async { links().len() == 2 }).await;
    let live = format!(
        "SELECT string_agg(t, ',') AS value FROM unnest(ARRAY['{}']) t
         WHERE EXISTS (SELECT 1 FROM email_verifications WHERE token_hash = sha256(t::bytea))",
        links().iter().map(|l| l.rsplit('/').next().unwrap().to_owned()).collect::<Vec<_>>().join("','")
    );
    let token = scalar(&app, &live).await;
    let path = format!("/verify-email/{token}");

    // Opened in another browser, signed out: the page asks; only the press confirms.
    let mut phone = Visitor::new(&app);
    let page = phone.get(&path).await;
    assert!(page.status == 200 && page.text.contains("Confirm my address"), "{}", page.text);
    assert_eq!(verified_at(&app, "confirm-page@example.com").await, "no", "a GET confirms nothing");
    assert_eq!(phone.post(&path, &[("csrf", "forged")]).await.status, 403);
    let done = phone.post(&path, &[("csrf", &csrf_of(&page.text))]).await;
    assert!(done.status == 200 && done.text.contains("Email address confirmed"), "{}", done.text);
    assert_ne!(verified_at(&app, "confirm-page@example.com").await, "no");
    assert!(!ada.get("/").await.text.contains(CONFIRM_CARD), "the card is gone");

    // Used once: the same link is a dead-link page now.
    let dead = phone.get(&path).await;
    assert!(dead.status == 410 && dead.text.contains("This link no longer works"), "{}", dead.text);
    assert_eq!(phone.get("/verify-email/erev_made-up").await.status, 410);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_onboarding_card_creates_the_first_reminder_and_goes_away_when_done_or_hidden() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("onboard-page@example.com", "UTC").await;
    let home = ada.get("/").await;
    assert!(home.text.contains(ONBOARDING_CARD) && home.text.contains("Get started"), "{}", home.text);
    assert!(!home.text.contains(CONFIRM_CARD), "without email, accounts start confirmed");
    assert!(home.text.contains("Take my medication, every day at 09:00"), "the templates are buttons");

    // One press of a template: the reminder exists and its page opens.
    let made =
        ada.post("/onboarding", &[("csrf", &csrf), ("action", "createReminder"), ("template", "call_family")]).await;
    assert_eq!(made.status, 303, "{}", made.text);
    let detail = ada.get(&location(&made)).await;
    assert!(detail.status == 200 && detail.text.contains("Call the family"), "{}", detail.text);
    assert!(detail.text.contains("Your first reminder is set."));
    // A second press (the back button) makes no second one, and says why.
    let again = ada.post("/onboarding", &[("csrf", &csrf), ("action", "createReminder"), ("template", "bills")]).await;
    assert_eq!(location(&again), "/");
    assert!(ada.get("/").await.text.contains("You have a reminder already"));
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM reminders").await, "1");

    // Confirming UTC leaves only the channel; then hiding the card removes it for good.
    ada.post("/onboarding", &[("csrf", &csrf), ("action", "complete"), ("step", "timezone")]).await;
    let home = ada.get("/").await;
    assert!(home.text.contains(ONBOARDING_CARD) && !home.text.contains("UTC is right"), "{}", home.text);
    assert_eq!(ada.post("/onboarding", &[("action", "dismiss")]).await.status, 403, "the form needs its token");
    assert_eq!(ada.post("/onboarding", &[("csrf", &csrf), ("action", "party")]).await.status, 404);
    let hidden = ada.post("/onboarding", &[("csrf", &csrf), ("action", "dismiss")]).await;
    assert_eq!(location(&hidden), "/");
    let home = ada.get("/").await.text;
    assert!(!home.contains(ONBOARDING_CARD), "hidden");
    // With the card gone, the missing channel is said by the home page's own alert, once.
    assert!(home.contains("No channel set up"), "{home}");
    assert_eq!(home.matches("<a href=\"/channels\">Set up a channel</a>").count(), 1, "{home}");

    // Another new account still sees its own card.
    let mut eve = Visitor::new(&app);
    eve.sign_up("eve-page@example.com", "Europe/Berlin").await;
    let hers = eve.get("/").await.text;
    assert!(hers.contains(ONBOARDING_CARD) && !hers.contains("UTC is right"), "her zone is set: {hers}");
}
