//! Lifecycle events for webhooks (API.md "Outbound webhook payload"): every webhook subscription that was sent
//! a delivery in an episode is sent, once each, `reminder.acknowledged`, `reminder.snoozed`,
//! `reminder.completed` or `reminder.expired` when the episode gets there, so a home-automation receiver can
//! turn its light off. They are deliveries like any other (signed, retried, in the log, quiet hours and
//! delivery controls apply), written in the transaction that changes the episode.
//!
//! A lifecycle delivery has tier 0 (no tier sends it) and the event's code as its `loop_index`: the deliveries'
//! unique key (escalation, tier, loop, target, channel) then makes "once each" hold by construction. Tier-0
//! rows outlive their episode: an ended episode cancels its pending tier deliveries, not its events.
//!
//! The rows are written by the deliveries' store (`escalation::engine::deliveries::insert_lifecycle`).

use chrono::{DateTime, Utc};
use reminder_core::ids::EpisodeId;

/// The tier of every lifecycle delivery.
pub const LIFECYCLE_TIER: i16 = 0;

/// What happened to an episode that its webhooks hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    Acknowledged,
    Snoozed,
    Completed,
    Expired,
}

impl LifecycleEvent {
    const ALL: [Self; 4] = [Self::Acknowledged, Self::Snoozed, Self::Completed, Self::Expired];

    /// The event whose payload `type` is `name`.
    pub fn from_type(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.type_name() == name)
    }

    /// The payload's `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Acknowledged => "reminder.acknowledged",
            Self::Snoozed => "reminder.snoozed",
            Self::Completed => "reminder.completed",
            Self::Expired => "reminder.expired",
        }
    }

    /// The event as the `loop_index` of its deliveries.
    pub fn code(self) -> i16 {
        match self {
            Self::Acknowledged => 1,
            Self::Snoozed => 2,
            Self::Completed => 3,
            Self::Expired => 4,
        }
    }
}

/// One episode's event.
#[derive(Clone, Copy, Debug)]
pub struct EpisodeEvent {
    pub escalation_id: EpisodeId,
    pub event: LifecycleEvent,
    /// For `reminder.snoozed`: until when.
    pub snoozed_until: Option<DateTime<Utc>>,
}
