//! Escalation profiles and completion evidence in Chromium: make a profile with the editor, then edit a
//! tier's delay and the repeat and watch the picture change without leaving the page (the issue's
//! acceptance); screenshots of the profile pages and the evidence page at both widths.

use std::time::Duration;

use fantoccini::{Client, Locator};

use super::{Driver, click, fill, path_of, shoot, sign_up, text_of};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, scalar};

/// The picture's text as the page shows it now.
async fn picture_text(client: &Client) -> String {
    let script = "var p = document.getElementById('picture'); return p ? p.textContent : '';";
    client.execute(script, vec![]).await.expect("script runs").as_str().unwrap_or_default().to_owned()
}

/// Waits until the picture shows `wanted` (the script redraws it a moment after typing).
async fn picture_shows(client: &Client, wanted: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = picture_text(client).await;
        if text.contains(wanted) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the picture never showed {wanted:?}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_profile_redraws_its_picture_as_you_type() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "profiles-browser@example.com").await;

    client.find(Locator::LinkText("Profiles")).await.expect("the nav links to Profiles").click().await.expect("click");
    client.wait().for_element(Locator::Css("a[href='/profiles/new']")).await.expect("the profiles page");
    assert!(text_of(&client).await.contains("Gentle"));
    shoot(&client, "profiles").await;

    click(&client, "a[href='/profiles/new']").await;
    fill(&client, "#name", "Pills").await;
    fill(&client, "#description", "Email at once, then a text").await;
    click(&client, "button[value=add]").await;
    assert_eq!(path_of(&client).await, "/profiles", "the add button redrew the form");
    assert_eq!(client.find(Locator::Id("name")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("Pills"));
    client.find(Locator::Id("t1-channel-email")).await.expect("tier 2 email").click().await.expect("untick");
    client.find(Locator::Id("t1-channel-sms")).await.expect("tier 2 sms").click().await.expect("tick");
    picture_shows(&client, "Tier 2 · after 30 min").await;
    shoot(&client, "profile-new").await;
    click(&client, "form.profile-form button.primary").await;
    let path = path_of(&client).await;
    assert!(path.starts_with("/profiles/"), "{path}: {}", text_of(&client).await);
    assert!(text_of(&client).await.contains("Profile “Pills” created."));

    // The acceptance: change tier 2's delay and the repeat; the picture follows while the page stays.
    fill(&client, "#t1-delay", "45").await;
    picture_shows(&client, "Tier 2 · after 45 min").await;
    assert!(!picture_text(&client).await.contains("after 30 min"));
    client.find(Locator::Id("repeat")).await.expect("repeat").select_by_value("1").await.expect("select");
    picture_shows(&client, "(repeat 1)").await;
    assert_eq!(path_of(&client).await, path, "no page load");
    let id = path.trim_start_matches("/profiles/");
    let stored = format!("SELECT tiers->1->>'delayMinutes' AS value FROM escalation_profiles WHERE id = '{id}'");
    assert_eq!(scalar(&app, &stored).await, "30", "nothing is stored while typing");
    shoot(&client, "profile-edit").await;
    click(&client, "form.profile-form button.primary").await;
    assert!(text_of(&client).await.contains("Profile “Pills” saved."));
    assert_eq!(scalar(&app, &stored).await, "45");

    client.goto(&app.url(&format!("/profiles/{GENTLE}"))).await.expect("a preset");
    assert!(text_of(&client).await.contains("A preset"));
    shoot(&client, "profile-preset").await;

    // Completion evidence: a hook for a reminder, its URL shown once.
    client.goto(&app.url("/reminders/new")).await.expect("new reminder page");
    fill(&client, "#title", "take the bins out").await;
    client.find(Locator::Css("#kind-daily")).await.expect("daily").click().await.expect("choose");
    fill(&client, "#daily_at", "19:00").await;
    click(&client, "form[action='/reminders'] button[type=submit]").await;
    client.goto(&app.url("/evidence")).await.expect("evidence page");
    shoot(&client, "evidence-empty").await;
    click(&client, "form[action='/evidence/hooks'] button").await;
    assert!(text_of(&client).await.contains("shown only this once"));
    shoot(&client, "evidence-hook").await;
    client.close().await.expect("session closes");
}
