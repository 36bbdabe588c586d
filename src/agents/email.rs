//! Email notifications: multipart text + HTML from the templates, `Message-ID` from the delivery id (a
//! retry is recognisably the same message), a Reply-To that names the delivery so a reply can act, action
//! links, and `List-Unsubscribe` (one click, RFC 8058). Sent through the shared [`Mailer`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use serde_json::json;

use super::{Channel, Job, Outcome, Recipient};
use crate::mailer::{MailError, Mailer};
use crate::notifications::links::{LinkAction, LinkSigner};
use crate::notifications::reply_address::ReplyAddresses;
use crate::notifications::templates;

pub struct EmailChannel {
    mailer: Arc<Mailer>,
    links: LinkSigner,
    replies: ReplyAddresses,
    got_it: crate::notifications::got_it_links::GotItLinks,
}

impl EmailChannel {
    pub fn new(config: &crate::config::Config, mailer: Arc<Mailer>) -> Self {
        let replies = ReplyAddresses::new(config, mailer.from());
        let got_it = crate::notifications::got_it_links::GotItLinks::new(config);
        EmailChannel { mailer, links: LinkSigner::new(config), replies, got_it }
    }

    /// The message for `job` to `to`.
    fn message(&self, job: &Job, to: Mailbox, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Message> {
        let p = &job.payload;
        let title = p["title"].as_str().unwrap_or("Reminder");
        let tier = p["tier"].as_u64().unwrap_or(1);
        let (subject, heading) = match p["type"].as_str() {
            Some("reminder.escalated") => {
                (format!("Still waiting: {title}"), format!("Reminder, tier {tier}: nobody has reacted yet"))
            }
            Some("test") => (format!("Test: {title}"), "A test notification from Escalating Reminders".to_owned()),
            _ => (format!("Reminder: {title}"), "Reminder".to_owned()),
        };
        let contact = p["audience"] == "contact";
        // A family member acts on the owner's reminder with the owner's links (recorded as the member), but
        // does not snooze it for the owner.
        let member = p["audience"] == "member";
        let links = self.links.for_delivery(job.delivery_id, &job.payload, now);
        // Only a real delivery can be unsubscribed from; a test send has no row to act on.
        let unsubscribe = links.as_ref().map(|_| self.links.link(job.delivery_id, LinkAction::Unsubscribe, now));
        // A trusted contact acts for everyone with one link ("I've got it": acknowledged, the contact recorded
        // as the actor, the owner told), never with the owner's done / snooze links.
        let (links, got_it) = match (contact, links) {
            (true, Some(_)) => (None, Some(self.got_it.link(job.delivery_id))),
            (_, links) => (links, None),
        };
        let due_at = p["dueAt"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&chrono::Utc).format("%a %-d %b %Y %H:%M UTC").to_string());
        let context = json!({
            "title": title,
            "heading": heading,
            "due_at": due_at,
            "contact": contact,
            "member": member,
            "owner_name": p["ownerName"].as_str(),
            "got_it": got_it,
            "links": links,
            "unsubscribe": unsubscribe,
        });
        let reply_to = self.replies.address(job.delivery_id);
        let mut list_unsubscribe = format!("<mailto:{reply_to}?subject=unsubscribe>");
        if let Some(url) = &unsubscribe {
            list_unsubscribe = format!("<{url}>, {list_unsubscribe}");
        }
        let mut builder = Message::builder()
            .from(self.mailer.from().clone())
            .to(to)
            .reply_to(reply_to.parse()?)
            .subject(subject)
            .message_id(Some(self.mailer.message_id(&job.delivery_id.to_string())))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), list_unsubscribe));
        if unsubscribe.is_some() {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
        }
        let text = templates::render("notification.txt", &context)?;
        let html = templates::render("notification.html", &context)?;
        Ok(builder.multipart(MultiPart::alternative_plain_html(text, html))?)
    }
}

impl Channel for EmailChannel {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Email { address } = &job.recipient else {
                return Outcome::Failed { error: "not an email recipient".to_owned() };
            };
            let Ok(to) = address.parse::<Mailbox>() else {
                return Outcome::Failed { error: "the email address is not valid".to_owned() };
            };
            let message = match self.message(job, to, chrono::Utc::now()) {
                Ok(message) => message,
                Err(err) => return Outcome::Failed { error: format!("could not build the email: {err}") },
            };
            match self.mailer.send(&message, &job.delivery_id.to_string()).await {
                Ok(()) => {
                    Outcome::Sent { provider_message_id: Some(self.mailer.message_id(&job.delivery_id.to_string())) }
                }
                Err(MailError::Transient(error)) => Outcome::Retry { error, retry_after: None },
                Err(MailError::Permanent(error)) => Outcome::Failed { error },
            }
        })
    }
}
