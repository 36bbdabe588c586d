//! The admin console in Chromium: a SUPER_ADMIN follows the nav's Admin link, reads the dashboard's charts
//! over seeded revenue and activity, finds a user, disables their deliveries with a reason, adds and pins a
//! note, and reads it all back in the audit log; then a READONLY admin sees the same user without a form.
//! Screenshots of every admin page at 1280 and 375 px (none of them scrolls sideways on a phone), and axe-core
//! on each with no serious or critical finding. With JavaScript off, a SUPPORT admin's forms post, show a
//! refused reason in the form, and log each change.

use fantoccini::{Client, Locator};

use super::accessibility::audit;
use super::{Driver, click, fill, path_of, shoot, sign_up, text_of};
use crate::common::TestApp;
use crate::engine::seed::Seed;
use crate::fixtures::{exec, insert_deliveries, scalar, user, user_id};

/// Paying customers over the last months (billing's trigger records each change; the events are then
/// dated back), a payment, deliveries by channel and outcome this month, and 8 hours of health snapshots.
async fn seed(app: &TestApp) -> String {
    let mut customers = Vec::new();
    for (index, (tier, months_ago)) in
        [("PRO", 7), ("PERSONAL", 6), ("PRO", 5), ("FAMILY", 4), ("PERSONAL", 3), ("PRO", 2), ("PRO", 1)]
            .iter()
            .enumerate()
    {
        let token = user(app, &format!("customer{index}@example.com")).await;
        let id = user_id(app, &token).await;
        exec(app, &format!("UPDATE subscriptions SET tier = '{tier}', status = 'ACTIVE' WHERE user_id = '{id}'")).await;
        exec(
            app,
            &format!(
                "UPDATE subscription_events SET at = now() - interval '{months_ago} months' WHERE user_id = '{id}'"
            ),
        )
        .await;
        customers.push(id);
    }
    // One cancels last month.
    exec(app, &format!("UPDATE subscriptions SET status = 'CANCELED' WHERE user_id = '{}'", customers[1])).await;
    exec(
        app,
        &format!(
            "UPDATE subscription_events SET at = now() - interval '1 month' WHERE user_id = '{}' AND kind = 'cancelled'",
            customers[1]
        ),
    )
    .await;
    exec(
        app,
        &format!(
            "INSERT INTO payment_history (user_id, amount_cents, currency, status, paid_at) VALUES \
             ('{}', 1500, 'USD', 'PAID', now() - interval '1 month')",
            customers[0]
        ),
    )
    .await;

    let seed = Seed::new(app).await;
    let hook = seed.webhook("http://127.0.0.1:9/hook").await;
    seed.many_due_at(3, app.state.clock.now() + chrono::Duration::days(1), hook.id).await;
    let reminder = scalar(app, "SELECT id::text AS value FROM reminders LIMIT 1").await;
    let episode = crate::fixtures::acknowledged_episode(app, &reminder, &seed.user.to_string()).await;
    let mut rows = Vec::new();
    for (channel, status, n) in [
        ("email", "delivered", 9),
        ("email", "failed", 1),
        ("sms", "sent", 4),
        ("sms", "failed", 2),
        ("webhook", "delivered", 6),
    ] {
        for _ in 0..n {
            rows.push(format!(
                "('{episode}', '{reminder}', '{}', 1, 0, 'subscription', gen_random_uuid(), '{channel}', '{status}', now())",
                seed.user
            ));
        }
    }
    insert_deliveries(app, &rows).await;
    exec(
        app,
        "INSERT INTO system_health_snapshots (taken_at, status, data) \
         SELECT date_trunc('hour', now()) - g * interval '5 minutes', s, jsonb_build_object( \
           'status', s, 'database', 'ok', 'redis', CASE WHEN s = 'ok' THEN 'ok' ELSE 'down' END, \
           'queueDepth', (g * 7) % 11, 'dueNotFired', 0, 'schedulerLagSeconds', (g % 5) * 0.8, \
           'deliveriesLast5Minutes', jsonb_build_object('pending', 0, 'sending', 0, 'sent', 0, 'delivered', 0, \
           'failed', 0, 'cancelled', 0)) \
         FROM generate_series(0, 90) AS g, \
         LATERAL (SELECT CASE WHEN g BETWEEN 30 AND 33 THEN 'degraded' ELSE 'ok' END AS s) AS st",
    )
    .await;
    customers.swap_remove(2)
}

/// Makes the signed-up `email` an admin with `role`.
async fn grant(app: &TestApp, email: &str, role: &str) {
    exec(
        app,
        &format!("INSERT INTO admin_users (user_id, role) SELECT id, '{role}' FROM users WHERE email = '{email}'"),
    )
    .await;
}

async fn choose_option(client: &Client, select: &str, value: &str) {
    let field = client.find(Locator::Css(select)).await.unwrap_or_else(|_| panic!("select {select}"));
    field.select_by_value(value).await.expect("choose");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_works_through_every_admin_page_and_each_fits_a_phone() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let customer = seed(&app).await;
    let email = scalar(&app, &format!("SELECT email AS value FROM users WHERE id = '{customer}'")).await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "root@example.com").await;
    // Not an admin yet: no link, and the address is the 404 page.
    assert!(client.find(Locator::LinkText("Admin")).await.is_err(), "no Admin link for a non-admin");
    client.goto(&app.url("/admin")).await.expect("admin page");
    assert!(text_of(&client).await.contains("Page not found"));
    grant(&app, "root@example.com", "SUPER_ADMIN").await;

    client.goto(&app.url("/")).await.expect("home");
    click(&client, "a[href='/admin']").await;
    assert_eq!(path_of(&client).await, "/admin");
    let text = text_of(&client).await;
    assert!(text.contains("Revenue by month") && text.contains("Deliveries by channel and outcome"), "{text}");
    look(&client, "admin-dashboard").await;

    client.goto(&app.url("/admin/users")).await.expect("users");
    fill(&client, "#q", &email).await;
    click(&client, "form[role=search] button").await;
    assert!(text_of(&client).await.contains("1 user matching"));
    look(&client, "admin-users").await;
    click(&client, &format!("a[href='/admin/users/{customer}']")).await;

    choose_option(&client, "#delivery_state", "DELIVERY_DISABLED").await;
    fill(&client, "#delivery_reason", "Chargeback under review").await;
    click(&client, "form[action$='/delivery-state'] button").await;
    assert!(text_of(&client).await.contains("Deliveries are now DELIVERY_DISABLED."));

    fill(&client, "#note_body", "Asked to pause texts while abroad until January.").await;
    fill(&client, "#note_reason", "Support ticket 4711").await;
    click(&client, "form[action$='/notes'] button").await;
    assert!(text_of(&client).await.contains("The note is added."));
    click_summary(&client).await;
    fill(&client, "input[id^='edit-reason-']", "Keep it on top").await;
    click(&client, "button[name=pinned][value=true]").await;
    let text = text_of(&client).await;
    assert!(text.contains("The note is pinned.") && text.contains("pinned"), "{text}");
    look(&client, "admin-user").await;

    client.goto(&app.url("/admin/audit")).await.expect("audit");
    let text = text_of(&client).await;
    for logged in ["user.disable_delivery", "note.add", "note.edit", "Chargeback under review", "Keep it on top"] {
        assert!(text.contains(logged), "the audit log shows {logged}: {text}");
    }
    choose_option(&client, "#action", "note.add").await;
    click(&client, "form.filters button").await;
    let text = text_of(&client).await;
    assert!(text.contains("1 entry") && !text.contains("Chargeback under review"), "{text}");
    look(&client, "admin-audit").await;

    client.goto(&app.url("/admin/health")).await.expect("health");
    assert!(text_of(&client).await.contains("snapshots, one per 5 minutes"));
    look(&client, "admin-health").await;
    client.goto(&app.url("/admin/settings")).await.expect("settings");
    look(&client, "admin-settings").await;
    client.goto(&app.url("/admin/admins")).await.expect("admins");
    look(&client, "admin-admins").await;

    // A READONLY admin reads the same user's page with no form on it.
    click(&client, "form.signout button").await;
    sign_up(&client, &app, "reader@example.com").await;
    grant(&app, "reader@example.com", "READONLY").await;
    client.goto(&app.url(&format!("/admin/users/{customer}"))).await.expect("user page");
    let text = text_of(&client).await;
    assert!(text.contains("Asked to pause texts") && text.contains("DELIVERY_DISABLED"), "{text}");
    assert_eq!(client.find_all(Locator::Css("main form[method=post]")).await.expect("forms").len(), 0);
    look(&client, "admin-user-readonly").await;
    client.close().await.expect("session closes");
}

/// Screenshots of the page at both widths, and axe-core on it (no serious or critical finding).
async fn look(client: &Client, name: &str) {
    shoot(client, name).await;
    audit(client, name).await;
}

/// Opens the first note's "Pin, edit or delete".
async fn click_summary(client: &Client) {
    client.find(Locator::Css(".note-actions summary")).await.expect("a note's actions").click().await.expect("open");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_forms_work_with_javascript_off() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let token = user(&app, "customer@example.com").await;
    let customer = user_id(&app, &token).await;
    let client = driver.browser(false).await;
    sign_up(&client, &app, "support@example.com").await;
    grant(&app, "support@example.com", "SUPPORT").await;
    client.goto(&app.url(&format!("/admin/users/{customer}"))).await.expect("user page");
    assert!(client.find(Locator::Id("tier_tier")).await.is_err(), "SUPPORT has no tier form");

    fill(&client, "#delivery_reason", "").await;
    choose_option(&client, "#delivery_state", "DELIVERY_DISABLED").await;
    click(&client, "form[action$='/delivery-state'] button").await;
    assert!(text_of(&client).await.contains("must not be empty"), "the reason is required, said in the form");
    fill(&client, "#delivery_reason", "Bounced mail").await;
    click(&client, "form[action$='/delivery-state'] button").await;
    assert!(text_of(&client).await.contains("Deliveries are now DELIVERY_DISABLED."));

    fill(&client, "#note_body", "Mail bounced twice.").await;
    fill(&client, "#note_reason", "Ticket 12").await;
    click(&client, "form[action$='/notes'] button").await;
    click_summary(&client).await;
    fill(&client, "input[id^='edit-reason-']", "Important").await;
    click(&client, "button[name=pinned][value=true]").await;
    assert!(text_of(&client).await.contains("The note is pinned."));
    let logged = scalar(&app, "SELECT string_agg(action, ',' ORDER BY created_at) AS value FROM admin_actions").await;
    assert_eq!(logged, "user.disable_delivery,note.add,note.edit");
    client.close().await.expect("session closes");
}
