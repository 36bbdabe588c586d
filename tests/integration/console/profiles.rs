//! Escalation profiles in the console over plain HTTP (the no-script path): the list, the editor's Add and
//! Preview buttons, errors next to their fields with what was typed kept, save with its version, delete
//! behind its confirm page, presets read only, and another user's profile as the 404 page.

use super::{Visitor, location};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, scalar};

/// The editor's fields for a profile called `name` with one tier per `(delay, channel)`.
fn fields<'a>(csrf: &'a str, name: &'a str, tiers: &'a [(&'a str, &'a str)], op: &'a str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("csrf", csrf),
        ("name", name),
        ("description", "for the pills"),
        ("repeat", "0"),
        ("ack_window_minutes", "60"),
        ("loop_gap_minutes", ""),
        ("op", op),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (index, (delay, channel)) in tiers.iter().enumerate() {
        out.push((format!("t{index}-delay"), (*delay).to_owned()));
        out.push((format!("t{index}-channel"), (*channel).to_owned()));
    }
    out
}

async fn post(visitor: &mut Visitor<'_>, path: &str, fields: &[(String, String)]) -> crate::common::Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    visitor.post(path, &pairs).await
}

async fn stored_delays(app: &TestApp, id: &str) -> String {
    let sql = format!(
        "SELECT string_agg(t->>'delayMinutes', ',') AS value \
         FROM escalation_profiles, jsonb_array_elements(tiers) AS t WHERE id = '{id}'"
    );
    scalar(app, &sql).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_is_made_previewed_saved_and_deleted_without_a_script() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("profiles@example.com", "UTC").await;

    let list = ada.get("/profiles").await;
    assert_eq!(list.status, 200);
    for preset in ["Gentle", "Urgent", "Medication"] {
        assert!(list.text.contains(preset), "presets are listed: {}", list.text);
    }
    assert!(list.text.contains("href=\"/profiles\" aria-current=\"page\""), "the nav links here");
    let form = ada.get("/reminders/new").await;
    assert!(form.text.contains("href=\"/profiles\">See the profiles"), "the profile picker links here");

    // Add a tier: the form comes back with a second tier 30 minutes later, the name as typed.
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "Pills", &[("0", "email")], "add")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains("id=\"t1-delay\" name=\"t1-delay\""), "{}", reply.text);
    assert!(reply.text.contains("value=\"30\"") && reply.text.contains("value=\"Pills\""));

    // A delay that is not a number, and one that goes backwards: errors at their fields, nothing stored.
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "Pills", &[("0", "email"), ("soon", "sms")], "save")).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("id=\"t1-delay-error\"") && reply.text.contains("value=\"soon\""), "{}", reply.text);
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "Pills", &[("30", "email"), ("10", "sms")], "save")).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("id=\"t1-delay-error\">must not be less than"), "{}", reply.text);
    assert!(reply.text.contains("aria-invalid=\"true\" aria-describedby=\"t1-delay-error\""));
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "", &[("0", "email")], "save")).await;
    assert!(reply.status == 400 && reply.text.contains("id=\"name-error\""), "{}", reply.text);
    let own = "SELECT count(*)::text AS value FROM escalation_profiles WHERE NOT is_preset";
    assert_eq!(scalar(&app, own).await, "0");

    // Saved: to its page, which draws the picture.
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "Pills", &[("0", "email"), ("30", "sms")], "save")).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let path = location(&reply);
    let id = path.trim_start_matches("/profiles/").to_owned();
    let page = ada.get(&path).await;
    assert!(page.text.contains("created") && page.text.contains("Edit “Pills”"), "{}", page.text);
    assert!(page.text.contains("Tier 2 · after 30 min") && page.text.contains("<svg class=\"timeline\""));
    assert_eq!(stored_delays(&app, &id).await, "0,30");

    // Preview redraws the picture for the typed values and stores nothing.
    let edited = fields(&csrf, "Pills", &[("0", "email"), ("45", "sms")], "preview");
    let mut edited: Vec<(String, String)> = edited;
    edited.push(("version".into(), "1".into()));
    let reply = post(&mut ada, &path, &edited).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.contains("Tier 2 · after 45 min") && !reply.text.contains("after 30 min"), "{}", reply.text);
    assert_eq!(stored_delays(&app, &id).await, "0,30");

    // Save it; a second save from the same (now stale) version is refused above the form.
    for (key, value) in &mut edited {
        if key == "op" {
            *value = "save".into();
        }
    }
    let reply = post(&mut ada, &path, &edited).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    assert_eq!(stored_delays(&app, &id).await, "0,45");
    let reply = post(&mut ada, &path, &edited).await;
    assert_eq!(reply.status, 409);
    assert!(reply.text.contains("class=\"error banner\"") && reply.text.contains("changed meanwhile"));

    // The picture alone, as the script asks for it.
    let reply = ada.get("/profiles/picture?t0-delay=0&t0-channel=email&t1-delay=90&t1-channel=sms&repeat=1").await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.starts_with("\n<svg") || reply.text.trim_start().starts_with("<svg"), "{}", reply.text);
    assert!(reply.text.contains("Tier 2 · after 1 h 30 min") && reply.text.contains("(repeat 1)"));

    // In use by a reminder: delete is refused and says so on the profile's page.
    let reminder = ada
        .post(
            "/reminders",
            &[("csrf", &csrf), ("title", "pills"), ("kind", "daily"), ("daily_at", "21:00"), ("profile", &id)],
        )
        .await;
    assert_eq!(reminder.status, 303, "{}", reminder.text);
    let confirm = ada.get(&format!("{path}/delete")).await;
    assert!(confirm.status == 200 && confirm.text.contains("Delete “Pills”?"));
    let reply = ada.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply)), (303, path.clone()));
    assert!(ada.get(&path).await.text.contains("used by 1 reminder"));
    let reminder_id = location(&reminder).trim_start_matches("/reminders/").to_owned();
    crate::fixtures::exec(&app, &format!("DELETE FROM reminders WHERE id = '{reminder_id}'")).await;
    let reply = ada.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/profiles"));
    assert_eq!(scalar(&app, own).await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn presets_are_read_only_and_another_users_profile_is_the_404_page() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("profiles-ada@example.com", "UTC").await;
    let reply = post(&mut ada, "/profiles", &fields(&csrf, "Mine", &[("0", "email")], "save")).await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let path = location(&reply);

    // A preset shows read only, with a copy that starts a new profile; saving it is refused.
    let preset = ada.get(&format!("/profiles/{GENTLE}")).await;
    assert_eq!(preset.status, 200);
    assert!(preset.text.contains("<fieldset class=\"bare\" disabled>") && preset.text.contains("Copy it"));
    let copy = ada.get(&format!("/profiles/new?from={GENTLE}")).await;
    assert!(copy.status == 200 && copy.text.contains("value=\"My Gentle\""), "{}", copy.text);
    let reply = post(&mut ada, &format!("/profiles/{GENTLE}"), &fields(&csrf, "Mine", &[("0", "email")], "save")).await;
    assert_eq!(reply.status, 403);
    assert_eq!(ada.get(&format!("/profiles/{GENTLE}/delete")).await.status, 403);

    let mut bob = Visitor::new(&app);
    let bobs = bob.sign_up("profiles-bob@example.com", "UTC").await;
    for page in [path.clone(), format!("{path}/delete"), format!("/profiles/new?from={}", &path[10..])] {
        let reply = bob.get(&page).await;
        assert_eq!(reply.status, 404, "{page}");
        assert!(reply.text.contains("Page not found"), "the 404 page for {page}");
    }
    let reply = post(&mut bob, &path, &fields(&bobs, "Stolen", &[("0", "sms")], "save")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(bob.post(&format!("{path}/delete"), &[("csrf", &bobs)]).await.status, 404);
    assert_eq!(bob.get("/profiles/not-an-id").await.status, 404);
    let name = format!("SELECT name AS value FROM escalation_profiles WHERE id = '{}'", &path[10..]);
    assert_eq!(scalar(&app, &name).await, "Mine", "unchanged");
    assert!(!bob.get("/profiles").await.text.contains("Mine"), "not in another user's list");

    // Without a session the picture is a way to sign in, not a picture.
    let mut stranger = Visitor::new(&app);
    let reply = stranger.get("/profiles/picture?t0-delay=0").await;
    assert_eq!(reply.status, 303);
    assert!(location(&reply).starts_with("/login"));
    // A form without this session's token changes nothing.
    let reply = post(&mut ada, &path, &fields("wrong", "Changed", &[("0", "email")], "save")).await;
    assert_eq!(reply.status, 403);
}
