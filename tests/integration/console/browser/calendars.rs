//! Calendars in Chromium: connect a calendar by its address (a wrong one first), add a rule, and see on a
//! reminder's page that the calendar pauses it; screenshots of both pages at both widths.

use super::{Driver, click, fill, path_of, shoot, sign_in, text_of};
use crate::calendars::{calendar, ics_server, timed};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, create, user};

#[tokio::test(flavor = "multi_thread")]
async fn a_calendar_is_connected_given_a_rule_and_pauses_a_reminder() {
    let driver = Driver::start().await;
    let app = TestApp::spawn_roles("all", &[("DEFAULT_TIER", "PERSONAL")]).await;
    let token = user(&app, "ada@example.com").await;
    let now = app.state.clock.now();
    let block = (now + chrono::Duration::hours(1), now + chrono::Duration::hours(3));
    let server = ics_server(calendar(&[("kids", timed("Kids with Ex", block.0, block.1))])).await;
    let due = (now + chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = serde_json::json!({"title": "Evening pills", "escalationProfileId": GENTLE,
                                  "schedule": {"type": "once", "triggerAt": due}});
    let reminder = create(&app, &token, body).await["id"].as_str().expect("id").to_owned();
    let client = driver.browser(true).await;

    sign_in(&client, &app, "ada@example.com").await;
    client.goto(&app.url("/calendars")).await.expect("calendars page");
    shoot(&client, "calendars-empty").await;
    fill(&client, "#name", "Family").await;
    fill(&client, "#url", "ftp://nowhere.example/cal.ics").await;
    click(&client, "form[action='/calendars'] button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("must be an http or https URL"), "{text}");
    fill(&client, "#url", &format!("{}/secret.ics", server.uri())).await;
    click(&client, "form[action='/calendars'] button[type=submit]").await;
    assert_eq!(path_of(&client).await, "/calendars");
    assert!(text_of(&client).await.contains("Connected \u{201c}Family\u{201d}"));

    let mut text = String::new();
    for _ in 0..60 {
        client.goto(&app.url("/calendars")).await.expect("reload");
        text = text_of(&client).await;
        if text.contains("1 events in the next 8 weeks") && text.contains("ok") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(text.contains("1 events in the next 8 weeks"), "{text}");
    let summary = client.find(fantoccini::Locator::Css("details summary")).await.expect("the rule form's summary");
    summary.click().await.expect("opens the rule form");
    fill(&client, "input[name='summary_contains']", "Kids").await;
    click(&client, "form[action$='/rules'] button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("Rule added") && text.contains("Pause during the event"), "{text}");
    shoot(&client, "calendars").await;

    client.goto(&app.url(&format!("/reminders/{reminder}"))).await.expect("reminder page");
    let text = text_of(&client).await;
    assert!(
        text.contains("Calendar: Paused during \u{201c}Kids with Ex\u{201d}")
            || text.contains("Paused during \"Kids with Ex\""),
        "{text}"
    );
    shoot(&client, "reminder-calendar").await;
    client.close().await.expect("session closes");
}
