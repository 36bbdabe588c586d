//! Commands to the service (signed with your type's secret) and the pull inbox (with an API key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Error, sign};

/// What an agent can ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Acknowledge,
    Complete,
    /// Until an instant.
    SnoozeUntil(DateTime<Utc>),
    /// For a phrase the service reads in the reminder's zone ("30 minutes", "until tomorrow 9am").
    SnoozeFor(String),
}

/// A command ready to send, with its id and time fixed: sending the same one again is a safe retry.
#[derive(Debug, Clone)]
pub struct SignedCommand {
    pub id: String,
    pub timestamp: i64,
    pub body: Vec<u8>,
    pub signature: String,
}

/// The service's answer to a command.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    pub command: String,
    pub delivery_id: Uuid,
    pub reminder_id: Uuid,
    /// The reminder's status afterwards (`active`, `snoozed`, `completed`…).
    pub status: String,
    pub snoozed_until: Option<DateTime<Utc>>,
}

fn http() -> Result<reqwest::Client, Error> {
    // One crypto provider for rustls, installed once per process (an error means one already is).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("escalating-reminders-agent/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

async fn answer<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    if (200..300).contains(&status) {
        return Ok(serde_json::from_value(body["data"].clone())?);
    }
    Err(Error::Refused {
        status,
        code: body["error"]["code"].as_str().unwrap_or_default().to_owned(),
        message: body["error"]["message"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Sends commands as your agent type.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    agent_type: String,
    secret: String,
    http: reqwest::Client,
}

impl Client {
    /// `base_url` is the service's (`https://reminders.example.com`), `agent_type` yours (`x-…`).
    pub fn new(base_url: &str, agent_type: &str, secret: &str) -> Result<Self, Error> {
        Ok(Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent_type: agent_type.to_owned(),
            secret: secret.to_owned(),
            http: http()?,
        })
    }

    /// Signs `command` on `delivery` with a new id and the current time.
    pub fn sign(&self, delivery: Uuid, command: &Command) -> Result<SignedCommand, Error> {
        let mut body = match command {
            Command::Acknowledge => json!({"type": "acknowledge"}),
            Command::Complete => json!({"type": "complete"}),
            Command::SnoozeUntil(until) => json!({"type": "snooze", "until": until}),
            Command::SnoozeFor(phrase) => json!({"type": "snooze", "duration": phrase}),
        };
        body["deliveryId"] = json!(delivery);
        let body = serde_json::to_vec(&body)?;
        let id = format!("cmd_{}", Uuid::new_v4().simple());
        let timestamp = Utc::now().timestamp();
        let signature = sign(&self.secret, &id, timestamp, &body)?;
        Ok(SignedCommand { id, timestamp, body, signature })
    }

    /// Sends a signed command (again, if a first try failed in transit).
    pub async fn send_signed(&self, command: &SignedCommand) -> Result<CommandResult, Error> {
        let url = format!("{}/v1/webhooks/agent/{}", self.base_url, self.agent_type);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &command.id)
            .header("webhook-timestamp", command.timestamp.to_string())
            .header("webhook-signature", &command.signature)
            .body(command.body.clone())
            .send()
            .await?;
        answer(response).await
    }

    /// Signs and sends `command` on `delivery`.
    pub async fn send(&self, delivery: Uuid, command: Command) -> Result<CommandResult, Error> {
        let signed = self.sign(delivery, &command)?;
        self.send_signed(&signed).await
    }
}

/// A notification waiting in the pull inbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingNotification {
    /// The delivery id: confirm it, or name it in a command.
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

/// Polls the inbox with an API key (`x-api-key`), for agents that cannot receive requests.
#[derive(Clone)]
pub struct PullClient {
    base_url: String,
    api_key: String,
    http: reqwest::Client,
}

impl PullClient {
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, Error> {
        Ok(PullClient {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            http: http()?,
        })
    }

    /// Notifications not yet confirmed, oldest first (at most 100).
    pub async fn pending(&self) -> Result<Vec<PendingNotification>, Error> {
        let url = format!("{}/v1/notifications/pending", self.base_url);
        answer(self.http.get(url).header("x-api-key", &self.api_key).send().await?).await
    }

    /// Confirms one was shown, so it is not listed again.
    pub async fn confirm(&self, delivery: Uuid) -> Result<(), Error> {
        let url = format!("{}/v1/notifications/{delivery}/delivered", self.base_url);
        let response = self.http.post(url).header("x-api-key", &self.api_key).send().await?;
        let _: Value = answer(response).await?;
        Ok(())
    }
}
