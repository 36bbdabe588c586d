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
}

impl ChannelKind {
    /// Every kind, in catalogue order.
    pub const ALL: [ChannelKind; 4] = [Self::Email, Self::Sms, Self::Webhook, Self::Pull];

    /// The lowercase name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
            Self::Pull => "pull",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}
