//! The pages added for the account and the delivery log, in Chromium: a password change and signing in
//! with the new password, the notifications filter, and screenshots of settings, the reminder edit form,
//! notifications and billing at both widths.

use fantoccini::{Client, Locator};

use super::{Driver, click, fill, path_of, shoot, sign_up, text_of};
use crate::common::TestApp;
use crate::fixtures::{exec, scalar};

/// Creates a daily reminder through the form; returns its page's path.
async fn create_daily(client: &Client, app: &TestApp, title: &str, at: &str) -> String {
    client.goto(&app.url("/reminders/new")).await.expect("new reminder page");
    fill(client, "#title", title).await;
    client.find(Locator::Css("#kind-daily")).await.expect("daily").click().await.expect("choose");
    fill(client, "#daily_at", at).await;
    click(client, "form[action='/reminders'] button[type=submit]").await;
    path_of(client).await
}

/// Deliveries of the reminder at `path`: `count` of them by `channel` with `status`.
async fn seed(app: &TestApp, path: &str, channel: &str, status: &str, count: usize) {
    let id = path.trim_start_matches("/reminders/");
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
             channel, status, created_at, sent_at, last_error) \
             SELECT gen_random_uuid(), r.id, r.user_id, 1 + n % 2, 0, 'subscription', gen_random_uuid(), '{channel}', \
             '{status}', now() - n * interval '7 minutes', now() - n * interval '7 minutes', \
             CASE WHEN '{status}' = 'failed' THEN 'the number is not reachable' END \
             FROM reminders r, generate_series(1, {count}) AS n WHERE r.id = '{id}'"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_password_signs_in_and_the_log_filters_in_a_browser() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "account-browser@example.com").await;

    // The reminder edit form, filled from the stored reminder; saving goes back to its page.
    let pills = create_daily(&client, &app, "take pills", "21:00").await;
    client.goto(&app.url(&format!("{pills}/edit"))).await.expect("edit page");
    shoot(&client, "reminder-edit").await;
    fill(&client, "#title", "take the pills").await;
    click(&client, "form.reminder-form button[type=submit]").await;
    assert_eq!(path_of(&client).await, pills);
    assert!(text_of(&client).await.contains("Reminder saved."));

    // The notifications page: filter by status, then by reminder.
    let plants = create_daily(&client, &app, "water the plants", "08:00").await;
    seed(&app, &pills, "email", "sent", 4).await;
    seed(&app, &plants, "sms", "failed", 2).await;
    client.find(Locator::LinkText("Notifications")).await.expect("in the nav").click().await.expect("click");
    client.wait().for_element(Locator::Css("form.filters")).await.expect("the notifications page");
    let text = text_of(&client).await;
    assert!(text.contains("6 deliveries") && text.contains("take the pills"), "{text}");
    shoot(&client, "notifications").await;
    client.find(Locator::Id("status")).await.expect("status").select_by_value("failed").await.expect("select");
    click(&client, "form.filters button").await;
    let text = text_of(&client).await;
    assert!(text.contains("2 deliveries") && text.contains("water the plants"), "{text}");
    let shown = client.find_all(Locator::Css("li.delivery")).await.expect("rows");
    assert_eq!(shown.len(), 2, "only the failed ones: {text}");
    assert!(client.current_url().await.expect("url").query().unwrap_or("").contains("status=failed"));
    shoot(&client, "notifications-filtered").await;

    client.goto(&app.url("/billing")).await.expect("billing");
    assert!(text_of(&client).await.contains("Plan\nFree"), "{}", text_of(&client).await);
    shoot(&client, "billing").await;

    // Change the password, sign out, sign in with the new one.
    client.goto(&app.url("/settings")).await.expect("settings");
    fill(&client, "#current_password", "correct horse battery").await;
    fill(&client, "#new_password", "a much better secret").await;
    fill(&client, "#new_password_again", "a much better secret").await;
    click(&client, "form[action='/settings/password'] button").await;
    let text = text_of(&client).await;
    assert!(text.contains("Password changed."), "{text}");
    assert!(text.contains("This browser"), "{text}");
    shoot(&client, "settings-security").await;
    click(&client, "form.signout button").await;
    assert_eq!(path_of(&client).await, "/login");
    fill(&client, "#email", "account-browser@example.com").await;
    fill(&client, "#password", "a much better secret").await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path_of(&client).await, "/", "signed in with the new password: {}", text_of(&client).await);
    let live = "SELECT count(*)::text AS value FROM console_sessions";
    assert_eq!(scalar(&app, live).await, "1");
    client.close().await.expect("session closes");
}
