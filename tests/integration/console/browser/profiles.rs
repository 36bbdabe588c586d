//! Escalation profiles and completion evidence in Chromium: make a profile with the editor, then edit a
//! tier's delay and the repeat and watch the picture change without leaving the page (the issue's
//! acceptance); screenshots of the profile pages and the evidence page at both widths.

use fantoccini::{Client, Locator};

use super::{Driver, click, fill, path_of, shoot, shows, sign_up, text_of, text_of_id};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, scalar};

/// Where the picture and the focused field are in the window, and the window's height.
const PHONE_VIEW: &str = r"
const picture = document.querySelector('.picture').getBoundingClientRect();
const field = document.activeElement.getBoundingClientRect();
return { pictureTop: picture.top, height: innerHeight, fieldTop: field.top, fieldBottom: field.bottom };
";

/// How much of the text box `arguments[0]` is out of its view (px, either way), and how many lines it shows.
const OVERFLOW: &str = r"
const box = document.getElementById(arguments[0]);
const line = parseFloat(getComputedStyle(box).lineHeight) || 16;
return { hidden: Math.max(box.scrollHeight - box.clientHeight, box.scrollWidth - box.clientWidth),
         lines: box.clientHeight / line };
";

/// The picture's text as the page shows it now.
async fn picture_text(client: &Client) -> String {
    text_of_id(client, "picture").await
}

/// Waits until the picture shows `wanted` (the script redraws it a moment after typing).
async fn picture_shows(client: &Client, wanted: &str) {
    shows(client, "picture", wanted).await;
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

    // On a phone the picture stays in sight, clear of the field, while a tier far down the long form changes.
    client.set_window_size(375, 740).await.expect("a phone's window");
    fill(&client, "#t1-delay", "50").await;
    picture_shows(&client, "Tier 2 · after 50 min").await;
    let seen = client.execute(PHONE_VIEW, vec![]).await.expect("script runs");
    let at = |key: &str| seen[key].as_f64().unwrap_or(f64::NAN);
    assert!(at("pictureTop") >= 0.0 && at("pictureTop") < at("height") - 100.0, "the picture is in sight: {seen}");
    assert!(at("fieldTop") >= 0.0 && at("fieldBottom") <= at("pictureTop"), "the field is not under it: {seen}");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(super::screenshot_dir().join("profile-edit-phone-375.png"), png).expect("write screenshot");
    client.set_window_size(1280, 900).await.expect("resize back");

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
    // On a phone the URL and the curl line show whole, wrapped, not in a scrolling sliver.
    client.set_window_size(375, 900).await.expect("a phone's window");
    for id in ["new-hook-url", "new-hook-curl"] {
        let overflow = client.execute(OVERFLOW, vec![id.into()]).await.expect("script runs");
        assert!(overflow["lines"].as_f64().unwrap_or(0.0) >= 2.0, "{id}: {overflow}");
        assert!(overflow["hidden"].as_f64().unwrap_or(1.0) <= 1.0, "{id} hides part of itself: {overflow}");
    }
    client.set_window_size(1280, 900).await.expect("resize back");
    client.close().await.expect("session closes");
}
