//! SMS through Twilio's Messages API. An SMS cannot be deduplicated by the person who receives it, so a
//! send whose outcome is unknown (timeout, connection lost mid-request) is not retried: `Unknown`.
//! Replies and delivery receipts come back through Twilio's signed webhooks ([`routes`]).

pub mod segments;
pub mod signature;

use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use super::{Channel, Job, Outcome, Recipient};
use crate::config::Config;
use crate::notifications::links::{ActionLinks, LinkSigner};

struct Account {
    sid: String,
    token: SecretString,
    from: String,
}

pub struct TwilioSms {
    client: reqwest::Client,
    base: url::Url,
    callback_base: url::Url,
    account: Option<Account>,
    links: LinkSigner,
    got_it: crate::notifications::got_it_links::GotItLinks,
}

impl TwilioSms {
    pub fn new(config: &Config, links: LinkSigner) -> anyhow::Result<Self> {
        let account = config.twilio.as_ref().map(|t| Account {
            sid: t.account_sid.clone(),
            token: t.auth_token.clone(),
            from: t.phone_number.clone(),
        });
        Ok(TwilioSms {
            client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
            base: config.twilio_api_base.clone(),
            callback_base: config.api_url.clone(),
            account,
            links,
            got_it: crate::notifications::got_it_links::GotItLinks::new(config),
        })
    }
}

/// The text: tier, title, the reply instructions and as many action links as fit in two segments. Links
/// are dropped (snooze first) only when keeping them would shorten the title below 20 characters.
pub fn text_of(job: &Job, links: Option<&ActionLinks>) -> String {
    let title = job.payload["title"].as_str().unwrap_or("Reminder");
    let prefix = match job.payload["tier"].as_u64() {
        Some(tier) if tier > 1 => format!("Reminder (tier {tier}): "),
        _ => "Reminder: ".to_owned(),
    };
    let hint = "\nReply ACK, DONE, SNOOZE 1h or STOP.";
    let mut suffixes = Vec::new();
    if let Some(l) = links {
        suffixes.push(format!("{hint}\nAck: {}\nDone: {}\nSnooze 1h: {}", l.acknowledge, l.complete, l.snooze));
        suffixes.push(format!("{hint}\nAck: {}\nDone: {}", l.acknowledge, l.complete));
        suffixes.push(format!("{hint}\nAck: {}", l.acknowledge));
        // A UCS-2 title leaves room for one link at most: the link beats the instructions.
        suffixes.push(format!("\nAck: {}", l.acknowledge));
    }
    let title_start: String = title.chars().take(20).collect();
    let suffix = suffixes
        .iter()
        .find(|suffix| segments::segments(&format!("{prefix}{title_start}...{suffix}")) <= segments::MAX_SEGMENTS)
        .map_or(hint, String::as_str);
    segments::fit(&prefix, title, suffix)
}

impl TwilioSms {
    /// The owner's text carries the action links; a trusted contact's carries whose reminder it is and their
    /// one "I've got it" link (their replies are not read as the owner's).
    fn body(&self, job: &Job) -> String {
        if job.payload["audience"] != "contact" {
            return text_of(job, self.links.for_delivery(job.delivery_id, &job.payload, chrono::Utc::now()).as_ref());
        }
        let owner = job.payload["ownerName"].as_str().unwrap_or("Someone");
        let title = job.payload["title"].as_str().unwrap_or("a reminder");
        let prefix = format!("{owner} has not reacted to: ");
        segments::fit(&prefix, title, &format!("\nI've got it: {} (or reply OK)", self.got_it.link(job.delivery_id)))
    }
}

impl Channel for TwilioSms {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Sms { phone } = &job.recipient else {
                return Outcome::Failed { error: "not an SMS recipient".to_owned() };
            };
            let callback = format!(
                "{}/v1/webhooks/twilio/status?delivery={}",
                self.callback_base.as_str().trim_end_matches('/'),
                job.delivery_id
            );
            self.text(phone, &self.body(job), Some(&callback)).await
        })
    }
}

impl TwilioSms {
    /// Sends `body` to `phone` (also used outside escalations: a trusted contact's invitation).
    pub async fn text(&self, phone: &str, body: &str, status_callback: Option<&str>) -> Outcome {
        let Some(account) = &self.account else {
            return Outcome::Failed { error: "SMS is not configured on this server (TWILIO_*)".to_owned() };
        };
        let url =
            format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base.as_str().trim_end_matches('/'), account.sid);
        let mut form = vec![("To", phone), ("From", account.from.as_str()), ("Body", body)];
        if let Some(callback) = status_callback {
            form.push(("StatusCallback", callback));
        }
        let response = self
            .client
            .post(url)
            .basic_auth(&account.sid, Some(account.token.expose_secret()))
            .form(&form)
            .send()
            .await;
        match response {
            Ok(res) if res.status().is_success() => {
                let sid = res.json::<serde_json::Value>().await.ok().and_then(|v| v["sid"].as_str().map(str::to_owned));
                Outcome::Sent { provider_message_id: sid }
            }
            // Twilio refused before sending: safe to try again later.
            Ok(res) if res.status().as_u16() == 429 || res.status().is_server_error() => {
                Outcome::Retry { error: format!("twilio answered {}", res.status().as_u16()), retry_after: None }
            }
            Ok(res) => Outcome::Failed { error: format!("twilio answered {}", res.status().as_u16()) },
            Err(err) if err.is_connect() => {
                Outcome::Retry { error: "twilio unreachable".to_owned(), retry_after: None }
            }
            Err(_) => Outcome::Unknown { error: "unknown_outcome".to_owned() },
        }
    }
}

#[cfg(test)]
mod tests {
    use reminder_core::ChannelKind;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn job(title: &str) -> Job {
        Job {
            delivery_id: reminder_core::ids::DeliveryId(Uuid::new_v4()),
            user_id: reminder_core::ids::UserId(Uuid::new_v4()),
            attempt: 1,
            channel: ChannelKind::Sms,
            recipient: Recipient::Sms { phone: "+15551234567".to_owned() },
            payload: json!({"title": title, "tier": 2, "escalationId": Uuid::new_v4()}),
        }
    }

    fn links(base: &str) -> ActionLinks {
        let token = "A".repeat(46);
        ActionLinks {
            acknowledge: format!("{base}/a/{token}"),
            complete: format!("{base}/a/{token}"),
            snooze: format!("{base}/a/{token}"),
        }
    }

    #[test]
    fn a_trusted_contact_is_texted_whose_reminder_it_is_and_the_got_it_link_only() {
        crate::install_crypto_provider();
        let config = crate::config::Config::from_lookup(|_| None).unwrap();
        let sms = TwilioSms::new(&config, LinkSigner::new(&config)).unwrap();
        let mut contact_job = job("Take the pills");
        contact_job.payload["audience"] = json!("contact");
        contact_job.payload["ownerName"] = json!("Alice");
        let text = sms.body(&contact_job);
        assert!(text.starts_with("Alice has not reacted to: Take the pills"), "{text}");
        assert!(text.contains("/contacts/got-it/") && !text.contains("Reply ACK"), "{text}");
        assert!(segments::segments(&text) <= 2, "{text}");
    }

    #[test]
    fn three_links_fit_in_two_segments_with_a_long_title_shortened() {
        let links = links("https://reminders.example.com");
        let text = text_of(&job(&"Take the pills ".repeat(20)), Some(&links));
        assert!(segments::segments(&text) <= 2, "{text}");
        assert!(text.contains(&links.acknowledge) && text.contains(&links.snooze), "{text}");
        assert!(text.contains("Take the pills") && text.contains("..."), "{text}");
    }

    #[test]
    fn a_ucs2_title_keeps_the_acknowledge_link_within_two_segments() {
        let links = links("https://reminders.example.com");
        let text = text_of(&job("Nimm die Tabletten 💊 jetzt sofort bitte"), Some(&links));
        assert!(segments::segments(&text) <= 2, "{text}");
        assert!(text.contains(&links.acknowledge), "{text}");
    }
}
