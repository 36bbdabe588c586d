//! Signed webhooks, the Standard Webhooks way: `webhook-id` (the delivery id, the receiver's idempotency
//! key), `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`.
//! Sent through [`ssrf::outbound_client`]: no redirects, 10 s timeout, SSRF guard at connect time.

use futures_util::future::BoxFuture;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{Channel, Job, Outcome, Recipient, ssrf};
use crate::notifications::links::{ActionLinks, LinkSigner};

pub struct WebhookChannel {
    client: reqwest::Client,
    allow_private: bool,
    links: LinkSigner,
}

impl WebhookChannel {
    pub fn new(allow_private: bool, links: LinkSigner) -> anyhow::Result<Self> {
        Self::build(allow_private, (!allow_private).then(ssrf::resolver), links)
    }

    /// A guarded channel whose host names resolve through `lookup` (tests: no DNS needed).
    pub fn with_lookup(lookup: ssrf::Lookup, links: LinkSigner) -> anyhow::Result<Self> {
        Self::build(false, Some(ssrf::resolver_with(lookup)), links)
    }

    fn build(
        allow_private: bool,
        guard: Option<std::sync::Arc<ssrf::GuardedResolver>>,
        links: LinkSigner,
    ) -> anyhow::Result<Self> {
        Ok(WebhookChannel { client: ssrf::outbound_client(guard)?, allow_private, links })
    }
}

/// The signature header value for `body` sent as message `id` at `timestamp`: the agent SDK's own function, so
/// what we sign and what an agent built on it verifies cannot drift apart.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    escalating_reminders_agent::sign(secret, id, timestamp, body).ok()
}

/// The JSON body a webhook receives; `actions` holds the action links when the job belongs to an episode.
pub fn body_of(job: &Job, now: chrono::DateTime<chrono::Utc>, links: Option<&ActionLinks>) -> serde_json::Value {
    let p = &job.payload;
    let mut body = json!({
        "type": p["type"],
        "timestamp": now,
        "data": {
            "deliveryId": job.delivery_id,
            "reminderId": p["reminderId"],
            "title": p["title"],
            "importance": p["importance"],
            "tier": p["tier"],
            "loop": p["loop"],
            "dueAt": p["dueAt"],
            "completion": p["completion"],
        }
    });
    if let Some(links) = links {
        body["data"]["actions"] = json!(links);
    }
    if let Some(until) = p.get("snoozedUntil") {
        body["data"]["snoozedUntil"] = until.clone();
    }
    body
}

impl Channel for WebhookChannel {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Webhook { url, secret, previous_secret, .. } = &job.recipient else {
                return Outcome::Failed { error: "not a webhook recipient".to_owned() };
            };
            let url = match ssrf::check_url(url, self.allow_private) {
                Ok(url) => url,
                Err(why) => return Outcome::Failed { error: format!("webhook URL {why}") },
            };
            let now = chrono::Utc::now();
            let body = match serde_json::to_vec(&body_of(
                job,
                now,
                self.links.for_delivery(job.delivery_id, &job.payload, now).as_ref(),
            )) {
                Ok(body) => body,
                Err(err) => return Outcome::Failed { error: format!("payload: {err}") },
            };
            let id = job.delivery_id.to_string();
            let Some(mut signature) = sign(secret.expose_secret(), &id, now.timestamp(), &body) else {
                return Outcome::Failed { error: "the signing secret is unreadable".to_owned() };
            };
            // During a rotation both secrets sign, space-separated, so receivers can switch at leisure.
            if let Some(previous) =
                previous_secret.as_ref().and_then(|p| sign(p.expose_secret(), &id, now.timestamp(), &body))
            {
                signature = format!("{signature} {previous}");
            }
            let response = signed_post(self.client.post(url), &id, now.timestamp(), signature, body).send().await;
            match response {
                Ok(res) => classify(res.status().as_u16(), retry_after(&res)),
                Err(err) => not_sent(&err, "webhook host", "10 s"),
            }
        })
    }
}

/// Maps a status to an outcome: 2xx sent; 410 gone; 408, 429 and 5xx retried; other 4xx permanent;
/// 3xx (redirects are not followed) permanent.
pub fn classify(status: u16, retry_after: Option<chrono::Duration>) -> Outcome {
    match status {
        200..=299 => Outcome::Sent { provider_message_id: None },
        410 => Outcome::Gone { error: "the endpoint answered 410 Gone".to_owned() },
        408 | 429 | 500..=599 => Outcome::Retry { error: format!("the endpoint answered {status}"), retry_after },
        _ => Outcome::Failed { error: format!("the endpoint answered {status}") },
    }
}

pub(super) fn retry_after(res: &reqwest::Response) -> Option<chrono::Duration> {
    let seconds: i64 = res.headers().get("retry-after")?.to_str().ok()?.trim().parse().ok()?;
    (0..=86_400).contains(&seconds).then(|| chrono::Duration::seconds(seconds))
}

/// A Standard Webhooks POST of a JSON `body` as message `id`, signed at `timestamp`.
pub(super) fn signed_post(
    request: reqwest::RequestBuilder,
    id: &str,
    timestamp: i64,
    signature: String,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    request
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
}

/// The outcome of a request that got no answer: refused by the SSRF guard (every address of the host is
/// forbidden, which no retry changes), timed out after `timeout`, or not connected (both retried).
pub(super) fn not_sent(err: &reqwest::Error, host: &str, timeout: &str) -> Outcome {
    match ssrf::Refused::behind(err) {
        Some(refused) => Outcome::Failed { error: format!("{host} refused: {refused}") },
        None if err.is_timeout() => Outcome::Retry { error: format!("timed out after {timeout}"), retry_after: None },
        None => Outcome::Retry { error: format!("could not connect: {}", short(err)), retry_after: None },
    }
}

/// The error without the URL (which may carry a user's token in its query).
fn short(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        assert!(matches!(classify(204, None), Outcome::Sent { .. }));
        assert!(matches!(classify(500, None), Outcome::Retry { .. }));
        assert!(matches!(
            classify(429, Some(chrono::Duration::seconds(2))),
            Outcome::Retry { retry_after: Some(_), .. }
        ));
        assert!(matches!(classify(400, None), Outcome::Failed { .. }));
        assert!(matches!(classify(302, None), Outcome::Failed { .. }));
        assert!(matches!(classify(410, None), Outcome::Gone { .. }));
    }
}
