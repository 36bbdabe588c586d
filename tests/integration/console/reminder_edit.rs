//! Editing and archiving a reminder from its page: the API's validation, the typed values kept, tenant
//! isolation and form tokens.

use super::{Visitor, location};
use crate::common::TestApp;
use crate::fixtures::scalar;

/// The edit form's fields for a daily reminder.
fn daily<'a>(csrf: &'a str, title: &'a str, at: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("title", title),
        ("description", "with water"),
        ("kind", "daily"),
        ("daily_at", at),
        ("profile", crate::fixtures::GENTLE),
        ("importance", "high"),
        ("version", version),
    ]
}

async fn column(app: &TestApp, id: &str, sql: &str) -> String {
    scalar(app, &format!("SELECT ({sql})::text AS value FROM reminders WHERE id = '{id}'")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_is_edited_with_the_apis_rules_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("edit@example.com", "Europe/Berlin").await;
    let id = ada.create_daily(&csrf, "Take pills", "21:00").await;
    let edit = format!("/reminders/{id}/edit");

    let detail = ada.get(&format!("/reminders/{id}")).await;
    assert!(detail.text.contains(&format!("href=\"{edit}\"")), "the page links to its edit form");
    let form = ada.get(&edit).await;
    assert_eq!(form.status, 200);
    assert!(form.text.contains("value=\"Take pills\"") && form.text.contains("value=\"21:00\""), "{}", form.text);
    assert!(form.text.contains("id=\"kind-daily\" name=\"kind\" value=\"daily\" checked"), "read back as daily");
    let next = column(&app, &id, "next_trigger_at").await;
    let v1 = column(&app, &id, "version").await;
    let v1 = v1.as_str();

    // A wrong token changes nothing.
    for token in ["", "not-the-token"] {
        let reply = ada.post(&edit, &daily(token, "Sneaky", "21:00", "1")).await;
        assert_eq!(reply.status, 403);
    }
    assert_eq!(ada.post(&format!("/reminders/{id}/archive"), &[("csrf", "nope")]).await.status, 403);
    assert_eq!(column(&app, &id, "title || status").await, "Take pillsactive");

    // Validation errors sit by their fields; what was typed stays.
    let reply = ada.post(&edit, &daily(&csrf, "", "21:00", v1)).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"title-error\"") && reply.text.contains("with water"), "{}", reply.text);
    let mut cron = daily(&csrf, "Backups & more", "21:00", v1);
    cron.extend([("kind", "cron"), ("cron", "every tuesday")]);
    cron.retain(|(k, v)| *k != "kind" || *v == "cron");
    let reply = ada.post(&edit, &cron).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"cron-error\"") && reply.text.contains("value=\"every tuesday\""));
    assert!(reply.text.contains("value=\"Backups &amp; more\""), "{}", reply.text);
    assert_eq!(column(&app, &id, "title").await, "Take pills");

    // Changing only the title leaves the schedule and the next time alone.
    let reply = ada.post(&edit, &daily(&csrf, "Take the pills", "21:00", v1)).await;
    assert_eq!((reply.status, location(&reply)), (303, format!("/reminders/{id}")), "{}", reply.text);
    assert!(ada.get(&format!("/reminders/{id}")).await.text.contains("Reminder saved."));
    assert_eq!(column(&app, &id, "title || ' ' || importance").await, "Take the pills high");
    assert_eq!(column(&app, &id, "next_trigger_at").await, next);

    // A stale version is refused with the API's message; the typed title stays.
    let reply = ada.post(&edit, &daily(&csrf, "Stale edit", "21:00", v1)).await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert!(reply.text.contains("changed meanwhile") && reply.text.contains("value=\"Stale edit\""));

    // A new time moves the schedule, read on the viewer's clock.
    let version = column(&app, &id, "version").await;
    let reply = ada.post(&edit, &daily(&csrf, "Take the pills", "07:30", &version)).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let detail = ada.get(&format!("/reminders/{id}")).await;
    assert!(detail.text.contains("cron <code>30 7 * * *</code> in Europe/Berlin"), "{}", detail.text);

    // Archive: gone from the list, fires no more.
    let reply = ada.post(&format!("/reminders/{id}/archive"), &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/reminders"));
    let list = ada.get("/reminders").await;
    assert!(list.text.contains("Reminder archived.") && !list.text.contains("Take the pills"), "{}", list.text);
    assert_eq!(column(&app, &id, "status || coalesce(next_trigger_at::text, 'none')").await, "archivednone");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_reminder_cannot_be_edited_or_archived() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("edit-owner@example.com", "UTC").await;
    let id = ada.create_daily(&csrf, "Private", "07:00").await;
    let mut eve = Visitor::new(&app);
    let eves = eve.sign_up("edit-eve@example.com", "UTC").await;

    let form = eve.get(&format!("/reminders/{id}/edit")).await;
    assert!(form.status == 404 && !form.text.contains("Private"));
    assert_eq!(eve.post(&format!("/reminders/{id}/edit"), &daily(&eves, "Mine now", "09:00", "1")).await.status, 404);
    assert_eq!(eve.post(&format!("/reminders/{id}/archive"), &[("csrf", &eves)]).await.status, 404);
    assert_eq!(eve.get("/reminders/not-a-uuid/edit").await.status, 404);
    assert_eq!(column(&app, &id, "title || status").await, "Privateactive");
}
