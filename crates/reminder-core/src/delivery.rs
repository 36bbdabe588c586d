//! An owed delivery before it is stored: what the engine builds for a tier, and what the delivery controls
//! (billing's rules) may cancel, defer or move to another channel before the row is written.

use chrono::{DateTime, Utc};

use crate::ids::{EpisodeId, ReminderId, UserId};
use crate::machine::Target;

/// One delivery to insert.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub escalation_id: EpisodeId,
    pub reminder_id: ReminderId,
    pub user_id: UserId,
    pub tier: i16,
    pub loop_index: i16,
    pub target: Target,
    pub status: &'static str,
    pub next_attempt_at: DateTime<Utc>,
    pub deferred_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub payload: serde_json::Value,
}
