//! Email. Until SMTP sending lands (channels issue), emails go to the local outbox folder and the log:
//! never silently nowhere. Each file is named by the delivery id, so a retried send overwrites itself.

use std::path::PathBuf;

use futures_util::future::BoxFuture;

use super::{Channel, Job, Outcome, Recipient};
use crate::config::Config;

pub struct OutboxEmail {
    dir: PathBuf,
    from: String,
}

impl OutboxEmail {
    pub fn new(config: &Config) -> Self {
        OutboxEmail { dir: config.email_outbox_dir.clone(), from: config.email_from.clone() }
    }
}

impl Channel for OutboxEmail {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Email { address } = &job.recipient else {
                return Outcome::Failed { error: "not an email recipient".to_owned() };
            };
            let title = job.payload["title"].as_str().unwrap_or("Reminder");
            let message = format!(
                "From: {}\r\nTo: {address}\r\nMessage-ID: <{}@escalating-reminders>\r\nSubject: Reminder: {title}\r\n\r\n{title}\r\n",
                self.from, job.delivery_id
            );
            if let Err(err) = tokio::fs::create_dir_all(&self.dir).await {
                return Outcome::Retry { error: format!("outbox folder: {err}"), retry_after: None };
            }
            let path = self.dir.join(format!("{}.eml", job.delivery_id));
            match tokio::fs::write(&path, message).await {
                Ok(()) => {
                    tracing::info!(delivery.id = %job.delivery_id, path = %path.display(), "email written to the outbox (no SMTP configured)");
                    Outcome::Sent { provider_message_id: None }
                }
                Err(err) => Outcome::Retry { error: format!("outbox write: {err}"), retry_after: None },
            }
        })
    }
}
