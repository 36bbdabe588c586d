//! Settings over HTTP: the password change ends every other session, sessions are listed and revoked,
//! deleting the account signs out; each form refuses a wrong token and keeps what was typed.

use serde_json::json;

use super::{Visitor, csrf_of, location};
use crate::common::TestApp;
use crate::fixtures::scalar;

const PASSWORD: &str = "correct horse battery";

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(app, &format!("SELECT ({sql})::text AS value")).await.parse().unwrap()
}

/// Signs `email` in through the sign-in page in a new browser.
async fn signed_in<'a>(app: &'a TestApp, email: &str, password: &str) -> Visitor<'a> {
    let mut visitor = Visitor::new(app);
    let token = csrf_of(&visitor.get("/login").await.text);
    let reply =
        visitor.post("/login", &[("csrf", &token), ("email", email), ("password", password), ("next", "/")]).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    visitor
}

/// The password form's fields.
fn change<'a>(token: &'a str, current: &'a str, new: &'a str, again: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("csrf", token), ("current_password", current), ("new_password", new), ("new_password_again", again)]
}

async fn api_login(app: &TestApp, email: &str, password: &str) -> u16 {
    app.post("/v1/auth/login", json!({"email": email, "password": password}), None).await.status
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("password@example.com", "UTC").await;
    let mut laptop = signed_in(&app, "password@example.com", PASSWORD).await;
    assert_eq!(api_login(&app, "password@example.com", PASSWORD).await, 200);

    let settings = ada.get("/settings").await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.text.matches("class=\"row session\"").count(), 3, "two browsers and an API client");
    assert_eq!(settings.text.matches(">This browser<").count(), 1, "{}", settings.text);
    let hash = "SELECT password_hash AS value FROM users";
    let before = scalar(&app, hash).await;

    for token in ["", "not-the-token"] {
        let reply =
            ada.post("/settings/password", &change(token, PASSWORD, "a brand new secret", "a brand new secret")).await;
        assert_eq!(reply.status, 403, "{}", reply.text);
    }
    assert_eq!(scalar(&app, hash).await, before, "a refused form changes nothing");

    // Errors sit by their fields; the box stays ticked; no password is written back into the page.
    let mut wrong = change(&csrf, "not my password", "a brand new secret", "a brand new secret");
    wrong.push(("revoke_api_keys", "on"));
    let reply = ada.post("/settings/password", &wrong).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"current_password-error\""), "{}", reply.text);
    assert!(reply.text.contains("name=\"revoke_api_keys\" checked"), "the box stays ticked");
    assert!(!reply.text.contains("not my password") && !reply.text.contains("a brand new secret"));
    let reply = ada.post("/settings/password", &change(&csrf, PASSWORD, "a brand new secret", "another one!")).await;
    assert!(reply.status == 400 && reply.text.contains("id=\"new_password_again-error\""), "{}", reply.text);
    let reply = ada.post("/settings/password", &change(&csrf, PASSWORD, "short", "short")).await;
    assert!(reply.status == 400 && reply.text.contains("id=\"new_password-error\""), "{}", reply.text);
    assert_eq!(scalar(&app, hash).await, before);

    let reply =
        ada.post("/settings/password", &change(&csrf, PASSWORD, "a brand new secret", "a brand new secret")).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/settings"), "{}", reply.text);
    let settings = ada.get("/settings").await;
    assert!(settings.text.contains("Password changed. Every other session is signed out."), "this one stays");
    assert_eq!(settings.text.matches("class=\"row session\"").count(), 1);
    assert_eq!(location(&laptop.get("/settings").await), "/login?next=%2Fsettings", "the other browser is out");
    assert_eq!(count(&app, "SELECT count(*) FROM refresh_sessions WHERE revoked_at IS NULL").await, 1);
    assert_eq!(api_login(&app, "password@example.com", PASSWORD).await, 401);
    assert_eq!(api_login(&app, "password@example.com", "a brand new secret").await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_listed_and_revoked_and_ending_this_one_signs_out() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("sessions@example.com", "UTC").await;
    let mut phone = signed_in(&app, "sessions@example.com", PASSWORD).await;
    let mut eve = Visitor::new(&app);
    let eves = eve.sign_up("sessions-eve@example.com", "UTC").await;
    let session_of = |email: &str| {
        format!(
            "SELECT rs.id::text AS value FROM refresh_sessions rs JOIN users u ON u.id = rs.user_id \
             WHERE u.email = '{email}' AND rs.revoked_at IS NULL ORDER BY rs.created_at DESC LIMIT 1"
        )
    };
    let phones = scalar(&app, &session_of("sessions@example.com")).await;
    let revoke = format!("/settings/sessions/{phones}/revoke");

    assert_eq!(ada.post(&revoke, &[("csrf", "not-the-token")]).await.status, 403);
    assert_eq!(eve.post(&revoke, &[("csrf", &eves)]).await.status, 404, "another user's session");
    assert_eq!(eve.post("/settings/sessions/not-a-uuid/revoke", &[("csrf", &eves)]).await.status, 404);
    assert_eq!(phone.get("/").await.status, 200, "still signed in");

    let reply = ada.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/settings"));
    assert!(ada.get("/settings").await.text.contains("Session ended."));
    assert_eq!(phone.get("/").await.status, 303, "the phone is signed out");

    // Ending this browser's own session is signing out.
    let own = scalar(&app, &session_of("sessions@example.com")).await;
    let reply = ada.post(&format!("/settings/sessions/{own}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/login"));
    assert!(!ada.jar.contains_key("er_session"));
    assert_eq!(ada.get("/").await.status, 303);
    assert_eq!(eve.get("/").await.status, 200, "nobody else is affected");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_account_needs_its_email_and_signs_out() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("delete-me@example.com", "UTC").await;
    ada.create_daily(&csrf, "Water the plants", "08:00").await;
    let deleted = "SELECT count(*) FROM users WHERE deleted_at IS NOT NULL";

    for token in ["", "not-the-token"] {
        let reply = ada.post("/settings/delete", &[("csrf", token), ("confirm_email", "delete-me@example.com")]).await;
        assert_eq!(reply.status, 403);
    }
    let reply = ada.post("/settings/delete", &[("csrf", &csrf), ("confirm_email", "someone-else@example.com")]).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"confirm_email-error\""), "{}", reply.text);
    assert!(reply.text.contains("value=\"someone-else@example.com\""), "what was typed is kept");
    assert_eq!(count(&app, deleted).await, 0);

    let reply = ada.post("/settings/delete", &[("csrf", &csrf), ("confirm_email", " Delete-Me@example.com ")]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/login"), "{}", reply.text);
    assert!(!ada.jar.contains_key("er_session"), "the cookie is cleared");
    assert!(ada.get("/login").await.text.contains("Your account is deleted."));
    assert_eq!(count(&app, deleted).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM refresh_sessions WHERE revoked_at IS NULL").await, 0);
    assert_eq!(api_login(&app, "delete-me@example.com", PASSWORD).await, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settings_page_downloads_the_accounts_data_and_only_for_the_signed_in() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("export@example.com", "UTC").await;
    assert!(ada.get("/settings").await.text.contains("href=\"/settings/export\""));

    let reply = ada.get("/settings/export").await;
    assert_eq!(reply.status, 200);
    let disposition = reply.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let users = reply.body["tables"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], "export@example.com");
    assert!(!reply.text.contains("password_hash") && !reply.text.contains("$argon2"));

    // A stranger is sent to sign in, not given anything.
    let reply = Visitor::new(&app).get("/settings/export").await;
    assert_eq!(reply.status, 303);
    assert!(location(&reply).starts_with("/login"), "{}", location(&reply));
}

/// Sends the quiet-hours form.
async fn quiet(ada: &mut Visitor<'_>, csrf: &str, (start, end): (&str, &str), op: &str) -> crate::common::Reply {
    ada.post("/settings/quiet-hours", &[("csrf", csrf), ("quiet_start", start), ("quiet_end", end), ("op", op)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_hours_are_set_refused_by_their_fields_and_cleared_on_the_settings_page() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("quiet@example.com", "Europe/Berlin").await;
    let stored = "SELECT coalesce(to_char(quiet_hours_start, 'HH24:MI') || '-' || to_char(quiet_hours_end, 'HH24:MI'), \
                  'none') AS value FROM users WHERE email = 'quiet@example.com'";
    let page = ada.get("/settings").await;
    assert!(page.text.contains("id=\"quiet_start\"") && page.text.contains("None now"), "{}", page.text);

    let set = quiet(&mut ada, &csrf, ("22:00", "07:00"), "").await;
    assert_eq!((set.status, location(&set).as_str()), (303, "/settings"));
    assert_eq!(scalar(&app, stored).await, "22:00-07:00");
    let page = ada.get("/settings").await;
    assert!(page.text.contains("Quiet hours set: 22:00–07:00 on your clock (Europe/Berlin)"), "{}", page.text);
    assert!(page.text.contains("value=\"22:00\"") && page.text.contains("value=\"07:00\""));
    assert!(page.text.contains("Now 22:00–07:00 on your clock (Europe/Berlin)"));

    // Refused values sit by their fields, as typed; nothing changes.
    let refused = quiet(&mut ada, &csrf, ("25:00", "07:30"), "").await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("id=\"quiet_start-error\"") && refused.text.contains("value=\"25:00\""));
    assert!(refused.text.contains("value=\"07:30\"") && !refused.text.contains("id=\"quiet_end-error\""));
    let half = quiet(&mut ada, &csrf, ("23:00", ""), "").await;
    assert_eq!(half.status, 400);
    assert!(half.text.contains("id=\"quiet_end-error\"") && half.text.contains("value=\"23:00\""), "{}", half.text);
    let same = quiet(&mut ada, &csrf, ("08:00", "08:00"), "").await;
    assert!(same.status == 400 && same.text.contains("id=\"quiet_end-error\""), "{}", same.text);
    assert_eq!(quiet(&mut ada, "forged", ("01:00", "02:00"), "").await.status, 403);
    assert_eq!(scalar(&app, stored).await, "22:00-07:00");

    // The clear button, whatever the fields hold.
    assert_eq!(quiet(&mut ada, &csrf, ("22:00", "07:00"), "clear").await.status, 303);
    assert_eq!(scalar(&app, stored).await, "none");
    let page = ada.get("/settings").await;
    assert!(page.text.contains("Quiet hours cleared") && page.text.contains("None now"), "{}", page.text);
    assert!(!page.text.contains("value=\"clear\""), "nothing to clear");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_is_changed_on_the_settings_page_and_a_refused_one_is_kept() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("name@example.com", "UTC").await;
    let stored = "SELECT display_name AS value FROM users WHERE email = 'name@example.com'";
    let changed = ada.post("/settings/name", &[("csrf", &csrf), ("display_name", "Ada Lovelace")]).await;
    assert_eq!((changed.status, location(&changed).as_str()), (303, "/settings"));
    assert_eq!(scalar(&app, stored).await, "Ada Lovelace");
    let page = ada.get("/settings").await;
    assert!(page.text.contains("Name changed to Ada Lovelace.") && page.text.contains("value=\"Ada Lovelace\""));

    let long = "x".repeat(101);
    let refused = ada.post("/settings/name", &[("csrf", &csrf), ("display_name", &long)]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("id=\"display_name-error\"") && refused.text.contains(&format!("value=\"{long}\"")));
    assert_eq!(ada.post("/settings/name", &[("csrf", "forged"), ("display_name", "Eve")]).await.status, 403);
    assert_eq!(scalar(&app, stored).await, "Ada Lovelace");
}
