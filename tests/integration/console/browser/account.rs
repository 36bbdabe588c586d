//! The pages added for the account and the delivery log, in Chromium: a password change and signing in
//! with the new password, the notifications filter, a changed time zone moving the times, quiet hours, an
//! API key made and revoked, the reminder form's next times as a schedule is typed, and screenshots of
//! settings, the reminder edit form, notifications and billing at both widths.

use fantoccini::{Client, Locator};

use super::{Driver, choose, click, fill, path_of, shoot, shows, sign_up, text_of, text_of_id};
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
    client.goto(&app.url("/")).await.expect("home");
    assert!(client.find(Locator::Css("svg.chart rect")).await.is_ok(), "the chart has bars");
    shoot(&client, "dashboard-chart").await;
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

/// The value of the field `css`.
async fn value_of(client: &Client, css: &str) -> String {
    let field = client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("field {css}"));
    field.prop("value").await.expect("value").unwrap_or_default()
}

/// Whether the API takes `key`: the status of `GET /v1/users/me` with it.
async fn key_works(app: &TestApp, key: &str) -> u16 {
    let reply = app.client.get(app.url("/v1/users/me")).header("x-api-key", key).send().await.expect("sent");
    reply.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_zone_moves_the_times_and_quiet_hours_and_api_keys_are_set_in_a_browser() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    assert_eq!(sign_up(&client, &app, "settings-browser@example.com").await, "Europe/Berlin");
    let pills = create_daily(&client, &app, "take pills", "21:00").await;
    assert!(text_of(&client).await.contains(", 21:00"));

    // The time zone: the same reminder now reads on Tokyo's clock, here and on the home page.
    client.goto(&app.url("/settings")).await.expect("settings");
    fill(&client, "#timezone", "Asia/Tokyo").await;
    click(&client, "form[action='/settings/timezone'] button").await;
    assert!(text_of(&client).await.contains("Time zone changed to Asia/Tokyo"));
    let id = pills.trim_start_matches("/reminders/");
    let sql = format!(
        "SELECT to_char(next_trigger_at AT TIME ZONE 'Asia/Tokyo', 'HH24:MI') AS value FROM reminders WHERE id = '{id}'"
    );
    let tokyo = format!(", {}", scalar(&app, &sql).await);
    assert_ne!(tokyo, ", 21:00");
    for path in [pills.as_str(), "/"] {
        client.goto(&app.url(path)).await.expect("page");
        let text = text_of(&client).await;
        assert!(text.contains(&tokyo) && !text.contains(", 21:00"), "{path} on Tokyo's clock ({tokyo}): {text}");
    }

    // Quiet hours: a wrong time is refused by its field as typed, then set.
    client.goto(&app.url("/settings")).await.expect("settings");
    fill(&client, "#quiet_start", "25:00").await;
    fill(&client, "#quiet_end", "07:00").await;
    click(&client, "form[action='/settings/quiet-hours'] button[type=submit]").await;
    assert!(client.find(Locator::Id("quiet_start-error")).await.is_ok(), "{}", text_of(&client).await);
    assert_eq!(
        (value_of(&client, "#quiet_start").await, value_of(&client, "#quiet_end").await),
        ("25:00".into(), "07:00".into())
    );
    fill(&client, "#quiet_start", "22:00").await;
    click(&client, "form[action='/settings/quiet-hours'] button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("Quiet hours set: 22:00–07:00 on your clock (Asia/Tokyo)"), "{text}");

    // An API key: shown once, works, revoked from the page, then refused.
    fill(&client, "#key_name", "Home Assistant").await;
    click(&client, "form[action='/settings/api-keys'] button").await;
    let key = value_of(&client, "#new-key").await;
    assert_eq!(key_works(&app, &key).await, 200);
    shoot(&client, "settings-quiet-key").await;
    client.goto(&app.url("/settings")).await.expect("settings");
    click(&client, "form[action^='/settings/api-keys/'] button").await;
    assert!(text_of(&client).await.contains("API key revoked."));
    assert_eq!(key_works(&app, &key).await, 401);
    client.close().await.expect("session closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_times_follow_the_schedule_as_it_is_typed() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "times-browser@example.com").await;
    client.goto(&app.url("/reminders/new")).await.expect("new reminder page");
    assert!(text_of_id(&client, "upcoming-daily").await.contains(", 09:00"), "the default's times at first");
    assert!(!client.find(Locator::Css("button[value=preview]")).await.expect("button").is_displayed().await.unwrap());

    choose(&client, "#kind-cron").await;
    fill(&client, "#cron", "15 7 * * 6").await;
    shows(&client, "upcoming-cron", "Sat").await;
    let listed = text_of_id(&client, "upcoming-cron").await;
    assert!(listed.matches("Sat ").count() == 5 && listed.matches(", 07:15").count() == 5, "{listed}");
    fill(&client, "#cron", "at seven").await;
    shows(&client, "upcoming-cron", "cron").await;
    // Each keystroke that waited past the pause redraws the region (typing is slow on a loaded machine), so an
    // element found may be replaced before it is asked about: look again until the error is shown.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let shown = match client.find(Locator::Css("#upcoming-cron .error")).await {
            Ok(error) => error.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        };
        if shown {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no error shown beside the cron field");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!text_of_id(&client, "upcoming-cron").await.contains("Sat"));
    shoot(&client, "reminder-new-cron-error").await;

    choose(&client, "#kind-once").await;
    fill(&client, "#once_words", "friday at 5pm").await;
    shows(&client, "upcoming-once", "Interpreted as Fri ").await;
    assert!(text_of_id(&client, "upcoming-once").await.contains("17:00 Europe/Berlin"));

    choose(&client, "#kind-interval").await;
    fill(&client, "#interval_minutes", "90").await;
    shows(&client, "upcoming-interval", "The next 5 times").await;
    assert_eq!(path_of(&client).await, "/reminders/new", "no page load");
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM reminders").await, "0", "nothing stored");
    client.close().await.expect("session closes");
}
