//! Web Push: a notification on a browser or an installed web app, through the push service the browser
//! chose (RFC 8030), encrypted to the subscription's keys (RFC 8291, `aes128gcm`) and signed with our VAPID
//! key (RFC 8292). The service worker (`/sw.js`) shows it with Acknowledge, Snooze 30 min and Done buttons,
//! which POST the delivery's signed action links.
//!
//! Sent through [`ssrf::outbound_client`]: the endpoint is a URL the browser gave us, so it gets the same
//! guard as a webhook. 404 and 410 mean the browser dropped the subscription (the channel is disabled), 429
//! and 5xx are retried on the push ladder, 413 and other 4xx fail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Channel, Job, Outcome, Recipient, ssrf, webhook};
use crate::config::VapidConfig;
use crate::notifications::links::{LinkAction, LinkSigner};

/// RFC 8291 allows 4 096 bytes of ciphertext: 3 993 of plaintext after its header, tag and padding byte.
pub const MAX_PAYLOAD: usize = 3_993;

/// How long a push service keeps a notification for a device that is offline. An escalation moves on
/// within hours; its action links work for 72.
const TTL_SECONDS: u64 = 4 * 3600;

/// How long one VAPID token is valid (RFC 8292 allows up to 24 hours).
const VAPID_LIFETIME_HOURS: i64 = 12;

/// A browser's push subscription as `PushSubscription.toJSON()` gives it: sealed at rest, since the
/// endpoint is a capability URL and `auth` a shared secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSubscription {
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
}

/// A subscription inside a [`Recipient`]: jobs may be logged, so its Debug shows nothing.
#[derive(Clone)]
pub struct SecretSubscription(BrowserSubscription);

impl SecretSubscription {
    pub fn new(subscription: BrowserSubscription) -> Self {
        SecretSubscription(subscription)
    }

    pub fn expose_secret(&self) -> &BrowserSubscription {
        &self.0
    }
}

impl std::fmt::Debug for SecretSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSubscription([REDACTED])")
    }
}

/// Signs VAPID tokens.
pub struct Vapid {
    key: jsonwebtoken::EncodingKey,
    public_key: String,
    subject: String,
}

impl Vapid {
    pub fn new(config: &VapidConfig) -> anyhow::Result<Self> {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::from_slice(config.private_key.expose_secret())?;
        let der = secret.to_pkcs8_der().map_err(|err| anyhow::anyhow!("VAPID key: {err}"))?;
        Ok(Vapid {
            key: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            public_key: config.public_key.clone(),
            subject: config.subject.clone(),
        })
    }

    /// The `Authorization` header for a request to `endpoint`: `vapid t=<ES256 JWT>, k=<public key>`, the
    /// token's audience being the push service's origin.
    pub fn authorization(&self, endpoint: &url::Url, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": (now + chrono::Duration::hours(VAPID_LIFETIME_HOURS)).timestamp(),
            "sub": self.subject,
        });
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let token = jsonwebtoken::encode(&header, &claims, &self.key)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

/// Decodes base64url with or without padding (browsers send it without; some libraries add it).
pub fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')).ok()
}

pub struct PushChannel {
    client: reqwest::Client,
    allow_private: bool,
    links: LinkSigner,
    vapid: Option<Vapid>,
    console_base: String,
}

impl PushChannel {
    pub fn new(config: &crate::config::Config, links: LinkSigner) -> anyhow::Result<Self> {
        let allow_private = config.webhook_allow_private;
        Ok(PushChannel {
            client: ssrf::outbound_client((!allow_private).then(ssrf::resolver))?,
            allow_private,
            links,
            vapid: config.vapid.as_ref().map(Vapid::new).transpose()?,
            console_base: config.api_url.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// What the service worker shows: title, body, the reminder's page, and the action buttons.
    pub fn notification(&self, job: &Job, now: DateTime<Utc>) -> Value {
        let p = &job.payload;
        let title: String = p["title"].as_str().unwrap_or("Reminder").chars().take(200).collect();
        let tier = p["tier"].as_u64().unwrap_or(1);
        let (heading, body) = match p["type"].as_str() {
            Some("reminder.escalated") => {
                (format!("Still waiting: {title}"), format!("Tier {tier}: nobody has reacted yet."))
            }
            Some("test") => (format!("Test: {title}"), "Browser notifications work.".to_owned()),
            _ => (format!("Reminder: {title}"), "It is due now.".to_owned()),
        };
        let reminder = p["reminderId"].as_str();
        let url = match reminder {
            Some(id) => format!("{}/reminders/{id}", self.console_base),
            None => format!("{}/channels", self.console_base),
        };
        let actions: Vec<Value> = match p.get("escalationId").filter(|id| id.is_string()) {
            Some(_) => [
                (LinkAction::Acknowledge, "Acknowledge"),
                (LinkAction::SnoozeHalfHour, "Snooze 30 min"),
                (LinkAction::Complete, "Done"),
            ]
            .into_iter()
            .map(|(action, label)| {
                json!({"action": action.as_str(), "title": label, "url": self.links.link(job.delivery_id, action, now)})
            })
            .collect(),
            None => Vec::new(),
        };
        json!({
            "title": heading,
            "body": body,
            // One notification per reminder on the device: a later tier replaces the earlier one.
            "tag": reminder.unwrap_or("test"),
            "url": url,
            "deliveryId": job.delivery_id,
            "tier": tier,
            "importance": p["importance"],
            "actions": actions,
        })
    }
}

impl Channel for PushChannel {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Push { subscription, .. } = &job.recipient else {
                return Outcome::Failed { error: "not a push recipient".to_owned() };
            };
            let Some(vapid) = &self.vapid else {
                return Outcome::Failed { error: "browser push is off: VAPID_PRIVATE_KEY is not set".to_owned() };
            };
            let target = subscription.expose_secret();
            let endpoint = match ssrf::check_url(&target.endpoint, self.allow_private) {
                Ok(url) => url,
                Err(why) => return Outcome::Failed { error: format!("push endpoint {why}") },
            };
            let now = Utc::now();
            let body = match serde_json::to_vec(&self.notification(job, now)) {
                Ok(body) if body.len() <= MAX_PAYLOAD => body,
                Ok(body) => return Outcome::Failed { error: format!("payload of {} bytes is over 4 KB", body.len()) },
                Err(err) => return Outcome::Failed { error: format!("payload: {err}") },
            };
            let Some(keys) = browser_keys(target) else {
                return Outcome::Failed { error: "the subscription's keys are unreadable".to_owned() };
            };
            let encrypted = match web_push_native::encrypt(body, &keys.0, &keys.1) {
                Ok(encrypted) => encrypted,
                Err(err) => return Outcome::Failed { error: format!("encryption: {err}") },
            };
            let authorization = match vapid.authorization(&endpoint, now) {
                Ok(value) => value,
                Err(err) => return Outcome::Failed { error: format!("VAPID: {err}") },
            };
            let urgency =
                if matches!(job.payload["importance"].as_str(), Some("high" | "critical")) { "high" } else { "normal" };
            let mut request = self
                .client
                .post(endpoint)
                .header("authorization", authorization)
                .header("content-encoding", "aes128gcm")
                .header("content-type", "application/octet-stream")
                .header("ttl", TTL_SECONDS.to_string())
                .header("urgency", urgency);
            // A newer notification of the same reminder replaces one still queued for an offline device.
            if let Some(reminder) = job.payload["reminderId"].as_str() {
                request = request.header("topic", reminder.replace('-', ""));
            }
            match request.body(encrypted).send().await {
                Ok(res) => classify(res.status().as_u16(), webhook::retry_after(&res), res.headers().get("location")),
                Err(err) => webhook::not_sent(&err, "push host", "10 s"),
            }
        })
    }
}

/// The browser's public key and auth secret, parsed.
pub fn browser_keys(target: &BrowserSubscription) -> Option<(p256::PublicKey, web_push_native::Auth)> {
    let public = p256::PublicKey::from_sec1_bytes(&decode_b64url(&target.p256dh)?).ok()?;
    let auth: [u8; 16] = decode_b64url(&target.auth)?.try_into().ok()?;
    Some((public, web_push_native::Auth::from(auth)))
}

/// A push service's answer: 201 (or any 2xx) accepted; 404 and 410 the subscription expired or was
/// withdrawn; 429 and 5xx worth another try; 413 and the rest permanent (400/401/403 usually mean our VAPID
/// key is not the one the subscription was made with).
pub fn classify(
    status: u16,
    retry_after: Option<chrono::Duration>,
    location: Option<&reqwest::header::HeaderValue>,
) -> Outcome {
    match status {
        200..=299 => Outcome::Sent {
            provider_message_id: location.and_then(|value| value.to_str().ok()).map(|s| s.chars().take(300).collect()),
        },
        404 | 410 => Outcome::Gone {
            error: format!("the push service answered {status}: the browser withdrew the subscription"),
        },
        413 => Outcome::Failed { error: "the push service refused the payload as too large".to_owned() },
        429 | 500..=599 => Outcome::Retry { error: format!("the push service answered {status}"), retry_after },
        _ => Outcome::Failed { error: format!("the push service answered {status}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_service_answers_map_to_outcomes() {
        assert!(matches!(classify(201, None, None), Outcome::Sent { .. }));
        assert!(matches!(classify(410, None, None), Outcome::Gone { .. }));
        assert!(matches!(classify(404, None, None), Outcome::Gone { .. }));
        assert!(matches!(classify(429, None, None), Outcome::Retry { .. }));
        assert!(matches!(classify(503, None, None), Outcome::Retry { .. }));
        assert!(matches!(classify(413, None, None), Outcome::Failed { .. }));
        assert!(matches!(classify(403, None, None), Outcome::Failed { .. }));
    }
}
