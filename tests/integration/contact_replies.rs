//! What a trusted contact can do through an old or forwarded message: an email reply to a contact's
//! notification speaks for the contact only ("got it"), never for the owner, whatever its `From` says; the
//! "I've got it" link expires after a week and dies with the contact's opt-out.

use escalating_reminders::notifications::got_it_links::GotItLinks;
use escalating_reminders::notifications::reply_address::ReplyAddresses;

use crate::common::TestApp;
use crate::fixtures::{exec, in_hours, once_reminder, scalar, user, user_id};
use crate::reminder_actions::fire;
use crate::watchers::{SECRET, post_email, state_of};

/// An owner (Ada) with an accepted contact (Carol) and a fired reminder whose episode has a sent email to
/// the owner and a sent email to Carol.
struct Episode {
    app: TestApp,
    outbox: std::path::PathBuf,
    reminder: String,
    contact: String,
    /// The delivery that reached the owner, and the one that reached Carol.
    owners: String,
    carols: String,
}

async fn episode() -> Episode {
    let outbox = std::env::temp_dir().join(format!("er-contact-replies-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(&[("INBOUND_EMAIL_SECRET", SECRET), ("EMAIL_OUTBOX_DIR", &dir)]).await;
    let token = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &token).await;
    let reminder = once_reminder(&app, &token, "call mum").await;
    let escalation = fire(&app, &reminder, &owner, &in_hours(0)).await;
    let owners = scalar(
        &app,
        &format!("SELECT id::text AS value FROM deliveries WHERE escalation_id = '{escalation}' AND status = 'sent'"),
    )
    .await;
    let contact = scalar(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, email, consent_status, accepted_at)
             VALUES ('{owner}', 'Carol', 'carol@example.net', 'accepted', now()) RETURNING id::text AS value"
        ),
    )
    .await;
    let carols = scalar(
        &app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                     channel, status, sent_at)
             VALUES ('{escalation}', '{reminder}', '{owner}', 2, 0, 'contact', '{contact}', 'email', 'sent', now())
             RETURNING id::text AS value"
        ),
    )
    .await;
    Episode { app, outbox, reminder, contact, owners, carols }
}

impl Episode {
    /// The Reply-To of the notification email of `delivery`.
    fn reply_to(&self, delivery: &str) -> String {
        ReplyAddresses::for_state(&self.app.state).address(delivery.parse().unwrap())
    }

    /// Posts an inbound email replying to `delivery`; returns its one result.
    async fn reply(&self, delivery: &str, from: &str, text: &str) -> serde_json::Value {
        let to = self.reply_to(delivery);
        let fields = [("from", from), ("to", to.as_str()), ("subject", "Re: call mum"), ("text", text)];
        let posted = post_email(&self.app, SECRET, &fields).await;
        let results = posted.data(200)["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 1, "{}", posted.text);
        results[0].clone()
    }

    async fn episode_status(&self) -> String {
        let sql = format!(
            "SELECT status || '|' || coalesce(acted_by, '-') AS value FROM escalations WHERE reminder_id = '{}'",
            self.reminder
        );
        scalar(&self.app, &sql).await
    }

    /// Every email sent to `address`, soft line breaks joined.
    fn mails_to(&self, address: &str) -> Vec<String> {
        crate::contacts::mails_to(&self.outbox, address)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contacts_email_reply_can_only_say_got_it_and_the_owners_done_still_completes() {
    let ep = episode().await;
    // Carol replies "done" (claiming to be the owner in From): refused, and Carol is told what she can do.
    let done = ep.reply(&ep.carols, "Ada <ada@example.com>", "done\n\n> Ada has not reacted to: call mum").await;
    assert_eq!((done["acted"].as_bool(), done["action"].as_str()), (Some(false), Some("complete")), "{done}");
    assert_eq!(state_of(&ep.app, &ep.reminder).await, "active/v1");
    assert_eq!(ep.episode_status().await, "active|-");
    let snooze = ep.reply(&ep.carols, "carol@example.net", "snooze 2 days").await;
    assert_eq!(snooze["acted"], false, "{snooze}");
    assert_eq!(state_of(&ep.app, &ep.reminder).await, "active/v1");
    let refusals = ep.mails_to("carol@example.net");
    assert_eq!(refusals.len(), 2, "each refusal answers the contact: {refusals:?}");
    assert!(
        refusals.iter().all(|m| m.contains("Subject: Your reply was not applied")
            && m.contains("Only the reminder's owner")
            && m.contains("\"got it\"")),
        "{refusals:?}"
    );
    assert!(ep.mails_to("ada@example.com").is_empty(), "the owner is not bothered by a refused contact reply");

    // "Got it" works as Carol's link does: acknowledged for everyone with Carol as the actor, the owner told.
    let got_it = ep.reply(&ep.carols, "carol@example.net", "Got it!").await;
    assert_eq!((got_it["acted"].as_bool(), got_it["action"].as_str()), (Some(true), Some("acknowledge")));
    assert_eq!(ep.episode_status().await, format!("acknowledged|contact:{}", ep.contact));
    assert!(ep.mails_to("ada@example.com").iter().any(|m| m.contains("Subject: Carol has got it: call mum")));
    assert!(ep.mails_to("carol@example.net").iter().any(|m| m.contains("Subject: Your reply was applied")));

    // The owner's own "done" to their own notification still completes.
    let owners = ep.reply(&ep.owners, "ada@example.com", "done").await;
    assert_eq!(owners["acted"], true, "{owners}");
    assert_eq!(state_of(&ep.app, &ep.reminder).await, "completed/v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_got_it_link_expires_after_a_week() {
    let ep = episode().await;
    let link = GotItLinks::new(&ep.app.state.config).link(ep.carols.parse().unwrap());
    let path = link.replace("http://127.0.0.1:3801", "");
    assert_eq!(ep.app.get(&path, None).await.status, 200, "a fresh link shows its page");
    ep.app.state.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    let page = ep.app.get(&path, None).await;
    page.assert_error(404, "NOT_FOUND");
    assert!(page.body["error"]["message"].as_str().unwrap().contains("expired"), "{}", page.text);
    let pressed = ep.app.client.post(ep.app.url(&path)).send().await.unwrap();
    crate::common::Reply::from(pressed).await.assert_error(404, "NOT_FOUND");
    // A reply to the same week-old message is too old as well.
    let late = ep.reply(&ep.carols, "carol@example.net", "got it").await;
    assert_eq!(late["acted"], false, "{late}");
    assert_eq!(ep.episode_status().await, "active|-", "nothing acknowledged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_who_opted_out_cannot_act_through_an_old_link_or_reply() {
    let ep = episode().await;
    let link = GotItLinks::new(&ep.app.state.config).link(ep.carols.parse().unwrap());
    let path = link.replace("http://127.0.0.1:3801", "");
    // Carol opts out by replying "unsubscribe" (the List-Unsubscribe mailto of her notification).
    let to = ep.reply_to(&ep.carols);
    let fields = [("from", "carol@example.net"), ("to", to.as_str()), ("subject", "unsubscribe"), ("text", "")];
    let stopped = post_email(&ep.app, SECRET, &fields).await;
    assert_eq!(stopped.data(200)["results"][0]["action"], "unsubscribe", "{}", stopped.text);
    let consent = format!("SELECT consent_status AS value FROM trusted_contacts WHERE id = '{}'", ep.contact);
    assert_eq!(scalar(&ep.app, &consent).await, "opted_out");

    let pressed = ep.app.client.post(ep.app.url(&path)).send().await.unwrap();
    crate::common::Reply::from(pressed).await.assert_error(404, "NOT_FOUND");
    let replied = ep.reply(&ep.carols, "carol@example.net", "got it").await;
    assert_eq!(replied["acted"], false, "{replied}");
    assert_eq!(ep.episode_status().await, "active|-", "nothing acknowledged");
    assert!(ep.mails_to("carol@example.net").is_empty(), "an opted-out contact gets no mail at all");

    // Back in (a new consent), the same link works again within its week.
    exec(&ep.app, &format!("UPDATE trusted_contacts SET consent_status = 'accepted' WHERE id = '{}'", ep.contact))
        .await;
    let pressed = ep.app.client.post(ep.app.url(&path)).header("content-type", "application/x-www-form-urlencoded");
    assert_eq!(pressed.send().await.unwrap().status(), 200);
    assert!(ep.episode_status().await.starts_with("acknowledged|contact:"));
}
