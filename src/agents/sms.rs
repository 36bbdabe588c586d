//! SMS through Twilio's Messages API. An SMS cannot be deduplicated by the person who receives it, so a
//! send whose outcome is unknown (timeout, connection lost mid-request) is not retried: `Unknown`.
//! Replies and delivery receipts come back through Twilio's signed webhooks ([`routes`]).

pub mod receipts;
pub mod replies;
pub mod routes;
pub mod segments;
pub mod signature;

use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use super::{Channel, Job, Outcome, Recipient};
use crate::config::Config;

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
}

impl TwilioSms {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
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
        })
    }
}

/// The text: title and tier, within two SMS segments (the title is shortened, the instructions kept).
pub fn text_of(job: &Job) -> String {
    let title = job.payload["title"].as_str().unwrap_or("Reminder");
    let prefix = match job.payload["tier"].as_u64() {
        Some(tier) if tier > 1 => format!("Reminder (tier {tier}): "),
        _ => "Reminder: ".to_owned(),
    };
    segments::fit(&prefix, title, "\nReply ACK, DONE, SNOOZE 1h or STOP.")
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
                ("Body", &text_of(job)),
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
