//! Family sharing (issue 22 item 5) across real accounts: an owner on FAMILY invites by email, the invited
//! account accepts, the owner shares a reminder; the member sees it, acknowledges and completes it, is named
//! in a tier and reached at their address, and every action names the member. Leaving ends every share.

use std::path::PathBuf;
use std::time::Duration;

use escalating_reminders::notifications::links::LinkAction;
use escalating_reminders::notifications::reply_address::ReplyAddresses;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::contacts::mails_to;
use crate::engine::eventually;
use crate::fixtures::{create, once_body, scalar, soon, user, user_id};
use crate::watchers::post_email;

struct Family {
    app: TestApp,
    outbox: PathBuf,
    owner: String,
    member: String,
    member_id: String,
}

pub async fn spawn(roles: &str, tier: &str, limits: &str) -> (TestApp, PathBuf) {
    let outbox = std::env::temp_dir().join(format!("er-family-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let env = [
        ("DEFAULT_TIER", tier),
        ("EMAIL_OUTBOX_DIR", dir.as_str()),
        ("TIER_LIMITS", limits),
        ("INBOUND_EMAIL_SECRET", crate::watchers::SECRET),
    ];
    let app = TestApp::spawn_roles(roles, &env).await;
    (app, outbox)
}

/// The token of the newest family invitation mailed to `address`.
pub fn invitation_token(outbox: &std::path::Path, address: &str) -> String {
    let mails = mails_to(outbox, address);
    let invitation = mails.iter().rev().find(|mail| mail.contains("/family/join/")).expect("an invitation mail");
    let start = invitation.find("/family/join/").expect("link") + "/family/join/".len();
    invitation[start..].split_whitespace().next().expect("token").to_owned()
}

/// Ada owns a family; Sam (sam@example.com) has joined it.
async fn family(roles: &str) -> Family {
    let (app, outbox) = spawn(roles, "FAMILY", "").await;
    let owner = user(&app, "ada@example.com").await;
    let member = user(&app, "sam@example.com").await;
    let invited = app.post("/v1/family/members", json!({"email": "Sam@Example.com"}), Some(&owner)).await;
    assert_eq!(invited.data(201)["status"], "invited");
    assert_eq!(invited.body["data"]["email"], "sam@example.com");
    let token = invitation_token(&outbox, "sam@example.com");
    let joined = app.post("/v1/family/accept", json!({"token": token}), Some(&member)).await;
    assert_eq!(joined.data(200)["ownerName"], "Ada");
    let member_id = user_id(&app, &member).await;
    Family { app, outbox, owner, member, member_id }
}

async fn share(f: &Family, reminder: &str, members: Value) -> Value {
    let path = format!("/v1/reminders/{reminder}/shares");
    f.app.call(Method::PUT, &path, Some(json!({"memberIds": members})), Some(&f.owner)).await.data(200).clone()
}

async fn acted_by(app: &TestApp, reminder: &str) -> String {
    scalar(app, &format!("SELECT coalesce(acted_by, '') AS value FROM escalations WHERE reminder_id = '{reminder}'"))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_sees_a_shared_reminder_and_acts_on_it_as_themselves() {
    let f = family("all").await;
    let app = &f.app;
    let group = app.get("/v1/family", Some(&f.owner)).await;
    let group = group.data(200);
    assert_eq!(group["limit"], 5);
    assert_eq!(group["members"][0]["status"], "active");
    assert_eq!(group["members"][0]["memberId"], f.member_id.as_str());

    let body = json!({"title": "Pills for Grandpa", "escalationProfileId": crate::fixtures::GENTLE,
        "schedule": {"type": "once", "triggerAt": soon(app, 2)}});
    let reminder = create(app, &f.owner, body).await["id"].as_str().expect("id").to_owned();
    let shares = share(&f, &reminder, json!([f.member_id])).await;
    assert_eq!(shares[0]["email"], "sam@example.com");

    let seen = app.get("/v1/shared-reminders", Some(&f.member)).await;
    let seen = seen.data(200);
    assert_eq!(seen.as_array().map(Vec::len), Some(1));
    assert_eq!(seen[0]["title"], "Pills for Grandpa");
    assert_eq!(seen[0]["ownerName"], "Ada");
    // Shared is not owned: it is not among the member's reminders (nor on their quota), and the member cannot
    // open, change or share it through the owner's routes.
    assert_eq!(app.get("/v1/reminders", Some(&f.member)).await.data(200), &json!([]));
    app.get(&format!("/v1/reminders/{reminder}"), Some(&f.member)).await.assert_error(404, "NOT_FOUND");
    let path = format!("/v1/reminders/{reminder}/shares");
    app.call(Method::PUT, &path, Some(json!({"memberIds": []})), Some(&f.member)).await.assert_error(404, "NOT_FOUND");
    // A stranger sees nothing and cannot act.
    let stranger = user(app, "eve@example.com").await;
    assert_eq!(app.get("/v1/shared-reminders", Some(&stranger)).await.data(200), &json!([]));
    let ack = format!("/v1/shared-reminders/{reminder}/acknowledge");
    app.post(&ack, json!({}), Some(&stranger)).await.assert_error(404, "NOT_FOUND");

    eventually(Duration::from_secs(20), "the reminder fires", || async {
        scalar(app, &format!("SELECT count(*)::text AS value FROM escalations WHERE reminder_id = '{reminder}'")).await
            == "1"
    })
    .await;
    let acknowledged = app.post(&ack, json!({"note": "on it"}), Some(&f.member)).await;
    assert_eq!(acknowledged.data(200)["escalationStatus"], "acknowledged");
    assert_eq!(acted_by(app, &reminder).await, format!("member:{}", f.member_id));
    let complete = format!("/v1/shared-reminders/{reminder}/complete");
    let completed = app.post(&complete, json!({}), Some(&f.member)).await;
    assert_eq!(completed.data(200)["status"], "completed");
    assert_eq!(acted_by(app, &reminder).await, format!("member:{}", f.member_id));
    let logged = scalar(
        app,
        "SELECT string_agg(kind || ' ' || (data->>'actor'), ', ' ORDER BY created_at) AS value FROM event_logs \
         WHERE kind IN ('reminder.acknowledged', 'reminder.completed')",
    )
    .await;
    let expected = format!("reminder.acknowledged member:{0}, reminder.completed member:{0}", f.member_id);
    assert_eq!(logged, expected, "the event log names the member");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_named_in_a_tier_is_emailed_and_their_link_acts_as_them() {
    let f = family("all").await;
    let app = &f.app;
    let profile = json!({"name": "Family watch", "repeat": 0, "ackWindowMinutes": 60,
        "tiers": [{"tierNumber": 1, "delayMinutes": 0, "familyMemberIds": [f.member_id]}]});
    let profile = app.post("/v1/escalation-profiles", profile, Some(&f.owner)).await;
    let profile = profile.data(201)["id"].as_str().expect("profile id").to_owned();
    let mut body = once_body("Water the plants");
    body["escalationProfileId"] = json!(profile);
    // Late enough that the preview below still sees the occurrence to come.
    body["schedule"]["triggerAt"] = json!(soon(app, 4));
    let reminder = create(app, &f.owner, body).await["id"].as_str().expect("id").to_owned();
    // The preview says who the tier reaches: nobody until the reminder is shared with the member.
    let preview = format!("/v1/reminders/{reminder}/preview");
    let before = app.get(&preview, Some(&f.owner)).await;
    let reason = before.data(200)["skipped"][0]["reason"].as_str().unwrap_or_default().to_owned();
    assert_eq!(reason, "this reminder is not shared with Ada", "{}", before.text);
    share(&f, &reminder, json!([f.member_id])).await;
    let after = app.get(&preview, Some(&f.owner)).await;
    let reached = &after.data(200)["steps"][0]["deliveries"][0];
    assert_eq!((reached["recipientKind"].as_str(), reached["channel"].as_str()), (Some("member"), Some("email")));

    eventually(Duration::from_secs(20), "the member's notification is mailed", || async {
        mails_to(&f.outbox, "sam@example.com").iter().any(|mail| mail.contains("Water the plants"))
    })
    .await;
    let mails = mails_to(&f.outbox, "sam@example.com");
    let mail = mails.iter().find(|mail| mail.contains("Water the plants")).expect("notification");
    assert!(mail.contains("Ada shared this reminder with you"), "{mail}");
    assert!(!mail.contains("Snooze 1 h"), "a member does not snooze the owner's reminder: {mail}");
    let kind = scalar(app, "SELECT target_kind || ':' || target_id AS value FROM deliveries WHERE tier = 1").await;
    assert_eq!(kind, format!("member:{}", f.member_id));

    // A reply from the member speaks for the member: no snooze for the owner; the answer goes to the member.
    let delivery = scalar(app, "SELECT id::text AS value FROM deliveries WHERE target_kind = 'member'").await;
    let reply_to = ReplyAddresses::for_state(&app.state).address(delivery.parse().expect("delivery id"));
    let reply = |text: &'static str| {
        let to = reply_to.clone();
        async move {
            let fields = [("from", "sam@example.com"), ("to", to.as_str()), ("subject", "Re: plants"), ("text", text)];
            let posted = post_email(app, crate::watchers::SECRET, &fields).await;
            posted.data(200)["results"][0].clone()
        }
    };
    let snoozed = reply("snooze 2h").await;
    assert_eq!(snoozed["acted"], false, "{snoozed}");
    let answers = mails_to(&f.outbox, "sam@example.com");
    assert!(answers.iter().any(|m| m.contains("Only the reminder's owner can snooze it")), "the member is told");
    assert_eq!(acted_by(app, &reminder).await, "", "nothing changed");

    // The snooze link (minted, not shown to a member) is refused, and leaves the link unused.
    let links = escalating_reminders::notifications::links::LinkSigner::new(&app.state.config);
    let snooze = links.link(delivery.parse().expect("delivery id"), LinkAction::Snooze, chrono::Utc::now());
    let snooze = url::Url::parse(&snooze).expect("snooze link");
    let refused = app.client.post(app.url(snooze.path())).header("accept", "text/html").send().await.expect("POST");
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.expect("page").contains("owner can snooze it."));
    assert_eq!(scalar(app, "SELECT status AS value FROM reminders").await, "active", "not snoozed");

    let start = mail.find("Acknowledge: http://127.0.0.1:3801").expect("acknowledge link")
        + "Acknowledge: http://127.0.0.1:3801".len();
    let link = mail[start..].split_whitespace().next().expect("link");
    let acted = app.client.post(app.url(link)).header("accept", "text/html").send().await.expect("POST link");
    assert_eq!(acted.status(), 200);
    assert_eq!(acted_by(app, &reminder).await, format!("member:{}", f.member_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_or_removal_ends_every_share_and_tiers_name_only_members() {
    let f = family("api").await;
    let app = &f.app;
    let reminder = create(app, &f.owner, once_body("Bins")).await["id"].as_str().expect("id").to_owned();
    share(&f, &reminder, json!([f.member_id])).await;
    let stranger = user(app, "eve@example.com").await;
    let eve = user_id(app, &stranger).await;

    // Only members can be shared with, or named in a tier.
    let path = format!("/v1/reminders/{reminder}/shares");
    let refused = app.call(Method::PUT, &path, Some(json!({"memberIds": [eve]})), Some(&f.owner)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(refused.body["error"]["details"][0]["field"], "memberIds[0]");
    let profile = json!({"name": "Nope", "repeat": 0, "ackWindowMinutes": 60,
        "tiers": [{"tierNumber": 1, "delayMinutes": 0, "familyMemberIds": [eve]}]});
    let refused = app.post("/v1/escalation-profiles", profile, Some(&f.owner)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(refused.body["error"]["details"][0]["field"], "tiers[0].familyMemberIds[0]");

    assert_eq!(app.post("/v1/family/leave", json!({}), Some(&f.member)).await.status, 204);
    assert_eq!(app.get("/v1/shared-reminders", Some(&f.member)).await.data(200), &json!([]));
    assert_eq!(app.get(&path, Some(&f.owner)).await.data(200), &json!([]), "the share ended with the membership");
    app.post("/v1/family/leave", json!({}), Some(&f.member)).await.assert_error(404, "NOT_FOUND");

    // Invited again and accepted, then removed by the owner: the same.
    app.post("/v1/family/members", json!({"email": "sam@example.com"}), Some(&f.owner)).await.data(201);
    let token = invitation_token(&f.outbox, "sam@example.com");
    app.post("/v1/family/accept", json!({"token": token}), Some(&f.member)).await.data(200);
    share(&f, &reminder, json!([f.member_id])).await;
    let group = app.get("/v1/family", Some(&f.owner)).await;
    let id = group.data(200)["members"][0]["id"].as_str().expect("invitation id").to_owned();
    let removed = app.call(Method::DELETE, &format!("/v1/family/members/{id}"), None, Some(&f.owner)).await;
    assert_eq!(removed.status, 204);
    assert_eq!(app.get("/v1/shared-reminders", Some(&f.member)).await.data(200), &json!([]));
    let member_of = app.get("/v1/family", Some(&f.member)).await;
    assert_eq!(member_of.data(200)["memberOf"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn invitations_follow_the_plan_and_work_once_for_their_address() {
    let (app, outbox) = spawn("api", "FAMILY", r#"{"FAMILY":{"familyMembers":1}}"#).await;
    let owner = user(&app, "ada@example.com").await;
    let sam = user(&app, "sam@example.com").await;
    let eve = user(&app, "eve@example.com").await;

    app.post("/v1/family/members", json!({"email": "ada@example.com"}), Some(&owner))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.post("/v1/family/members", json!({"email": "not an address"}), Some(&owner))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.post("/v1/family/members", json!({"email": "sam@example.com"}), Some(&owner)).await.data(201);
    // Asking again for the same address sends a new link and takes no second place; another address does.
    app.post("/v1/family/members", json!({"email": "sam@example.com"}), Some(&owner)).await.data(201);
    app.post("/v1/family/members", json!({"email": "eve@example.com"}), Some(&owner))
        .await
        .assert_error(403, "FORBIDDEN");
    let token = invitation_token(&outbox, "sam@example.com");

    // Only the account of the invited address accepts, once.
    let wrong = app.post("/v1/family/accept", json!({"token": token}), Some(&eve)).await;
    wrong.assert_error(403, "FORBIDDEN");
    app.post("/v1/family/accept", json!({"token": token}), Some(&sam)).await.data(200);
    let again = app.post("/v1/family/accept", json!({"token": token}), Some(&sam)).await;
    again.assert_error(422, "UNPROCESSABLE_ENTITY");
    app.post("/v1/family/accept", json!({"token": "erfm_made-up"}), Some(&eve))
        .await
        .assert_error(422, "UNPROCESSABLE_ENTITY");
    app.post("/v1/family/accept", json!({"token": 7}), Some(&eve)).await.assert_error(400, "VALIDATION_ERROR");

    // A plan without family places cannot invite.
    let (free, _) = spawn("api", "FREE", "").await;
    let lonely = user(&free, "ada@example.com").await;
    let refused = free.post("/v1/family/members", json!({"email": "sam@example.com"}), Some(&lonely)).await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains("FAMILY")), "{}", refused.text);
}
