//! An owed delivery before it is stored: what the engine builds for a tier, and what the delivery controls
//! (billing's rules) may cancel, defer or move to another channel before the row is written.

use chrono::{DateTime, Utc};

use crate::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use crate::machine::Target;
use crate::status::DeliveryStatus;

/// One delivery to insert.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub escalation_id: EpisodeId,
    pub reminder_id: ReminderId,
    pub user_id: UserId,
    pub tier: i16,
    pub loop_index: i16,
    pub target: Target,
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
    pub deferred_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub payload: serde_json::Value,
}

impl NewDelivery {
    /// The row's id, derived from its key (see [`DeliveryId::of`]). Read it after the controls have run: the
    /// SMS budget's fallback moves a row to another target and channel, which is then another delivery.
    pub fn id(&self) -> DeliveryId {
        DeliveryId::of(
            self.escalation_id,
            self.tier,
            self.loop_index,
            self.target.kind.as_str(),
            self.target.id,
            self.target.channel.as_str(),
        )
    }
}
