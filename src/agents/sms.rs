//! SMS through Twilio's Messages API. An SMS cannot be deduplicated by the person who receives it, so a
//! send whose outcome is unknown (timeout, connection lost mid-request) is not retried: `Unknown`.

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
        })
    }
}

/// GSM 03.38: the basic set costs one septet a character, the extension set two; anything else makes the
/// whole message UCS-2.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// Whether `text` fits in two concatenated segments: 306 septets in GSM-7, 134 UTF-16 units in UCS-2.
pub fn fits_two_segments(text: &str) -> bool {
    let septets = text.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    match septets {
        Some(n) => n <= 306,
        None => text.encode_utf16().count() <= 134,
    }
}

/// The text: tier, title and as many action links as fit in two segments (all three unless the base URL
/// is long or the title forces UCS-2), the title shortened rather than a link dropped while it keeps 20
/// characters.
fn text_of(job: &Job, links: Option<&ActionLinks>) -> String {
    let title = job.payload["title"].as_str().unwrap_or("Reminder");
    let tier = job.payload["tier"].as_u64().unwrap_or(1);
    let hint = "Reply ACK, DONE or SNOOZE 1h.";
    let mut tails = Vec::new();
    if let Some(l) = links {
        tails.push(format!("\nAck: {}\nDone: {}\nSnooze 1h: {}", l.acknowledge, l.complete, l.snooze));
        tails.push(format!("\nAck: {}\nDone: {}", l.acknowledge, l.complete));
        tails.push(format!("\nAck: {}", l.acknowledge));
    }
    tails.push(format!(" {hint}"));
    let with_title = |tail: &str, keep: usize| {
        let short: String = title.chars().take(keep).collect();
        let ellipsis = if keep < title.chars().count() { "..." } else { "" };
        format!("Reminder (tier {tier}): {short}{ellipsis}{tail}")
    };
    let full = title.chars().count();
    let last = tails.len() - 1;
    for (i, tail) in tails.iter().enumerate() {
        let shortest = if i == last { 0 } else { full.min(20) };
        if let Some(text) = (shortest..=full).rev().map(|keep| with_title(tail, keep)).find(|t| fits_two_segments(t)) {
            return text;
        }
    }
    with_title(&tails[last], 0)
}

impl Channel for TwilioSms {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Sms { phone } = &job.recipient else {
                return Outcome::Failed { error: "not an SMS recipient".to_owned() };
            };
            let Some(account) = &self.account else {
                return Outcome::Failed { error: "SMS is not configured on this server (TWILIO_*)".to_owned() };
            };
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base.as_str().trim_end_matches('/'),
                account.sid
            );
            let callback = format!(
                "{}/v1/webhooks/twilio/status?delivery={}",
                self.callback_base.as_str().trim_end_matches('/'),
                job.delivery_id
            );
            let form = [
                ("To", phone.as_str()),
                ("From", account.from.as_str()),
                ("Body", &text_of(job, self.links.for_job(job, chrono::Utc::now()).as_ref())),
                ("StatusCallback", &callback),
            ];
            let response = self
                .client
                .post(url)
                .basic_auth(&account.sid, Some(account.token.expose_secret()))
                .form(&form)
                .send()
                .await;
            match response {
                Ok(res) if res.status().is_success() => {
                    let sid =
                        res.json::<serde_json::Value>().await.ok().and_then(|v| v["sid"].as_str().map(str::to_owned));
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
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::agents::ChannelKind;

    fn job(title: &str) -> Job {
        Job {
            delivery_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
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
    fn three_links_fit_in_two_segments_with_a_long_title_shortened() {
        let links = links("https://reminders.example.com");
        let text = text_of(&job(&"Take the pills ".repeat(20)), Some(&links));
        assert!(fits_two_segments(&text), "{text}");
        assert!(text.contains(&links.acknowledge) && text.contains(&links.snooze), "{text}");
        assert!(text.contains("Take the pills") && text.contains("..."), "{text}");
    }

    #[test]
    fn a_ucs2_title_keeps_the_acknowledge_link_within_two_segments() {
        let links = links("https://reminders.example.com");
        let text = text_of(&job("Nimm die Tabletten 💊 jetzt sofort bitte"), Some(&links));
        assert!(fits_two_segments(&text), "{text}");
        assert!(text.contains(&links.acknowledge), "{text}");
        assert!(!fits_two_segments(&"€".repeat(154)), "extension characters count twice");
        assert!(fits_two_segments(&"a".repeat(306)) && !fits_two_segments(&"a".repeat(307)));
    }
}
