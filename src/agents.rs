//! Notification channels ("agents"): one module per channel type behind the [`Channel`] trait.

pub mod email;
pub mod marketplace;
pub mod pull;
pub mod push;
pub mod sms;
pub mod ssrf;
pub mod subscriptions;
pub mod targets;
pub mod third_party;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use reminder_core::ChannelKind;
use reminder_core::ids::{DeliveryId, UserId};
use secrecy::SecretString;
use uuid::Uuid;

/// Where one delivery goes, resolved from its target row just before sending.
#[derive(Debug, Clone)]
pub enum Recipient {
    Email {
        address: String,
    },
    Sms {
        phone: String,
    },
    /// `previous_secret` is set during a rotation overlap: both signatures are sent.
    Webhook {
        subscription_id: Uuid,
        url: String,
        secret: SecretString,
        previous_secret: Option<SecretString>,
    },
    Pull {
        subscription_id: Uuid,
    },
    Push {
        subscription_id: Uuid,
        subscription: push::SecretSubscription,
    },
    /// A marketplace type's subscriber: the type (callback, secret, limits) and the subscriber's config.
    Agent {
        subscription_id: Uuid,
        agent: third_party::AgentTarget,
        config: third_party::AgentSettings,
    },
    /// The target was deleted, disabled or opted out since the delivery was created.
    Gone {
        reason: String,
    },
}

/// One send to perform.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: DeliveryId,
    pub user_id: UserId,
    pub attempt: i32,
    pub channel: ChannelKind,
    pub recipient: Recipient,
    /// The rendered notification (`type`, `title`, `tier`, …) as stored on the delivery.
    pub payload: serde_json::Value,
}

/// What a channel reports after one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent {
        provider_message_id: Option<String>,
    },
    /// Worth another attempt (timeouts, 5xx, 408, 429); `retry_after` when the receiver asked for a delay.
    Retry {
        error: String,
        retry_after: Option<chrono::Duration>,
    },
    /// Will never succeed (4xx, invalid recipient).
    Failed {
        error: String,
    },
    /// The endpoint is gone for good (HTTP 410): fail and disable the subscription.
    Gone {
        error: String,
    },
    /// We cannot know whether it was sent (SMS timeout); not retried, to avoid a double text.
    Unknown {
        error: String,
    },
}

/// A way to deliver notifications. Implementations must be safe to call concurrently.
pub trait Channel: Send + Sync {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome>;
}

/// The channel for each kind.
#[derive(Clone)]
pub struct Channels {
    by_kind: HashMap<ChannelKind, Arc<dyn Channel>>,
}

impl Channels {
    pub fn new(by_kind: HashMap<ChannelKind, Arc<dyn Channel>>) -> Self {
        Channels { by_kind }
    }

    /// The production channels for `state`'s configuration.
    pub fn from_state(state: &crate::state::AppState) -> anyhow::Result<Self> {
        if state.config.worker_noop_channels {
            tracing::warn!("WORKER_NOOP_CHANNELS is set: nothing is really sent (benchmarks only)");
            let noop: Arc<dyn Channel> = Arc::new(NoopChannel);
            return Ok(Channels {
                by_kind: ChannelKind::ALL.into_iter().map(|kind| (kind, Arc::clone(&noop))).collect(),
            });
        }
        let config = &state.config;
        let links = crate::notifications::links::LinkSigner::new(config);
        let mut by_kind: HashMap<ChannelKind, Arc<dyn Channel>> = HashMap::new();
        by_kind.insert(
            ChannelKind::Webhook,
            Arc::new(webhook::WebhookChannel::new(config.webhook_allow_private, links.clone())?),
        );
        by_kind.insert(ChannelKind::Email, Arc::new(email::EmailChannel::new(config, state.mailer.clone())));
        by_kind.insert(ChannelKind::Sms, Arc::new(sms::TwilioSms::new(config, links.clone())?));
        by_kind.insert(ChannelKind::Push, Arc::new(push::PushChannel::new(config, links.clone())?));
        by_kind.insert(ChannelKind::Agent, Arc::new(third_party::AgentChannel::new(state, links.clone())?));
        by_kind.insert(ChannelKind::Pull, Arc::new(pull::PullInbox::new(state.db.clone(), links)));
        Ok(Channels { by_kind })
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        self.by_kind.get(&kind)
    }
}

/// Succeeds at once without sending: measures the queue and the database, not the receivers.
struct NoopChannel;

impl Channel for NoopChannel {
    fn send<'a>(&'a self, _job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(std::future::ready(Outcome::Sent { provider_message_id: None }))
    }
}
