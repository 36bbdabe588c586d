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
}

impl ChannelKind {
    /// Every kind, in catalogue order.
    pub const ALL: [ChannelKind; 5] = [Self::Email, Self::Sms, Self::Webhook, Self::Pull, Self::Push];

    /// The lowercase name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
            Self::Pull => "pull",
            Self::Push => "push",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}
