//! The completion evidence page over HTTP: a hook's URL and curl line shown once and working, listed
//! after, revoked; email watchers added (errors at their fields), listed and deleted; the watcher address
//! rotated; another user's hooks and watchers out of reach.

use super::{Visitor, location};
use crate::common::TestApp;
use crate::fixtures::scalar;

/// The text of the read-only box `id` on a page.
fn field_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" class=\"code\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {id} in {html}"));
    let start = start + html[start..].find('>').unwrap() + 1;
    html[start..].split('<').next().unwrap_or_default().replace("&#x27;", "'").replace("&quot;", "\"")
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_and_email_watchers_are_made_listed_and_removed_on_the_evidence_page() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("evidence@example.com", "UTC").await;
    let reminder = ada.create_daily(&csrf, "Take the bins out", "19:00").await;

    let page = ada.get(&format!("/evidence?reminder={reminder}")).await;
    assert_eq!(page.status, 200);
    assert!(ada.get("/reminders").await.text.contains("href=\"/evidence\""), "the reminders page links here");
    assert!(page.text.contains("No hooks yet.") && page.text.contains("<code class=\"address\">watch+"));
    assert!(page.text.contains(&format!("<option value=\"{reminder}\" selected>")), "the reminder is chosen");
    let detail = ada.get(&format!("/reminders/{reminder}")).await;
    assert!(detail.text.contains(&format!("href=\"/evidence?reminder={reminder}\"")), "the reminder links here");

    // A hook: its URL and a curl line once, and the URL works.
    let reply = ada.post("/evidence/hooks", &[("csrf", &csrf), ("reminder", &reminder), ("action", "complete")]).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(reply.text.contains("shown only this once"));
    let url = field_value(&reply.text, "new-hook-url");
    assert!(url.starts_with("http") && url.contains("/v1/hooks/erh_"), "{url}");
    assert_eq!(field_value(&reply.text, "new-hook-curl"), format!("curl -X POST '{url}'"));
    // API_URL names the public address; the test reaches the app on its own port.
    let here = app.url(&url[url.find("/v1/hooks/").unwrap()..]);
    let called = app.client.post(&here).send().await.expect("hook called");
    assert_eq!(called.status(), 200);
    let page = ada.get("/evidence").await;
    assert!(!page.text.contains(&url), "the URL is not shown again");
    assert!(page.text.contains("completes it") && page.text.contains("last called"), "{}", page.text);

    // Revoked: the URL does nothing from now on.
    let hook = scalar(&app, "SELECT id::text AS value FROM completion_hooks").await;
    let reply = ada.post(&format!("/evidence/hooks/{reminder}/{hook}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/evidence"));
    assert_eq!(app.client.post(&here).send().await.expect("hook called").status(), 404);

    // A watcher needs a condition; what was typed is kept.
    let watcher = |sender: &'static str| {
        vec![("reminder", reminder.clone()), ("sender_pattern", sender.to_owned()), ("subject_keyword", String::new())]
    };
    let mut fields = watcher("");
    fields.push(("body_keyword", String::new()));
    fields.push(("action", "acknowledge".into()));
    fields.push(("csrf", csrf.clone()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = ada.post("/evidence/watchers", &pairs).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"sender_pattern-error\""), "{}", reply.text);
    assert!(reply.text.contains("<option value=\"acknowledge\" selected>"), "the action is kept");
    let mut fields = watcher("*@council.example");
    fields.push(("csrf", csrf.clone()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = ada.post("/evidence/watchers", &pairs).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let page = ada.get("/evidence").await;
    assert!(page.text.contains("Watcher added.") && page.text.contains("<code>*@council.example</code>"));

    // Another user reaches neither.
    let watcher_id = scalar(&app, "SELECT id::text AS value FROM watchers").await;
    let mut bob = Visitor::new(&app);
    let bobs = bob.sign_up("evidence-bob@example.com", "UTC").await;
    bob.create_daily(&bobs, "Bob's own", "07:00").await;
    assert!(!bob.get("/evidence").await.text.contains("council"));
    let reply = bob.post(&format!("/evidence/watchers/{watcher_id}/delete"), &[("csrf", &bobs)]).await;
    assert!(reply.status == 404 && reply.text.contains("Page not found"));
    let reply = bob.post("/evidence/hooks", &[("csrf", &bobs), ("reminder", &reminder), ("action", "complete")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("id=\"hook_reminder-error\""));
    let hooks = "SELECT count(*)::text AS value FROM completion_hooks";
    assert_eq!(scalar(&app, hooks).await, "1", "no hook for another user's reminder");

    let reply = ada.post(&format!("/evidence/watchers/{watcher_id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, 303);
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM watchers").await, "0");

    // A new watcher address.
    let before = ada.get("/evidence").await.text;
    let reply = ada.post("/evidence/address/rotate", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, 303);
    let after = ada.get("/evidence").await.text;
    let address =
        |html: &str| html.split("<code class=\"address\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_ne!(address(&before), address(&after));
    assert!(after.contains("Your watcher address is new."));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imap_watcher_is_added_from_the_evidence_page_and_its_password_never_shown() {
    let app = TestApp::spawn_with(&[("DEFAULT_TIER", "PERSONAL")]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("imap-console@example.com", "UTC").await;
    let reminder = ada.create_daily(&csrf, "Breathalyser test", "08:00").await;
    let form = |port: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("reminder", reminder.clone()),
            ("subject_keyword", "Test Completed".to_owned()),
            ("action", "complete".to_owned()),
            ("imap_host", "imap.example.com".to_owned()),
            ("imap_port", port.to_owned()),
            ("imap_user", "ada".to_owned()),
            ("imap_password", "app-pass-7731".to_owned()),
        ]
    };
    let pairs = |fields: &[(&'static str, String)]| fields.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let bad = pairs(&form("nine"));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = ada.post("/evidence/watchers", &bad).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"imap_port-error\"") && reply.text.contains("value=\"imap.example.com\""));
    assert!(!reply.text.contains("app-pass-7731"), "the password is not echoed back");

    let good = pairs(&form(""));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = ada.post("/evidence/watchers", &good).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let page = ada.get("/evidence").await;
    assert!(page.text.contains("Reads INBOX of ada on imap.example.com"), "{}", page.text);
    assert!(!page.text.contains("app-pass-7731"));
    let port = scalar(&app, "SELECT imap_port::text AS value FROM watchers").await;
    assert_eq!(port, "993");
}
