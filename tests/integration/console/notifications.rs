//! The notifications page (the whole delivery log with filters and cursor paging) and the billing page.

use super::{Visitor, location};
use crate::common::TestApp;
use crate::fixtures::exec;

/// Inserts `count` deliveries of `reminder` by `channel` with `status`, one second apart before `at`.
async fn seed_at(app: &TestApp, reminder: &str, (channel, status): (&str, &str), count: usize, at: &str) {
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
             channel, status, created_at) \
             SELECT gen_random_uuid(), r.id, r.user_id, 1, 0, 'subscription', gen_random_uuid(), '{channel}', \
             '{status}', {at} - n * interval '1 second' FROM reminders r, generate_series(1, {count}) AS n \
             WHERE r.id = '{reminder}'"
        ),
    )
    .await;
}

async fn seed(app: &TestApp, reminder: &str, channel: &str, status: &str, count: usize) {
    seed_at(app, reminder, (channel, status), count, "now()").await;
}

fn rows(html: &str) -> usize {
    html.matches("class=\"row delivery\"").count()
}

/// The href of the link labelled `label` ("Older →"), unescaped.
fn link(html: &str, label: &str) -> Option<String> {
    let at = html.find(&format!(">{label}</a>"))?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    Some(html[start..at].split('"').next()?.replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_delivery_log_filters_and_pages_by_cursor() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("log@example.com", "UTC").await;
    let pills = ada.create_daily(&csrf, "Take pills", "21:00").await;
    let plants = ada.create_daily(&csrf, "Water <plants>", "08:00").await;
    seed(&app, &pills, "email", "sent", 30).await;
    seed(&app, &plants, "sms", "failed", 3).await;

    let page = ada.get("/").await;
    assert!(page.text.contains("href=\"/notifications\""), "in the navigation");
    let page = ada.get("/notifications").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("33 deliveries") && page.text.contains("aria-current=\"page\">Notifications"));
    assert_eq!(rows(&page.text), 25);
    assert!(page.text.contains("Water &lt;plants&gt;"), "escaped titles");

    // Filters, each alone, and kept in the form.
    let page = ada.get(&format!("/notifications?reminder={plants}")).await;
    assert!(page.text.contains("3 deliveries") && !page.text.contains(">Take pills</a>"), "{}", page.text);
    assert!(
        page.text.contains("id=\"reminder\" name=\"reminder\"") && page.text.contains("value=\"Water &lt;plants&gt;\"")
    );
    let page = ada.get("/notifications?status=failed").await;
    assert!(page.text.contains("3 deliveries") && page.text.contains("<option value=\"failed\" selected>"));
    let page = ada.get("/notifications?channel=email&status=sent").await;
    assert!(page.text.contains("30 deliveries") && rows(&page.text) == 25);
    let page = ada.get("/notifications?channel=webhook").await;
    assert!(page.text.contains("No delivery matches these filters."));

    // Paging by cursor: a delivery arriving meanwhile moves nothing between pages.
    let older = link(&page_of(&mut ada, "/notifications?channel=email").await, "Older →").expect("an older link");
    assert!(older.contains("channel=email") && older.contains("cursor="), "{older}");
    seed_at(&app, &pills, ("email", "sent"), 1, "now() + interval '1 minute'").await;
    let second = ada.get(&older).await;
    assert_eq!((second.status, rows(&second.text)), (200, 5), "the last five of thirty: {}", second.text);
    assert!(link(&second.text, "Older →").is_none() && link(&second.text, "← Newest").is_some());

    // Bad filters are errors by their fields; another user's reminder is not found.
    let page = ada.get("/notifications?status=lost&channel=pigeon").await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("id=\"status-error\"") && page.text.contains("id=\"channel-error\""));
    assert_eq!(ada.get("/notifications?cursor=bm90LWEtY3Vyc29y").await.status, 400);
    let mut eve = Visitor::new(&app);
    eve.sign_up("log-eve@example.com", "UTC").await;
    assert_eq!(eve.get(&format!("/notifications?reminder={pills}")).await.status, 404);
    let page = eve.get("/notifications").await;
    assert!(page.text.contains("Nothing has been sent yet.") && !page.text.contains("Take pills"));
}

/// With more reminders than the page suggests, every delivery still carries its reminder's title (read with
/// the log's own rows) and the oldest reminder's deliveries are found by words of its title or by its link.
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_of_any_reminder_show_its_title_and_filter_by_it() {
    let app = TestApp::spawn_with(&[("DEFAULT_TIER", "PRO")]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("many-log@example.com", "UTC").await;
    let oldest = ada.create_daily(&csrf, "The very first reminder", "06:00").await;
    exec(&app, &format!("UPDATE reminders SET created_at = now() - interval '1 day' WHERE id = '{oldest}'")).await;
    super::later_reminders(&app, &oldest, 120).await;
    let later = crate::fixtures::scalar(&app, "SELECT id::text AS value FROM reminders WHERE title = 'later 7'").await;
    seed_at(&app, &oldest, ("email", "sent"), 3, "now() - interval '1 hour'").await;
    seed(&app, &later, "sms", "sent", 2).await;

    let all = page_of(&mut ada, "/notifications").await;
    assert!(titled(&all, "The very first reminder") == 3 && titled(&all, "later 7") == 2, "{all}");
    assert!(!all.contains("(archived reminder)"));

    let typed = page_of(&mut ada, "/notifications?reminder=VERY+first").await;
    assert!(typed.contains("3 deliveries") && rows(&typed) == 3 && titled(&typed, "later 7") == 0, "{typed}");
    assert!(typed.contains("value=\"VERY first\""), "what was typed stays in the field");
    let linked = page_of(&mut ada, &format!("/notifications?reminder={oldest}")).await;
    assert!(linked.contains("3 deliveries") && linked.contains("value=\"The very first reminder\""), "{linked}");

    // An archived reminder keeps its name in the log; a wildcard is only itself.
    exec(&app, &format!("UPDATE reminders SET status = 'archived' WHERE id = '{oldest}'")).await;
    assert_eq!(titled(&page_of(&mut ada, "/notifications").await, "The very first reminder"), 3);
    let wild = page_of(&mut ada, "/notifications?reminder=%25").await;
    assert!(wild.contains("No delivery matches these filters."), "{wild}");
}

/// How many deliveries on `html` are titled `title`.
fn titled(html: &str, title: &str) -> usize {
    html.matches(&format!(">{title}</a>")).count()
}

async fn page_of(visitor: &mut Visitor<'_>, path: &str) -> String {
    let page = visitor.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.text);
    page.text
}

#[tokio::test(flavor = "multi_thread")]
async fn the_billing_page_shows_usage_and_refuses_what_this_server_cannot_do() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("billing-page@example.com", "UTC").await;
    ada.create_daily(&csrf, "Take pills", "21:00").await;
    let page = page_of(&mut ada, "/billing").await;
    assert!(page.contains("<strong>Free</strong>") && page.contains("aria-current=\"page\">Billing"), "{page}");
    assert!(page.contains("<dd>1 of "), "one reminder used: {page}");
    assert!(page.contains("Not sold on this server."), "{page}");

    assert_eq!(ada.post("/billing/checkout", &[("csrf", "nope"), ("tier", "PRO")]).await.status, 403);
    assert_eq!(ada.post("/billing/cancel", &[("csrf", "nope")]).await.status, 403);
    let reply = ada.post("/billing/checkout", &[("csrf", &csrf), ("tier", "PRO")]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/billing"));
    assert!(page_of(&mut ada, "/billing").await.contains("Billing is not configured on this server."));
    let reply = ada.post("/billing/cancel", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, 303);
    assert!(page_of(&mut ada, "/billing").await.contains("There is no paid subscription to cancel."));
}
