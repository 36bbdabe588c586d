//! Trusted contacts: the feature flag, the tier's limit, the emailed invitation and its signed links
//! (accept, decline, opt out), the preview showing who will be reached, and tenancy.

use escalating_reminders::contacts::consent::{TextedYes, accept_by_phone};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp};
use crate::fixtures::{create, in_hours, soon, user};

/// An app on PRO (10 contacts) with its own outbox folder, so the test reads its own invitations.
pub async fn spawn(tier: &str, social: &str) -> (TestApp, std::path::PathBuf) {
    let outbox = std::env::temp_dir().join(format!("er-contacts-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(&[
        ("DEFAULT_TIER", tier),
        ("FEATURE_SOCIAL_ESCALATION", social),
        ("EMAIL_OUTBOX_DIR", &dir),
    ])
    .await;
    (app, outbox)
}

/// The single email sent to `address`, from the outbox.
pub fn email_to(outbox: &std::path::Path, address: &str) -> String {
    let mut to = mails_to(outbox, address);
    assert_eq!(to.len(), 1, "one email to {address}");
    to.remove(0)
}

/// Every email sent to `address`, from the outbox (soft line breaks undone), oldest first.
pub fn mails_to(outbox: &std::path::Path, address: &str) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(outbox)
        .map(|dir| {
            dir.flatten().filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path()))).collect()
        })
        .unwrap_or_default();
    // Written one after another: the modification time orders them (the name breaks ties; notices are v7 ids).
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| std::fs::read_to_string(path).ok())
        .map(|mail| mail.replace("=\r\n", ""))
        .filter(|mail| mail.contains(&format!("To: {address}\r\n")))
        .collect()
}

/// The path of the link in `mail` that starts with `prefix` (`/contacts/invitation/`).
pub fn link(mail: &str, prefix: &str) -> String {
    let start = mail.find(&format!("http://127.0.0.1:3801{prefix}")).expect("link in the email") + 21;
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

async fn form(app: &TestApp, path: &str, body: &str) -> Reply {
    let request = app.client.post(app.url(path)).header("content-type", "application/x-www-form-urlencoded");
    Reply::from(request.body(body.to_owned()).send().await.unwrap()).await
}

async fn contact(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/v1/trusted-contacts", body, Some(token)).await.data(201).clone()
}

/// A reminder whose only tier reaches every accepted contact at once: `body` with that profile. Returns its id.
async fn reminder_for_contacts(app: &TestApp, token: &str, mut body: Value) -> String {
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Ask family", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "includeTrustedContacts": true}]}),
            Some(token),
        )
        .await;
    body["escalationProfileId"] = profile.data(201)["id"].clone();
    create(app, token, body).await["id"].as_str().unwrap().to_owned()
}

async fn preview(app: &TestApp, token: &str, reminder: &str) -> (usize, String) {
    let reply = app.get(&format!("/v1/reminders/{reminder}/preview"), Some(token)).await;
    let data = reply.data(200);
    let reached = data["steps"][0]["deliveries"]
        .as_array()
        .map_or(0, |d| d.iter().filter(|d| d["recipientKind"] == "contact").count());
    (reached, data["skipped"].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn invitation_accept_and_opt_out_decide_who_is_reached() {
    let (app, outbox) = spawn("PRO", "true").await;
    let token = user(&app, "ada@example.com").await;
    let body = json!({"title": "pills", "schedule": {"type": "once", "triggerAt": in_hours(2)}});
    let reminder = reminder_for_contacts(&app, &token, body).await;
    let bob =
        contact(&app, &token, json!({"name": "Bob <b>", "email": "Bob@Example.com", "relationship": "brother"})).await;
    assert_eq!((bob["consentStatus"].as_str(), bob["email"].as_str()), (Some("pending"), Some("bob@example.com")));
    let (reached, skipped) = preview(&app, &token, &reminder).await;
    assert_eq!(reached, 0);
    assert!(skipped.contains("has not accepted (pending)"), "{skipped}");

    // The invitation carries both links; the page does not act, the POST does.
    let mail = email_to(&outbox, "bob@example.com");
    assert!(mail.contains("Subject: \"Ada\" asks you to be a trusted contact"), "{mail}");
    let (accept, stop) = (link(&mail, "/contacts/invitation/"), link(&mail, "/contacts/opt-out/"));
    let page = app.get(&accept, None).await;
    assert!(
        page.status == 200 && page.content_type().starts_with("text/html") && page.text.contains("Ada would like you")
    );
    let id = bob["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/trusted-contacts/{id}"), Some(&token)).await.data(200)["consentStatus"],
        "pending"
    );
    let accepted = form(&app, &accept, "decision=accept").await;
    assert!(accepted.status == 200 && accepted.text.contains("now a trusted contact"), "{}", accepted.text);
    let view = app.get(&format!("/v1/trusted-contacts/{id}"), Some(&token)).await;
    assert_eq!(view.data(200)["consentStatus"], "accepted");
    assert!(view.data(200)["acceptedAt"].is_string());
    assert_eq!(preview(&app, &token, &reminder).await.0, 1, "an accepted contact is reached");

    // A tampered link is not found; opting out is honoured at once and an old invitation cannot undo it.
    let tampered = format!("{}{}", &accept[..accept.len() - 1], if accept.ends_with('0') { "1" } else { "0" });
    form(&app, &tampered, "decision=accept").await.assert_error(404, "NOT_FOUND");
    assert!(app.get(&stop, None).await.text.contains("Stop all messages about Ada"));
    assert_eq!(form(&app, &stop, "").await.status, 200);
    assert_eq!(
        app.get(&format!("/v1/trusted-contacts/{id}"), Some(&token)).await.data(200)["consentStatus"],
        "opted_out"
    );
    assert!(form(&app, &accept, "decision=accept").await.text.contains("opted out"));
    let (reached, skipped) = preview(&app, &token, &reminder).await;
    assert_eq!(reached, 0);
    assert!(skipped.contains("opted_out"), "{skipped}");
}

#[tokio::test(flavor = "multi_thread")]
async fn decline_a_new_address_and_validation() {
    let (app, outbox) = spawn("PRO", "true").await;
    let token = user(&app, "ada@example.com").await;
    let carol = contact(&app, &token, json!({"name": "Carol", "email": "carol@example.com"})).await;
    let id = carol["id"].as_str().unwrap();
    let accept = link(&email_to(&outbox, "carol@example.com"), "/contacts/invitation/");
    assert!(form(&app, &accept, "decision=decline").await.text.contains("declined"));
    assert_eq!(
        app.get(&format!("/v1/trusted-contacts/{id}"), Some(&token)).await.data(200)["consentStatus"],
        "declined"
    );
    form(&app, &accept, "decision=maybe").await.assert_error(400, "VALIDATION_ERROR");

    // A new address must consent again: back to pending, a new invitation, the old link void.
    let moved = app
        .call(
            Method::PATCH,
            &format!("/v1/trusted-contacts/{id}"),
            Some(json!({"email": "carol@new.example"})),
            Some(&token),
        )
        .await;
    assert_eq!(moved.data(200)["consentStatus"], "pending");
    form(&app, &accept, "decision=accept").await.assert_error(404, "NOT_FOUND");
    let fresh = link(&email_to(&outbox, "carol@new.example"), "/contacts/invitation/");
    assert!(form(&app, &fresh, "decision=accept").await.text.contains("now a trusted contact"));

    for bad in [
        json!({"name": "No address"}),
        json!({"name": "", "email": "x@example.com"}),
        json!({"name": "X", "email": "not-an-address"}),
        json!({"name": "X", "phone": "0151 1234"}),
        json!({"name": "X", "email": "x@example.com", "age": 3}),
    ] {
        app.post("/v1/trusted-contacts", bad, Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
    }
    let texted = contact(&app, &token, json!({"name": "Dan", "phone": "+4915112345678"})).await;
    assert_eq!(texted["phone"], "+4915112345678");
    // Without Twilio the invitation was never texted, so a YES from that number (whoever holds it) accepts
    // nothing; the SMS tests cover a texted one.
    let mut conn = app.state.db.get().await.unwrap();
    let now = app.state.clock.now();
    assert_eq!(accept_by_phone(&mut conn, "+4915112345678", None, now).await.unwrap(), TextedYes::NoInvitation);
    let dan = app.get(&format!("/v1/trusted-contacts/{}", texted["id"].as_str().unwrap()), Some(&token)).await;
    assert_eq!(dan.data(200)["consentStatus"], "pending");
    assert_eq!(app.get("/v1/trusted-contacts", Some(&token)).await.data(200).as_array().unwrap().len(), 2);
    assert_eq!(app.call(Method::DELETE, &format!("/v1/trusted-contacts/{id}"), None, Some(&token)).await.status, 204);
    form(&app, &fresh, "decision=accept").await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tier_limits_contacts_at_its_boundary() {
    let (app, _) = spawn("PERSONAL", "true").await;
    let token = user(&app, "ada@example.com").await;
    for n in 0..2 {
        contact(&app, &token, json!({"name": format!("C{n}"), "email": format!("c{n}@example.com")})).await;
    }
    let third = app.post("/v1/trusted-contacts", json!({"name": "C3", "email": "c3@example.com"}), Some(&token)).await;
    third.assert_error(403, "FORBIDDEN");
    assert!(third.body["error"]["message"].as_str().unwrap().contains("PERSONAL tier allows 2"));

    let (free, _) = spawn("FREE", "true").await;
    let token = user(&free, "ada@example.com").await;
    free.post("/v1/trusted-contacts", json!({"name": "C", "email": "c@example.com"}), Some(&token))
        .await
        .assert_error(403, "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_feature_off_the_routes_are_not_found() {
    let (app, _) = spawn("PRO", "false").await;
    let token = user(&app, "ada@example.com").await;
    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::GET, "/v1/trusted-contacts".to_owned()),
        (Method::POST, "/v1/trusted-contacts".to_owned()),
        (Method::GET, format!("/v1/trusted-contacts/{id}")),
        (Method::DELETE, format!("/v1/trusted-contacts/{id}")),
        (Method::GET, format!("/contacts/opt-out/{}", "0".repeat(48))),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "C", "email": "c@example.com"}));
        app.call(method.clone(), &path, body, Some(&token)).await.assert_error(404, "NOT_FOUND");
    }
}

/// Counts rows matching a SQL condition on `deliveries`.
async fn deliveries_where(app: &TestApp, condition: &str) -> String {
    crate::fixtures::scalar(app, &format!("SELECT count(*)::text AS value FROM deliveries WHERE {condition}")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_contact_gets_the_limited_view_and_their_got_it_acknowledges_for_everyone() {
    let outbox = std::env::temp_dir().join(format!("er-contacts-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_roles("all", &[("DEFAULT_TIER", "PRO"), ("EMAIL_OUTBOX_DIR", &dir)]).await;
    let token = user(&app, "ada@example.com").await;
    let bob = contact(&app, &token, json!({"name": "Bob", "email": "bob@example.com"})).await;
    let accept = link(&email_to(&outbox, "bob@example.com"), "/contacts/invitation/");
    assert_eq!(form(&app, &accept, "decision=accept").await.status, 200);
    let body = json!({"title": "Take the pills", "description": "the blue ones, in the kitchen drawer",
        "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let reminder = reminder_for_contacts(&app, &token, body).await;
    crate::engine::eventually(std::time::Duration::from_secs(15), "the contact's delivery is sent", || async {
        deliveries_where(&app, "target_kind = 'contact' AND status = 'sent'").await == "1"
    })
    .await;

    // What reached Bob: whose reminder, its title and due time; never the description.
    let delivery =
        crate::fixtures::scalar(&app, "SELECT id::text AS value FROM deliveries WHERE target_kind = 'contact'").await;
    let payload = crate::fixtures::scalar(
        &app,
        &format!("SELECT payload::text AS value FROM deliveries WHERE id = '{delivery}'"),
    )
    .await;
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!((payload["ownerName"].as_str(), payload["title"].as_str()), (Some("Ada"), Some("Take the pills")));
    assert!(payload["dueAt"].is_string() && !payload.to_string().contains("kitchen drawer"), "{payload}");
    let sent = std::fs::read_to_string(outbox.join(format!("{delivery}.eml"))).unwrap();
    assert!(sent.contains("To: bob@example.com") && sent.contains("Take the pills") && !sent.contains("kitchen"));

    // "I've got it": the page does not act; the POST acknowledges the episode for everyone, once.
    let got_it = escalating_reminders::notifications::got_it_links::GotItLinks::new(&app.state.config)
        .link(delivery.parse().unwrap());
    let path = got_it.replace("http://127.0.0.1:3801", "");
    assert!(app.get(&path, None).await.text.contains("Take the pills"));
    let episode =
        || crate::fixtures::scalar(&app, "SELECT status || '|' || coalesce(acted_by, '-') AS value FROM escalations");
    assert_eq!(episode().await, "active|-");
    assert!(form(&app, &path, "").await.text.contains("they have been told"));
    assert_eq!(episode().await, format!("acknowledged|contact:{}", bob["id"].as_str().unwrap()));
    let told = email_to(&outbox, "ada@example.com");
    assert!(told.contains("Subject: Bob has got it: Take the pills"), "{told}");
    assert!(form(&app, &path, "").await.text.contains("already taken care of"));
    let tampered = format!("{}{}", &path[..path.len() - 1], if path.ends_with('0') { "1" } else { "0" });
    form(&app, &tampered, "").await.assert_error(404, "NOT_FOUND");
    let log = app.get(&format!("/v1/reminders/{reminder}/escalations"), Some(&token)).await;
    assert_eq!(log.data(200)[0]["status"], "acknowledged");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_feature_off_no_contact_tier_fires() {
    let app = TestApp::spawn_roles("all", &[("DEFAULT_TIER", "PRO"), ("FEATURE_SOCIAL_ESCALATION", "false")]).await;
    let token = user(&app, "ada@example.com").await;
    let owner = crate::fixtures::user_id(&app, &token).await;
    crate::fixtures::exec(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, email, consent_status, accepted_at) \
             VALUES ('{owner}', 'Bob', 'bob@example.com', 'accepted', now())"
        ),
    )
    .await;
    // A few seconds ahead: `soon` keeps whole seconds, and a loaded machine takes a while to send the request.
    let body = json!({"title": "pills", "schedule": {"type": "once", "triggerAt": soon(&app, 3)}});
    reminder_for_contacts(&app, &token, body).await;
    crate::engine::eventually(std::time::Duration::from_secs(15), "the reminder fires", || async {
        crate::fixtures::scalar(&app, "SELECT count(*)::text AS value FROM escalations").await == "1"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(deliveries_where(&app, "target_kind = 'contact'").await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_who_declines_frees_the_slot_of_one_paused_by_a_downgrade() {
    let outbox = std::env::temp_dir().join(format!("er-contacts-{}", uuid::Uuid::new_v4().simple()));
    let app = TestApp::spawn_with(&[
        ("DEFAULT_TIER", "PERSONAL"),
        ("TIER_LIMITS", r#"{"FREE": {"trustedContacts": 1}}"#),
        ("EMAIL_OUTBOX_DIR", &outbox.to_string_lossy()),
    ])
    .await;
    let token = user(&app, "ada@example.com").await;
    contact(&app, &token, json!({"name": "Older", "email": "older@example.com"})).await;
    contact(&app, &token, json!({"name": "Newer", "email": "newer@example.com"})).await;
    let owner = crate::fixtures::user_id(&app, &token).await.parse().unwrap();
    crate::fixtures::override_tier(&app, owner, reminder_core::tiers::Tier::Free).await;
    let paused = || async {
        let list = app.get("/v1/trusted-contacts", Some(&token)).await.data(200).as_array().unwrap().clone();
        list.iter().filter(|c| !c["pausedReason"].is_null()).map(|c| c["name"].to_string()).collect::<Vec<_>>()
    };
    assert_eq!(paused().await, ["\"Newer\""], "FREE here allows one contact: the newer one pauses");

    let decline = link(&email_to(&outbox, "older@example.com"), "/contacts/invitation/");
    assert_eq!(form(&app, &decline, "decision=decline").await.status, 200);
    assert!(paused().await.is_empty(), "the declined contact's slot lets the paused one be asked again");
}

/// How many emails went to `address`, from the outbox.
pub fn emails_to(outbox: &std::path::Path, address: &str) -> usize {
    mails_to(outbox, address).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_has_their_own_zone_and_quiet_hours() {
    let (app, outbox) = spawn("PRO", "true").await;
    let token = user(&app, "ada@example.com").await;
    let eve = contact(
        &app,
        &token,
        json!({"name": "Eve", "email": "eve@example.com", "timezone": "America/New_York",
               "quietHours": {"start": "22:00", "end": "07:30"}}),
    )
    .await;
    assert_eq!(eve["timezone"], "America/New_York");
    assert_eq!(eve["quietHours"], json!({"start": "22:00", "end": "07:30"}));
    let id = eve["id"].as_str().unwrap();
    let path = format!("/v1/trusted-contacts/{id}");
    let read = app.get(&path, Some(&token)).await;
    assert_eq!(
        (&read.data(200)["timezone"], &read.data(200)["quietHours"]["end"]),
        (&json!("America/New_York"), &json!("07:30"))
    );
    // Without them, a contact follows the owner: both null.
    let fay = contact(&app, &token, json!({"name": "Fay", "email": "fay@example.com"})).await;
    assert_eq!((fay["timezone"].clone(), fay["quietHours"].clone()), (Value::Null, Value::Null));
    assert_eq!(emails_to(&outbox, "eve@example.com"), 1);

    // Changing only the zone or the quiet hours is no new address: no new invitation, consent unchanged.
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(body), Some(&token));
    let moved = patch(json!({"timezone": "Asia/Tokyo", "quietHours": {"start": "23:00", "end": "06:00"}})).await;
    assert_eq!(moved.data(200)["timezone"], "Asia/Tokyo");
    assert_eq!(moved.data(200)["quietHours"], json!({"start": "23:00", "end": "06:00"}));
    assert_eq!(moved.data(200)["consentStatus"], "pending");
    assert_eq!(moved.data(200)["invitedAt"], eve["invitedAt"]);
    assert_eq!(emails_to(&outbox, "eve@example.com"), 1, "no second invitation");

    // Bad input is refused in the envelope, naming the field, and changes nothing.
    for (bad, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"quietHours": {"start": "22:00", "end": "22:00"}}), "quietHours"),
        (json!({"quietHours": {"start": "25:00", "end": "07:00"}}), "quietHours.start"),
    ] {
        let reply = patch(bad.clone()).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(reply.body["error"]["details"].to_string().contains(&format!("\"{field}\"")), "{}", reply.text);
        let mut create = bad;
        create["name"] = json!("Gus");
        create["email"] = json!("gus@example.com");
        let reply = app.post("/v1/trusted-contacts", create, Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(reply.body["error"]["details"].to_string().contains(&format!("\"{field}\"")), "{}", reply.text);
    }
    assert_eq!(emails_to(&outbox, "gus@example.com"), 0);
    assert_eq!(app.get(&path, Some(&token)).await.data(200)["timezone"], "Asia/Tokyo");

    // null returns both to the owner's.
    let cleared = patch(json!({"timezone": null, "quietHours": null})).await;
    assert_eq!(
        (cleared.data(200)["timezone"].clone(), cleared.data(200)["quietHours"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(app.get(&path, Some(&token)).await.data(200)["quietHours"], Value::Null);
    assert_eq!(emails_to(&outbox, "eve@example.com"), 1, "still no second invitation");
}
