//! The kinds of channel a delivery can go out on. The channels themselves (I/O) live in the app's `agents`.

use serde::{Deserialize, Serialize};

/// The kinds of channel a delivery can go out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Email,
    Sms,
    Webhook,
    Pull,
    /// Web Push (RFC 8030/8291/8292) to a browser or installed web app.
    Push,
    /// A third-party agent type from the marketplace (`x-…`): a signed POST to its developer's callback.
    Agent,
}

impl ChannelKind {
    /// Every kind, in catalogue order.
    pub const ALL: [ChannelKind; 6] = [Self::Email, Self::Sms, Self::Webhook, Self::Pull, Self::Push, Self::Agent];

    /// The lowercase name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Agent => "agent",
        }
    }

    /// The channel of a subscription's agent type: a built-in's own, `agent` for a marketplace type (`x-…`).
    pub fn of_agent_type(agent_type: &str) -> Option<Self> {
        match agent_type.strip_prefix("x-") {
            Some(_) => Some(Self::Agent),
            None => Self::parse(agent_type).filter(|kind| *kind != Self::Agent),
        }
    }

    /// Parses the lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}
