//! The escalation state machine: pure, no I/O and no clock (`now` is always passed in).
//!
//! A reminder fires and an *episode* starts. Its [`Plan`] is a snapshot of the user's escalation
//! profile with targets already resolved: tiers `1..=n`, each with `delay_minutes` counted from the
//! moment the current loop started, and the targets to notify. The scheduler loads due episodes,
//! calls [`step`], and writes the new [`Episode`] and the [`Effect`]s in one transaction.
//!
//! # Semantics
//!
//! - [`start`]: `Active`, `current_tier` 0, loop 0, `loop_started_at = fired_at`,
//!   `next_step_at = fired_at + tier1.delay`.
//! - `Due` is only meaningful when `next_step_at <= now`; otherwise nothing changes and there are no
//!   effects. The scheduler may race, so early or repeated `Due` must be harmless.
//! - `Due` while `Active`, a tier left in this loop: `Deliver` tier `current_tier + 1`,
//!   `current_tier += 1`, and `next_step_at` becomes the next tier's time
//!   `max(loop_started_at + next.delay, now + (next.delay - this.delay))`: a late scheduler keeps
//!   the spacing between later tiers instead of firing them all at once. After the last tier: if
//!   `loop_index < repeat` the next loop is scheduled (`loop_started_at = now + loop_gap`,
//!   `current_tier = 0`, `loop_index += 1`, `next_step_at = loop_started_at + tier1.delay`),
//!   otherwise `next_step_at = now + loop_gap` (a final wait so the last tier has time to be answered).
//! - `Due` while `Active` with no tier and no loop left (the final wait is over): `Expired`, end
//!   reason `Exhausted`, `next_step_at` `None`, no effects. Pending deliveries are *not* cancelled:
//!   the last tier's messages still go out.
//! - `Acknowledged` while `Active` or `Acknowledged`: status `Acknowledged`,
//!   `ack_until = now + ack_window`, `next_step_at = ack_until`, effect `CancelPending`. With
//!   `ack_window_minutes == 0` the acknowledgement ends escalation for this episode: `ack_until` and
//!   `next_step_at` are `None` (still `CancelPending`).
//! - `Due` while `Acknowledged` (the window is over and nobody completed): back to `Active`,
//!   `ack_until` cleared, resuming at the next tier with
//!   `next_step_at = max(now, loop_started_at + that tier's delay)`; with no tier left, the next loop
//!   or the final wait is scheduled exactly as above. No effect: the next `Due` delivers.
//! - `Completed` → `Completed` (no end reason), `Snoozed` → `Cancelled`/`Snoozed`, `Superseded`
//!   (the next occurrence of a recurring reminder fired) → `Expired`/`Superseded`, `Cancelled`
//!   (reminder archived, account disabled) → `Cancelled`/`Cancelled`. Each from `Active` or
//!   `Acknowledged`, with `next_step_at` `None`, `ack_until` kept (a record of the last ack) and
//!   effect `CancelPending`.
//! - `ChannelFailed { tier, loop_index }` (every delivery of that tier failed permanently; the engine's
//!   `channel_health` decides when to send it): if `Active`, it names the
//!   current tier of the current loop, and a later tier remains in this loop, then
//!   `next_step_at = min(next_step_at, now)` so the next tier fires at once. Otherwise nothing
//!   changes: in particular a loop gap or the final wait is never shortened, since the other
//!   targets of that tier still deserve their time to answer.
//! - Any event on a terminal episode (`Completed`, `Expired`, `Cancelled`) changes nothing and has no
//!   effects.
//!
//! One `Due` delivers at most one tier. Tiers with equal delays therefore need one `Due` each; the
//! second is due immediately (`next_step_at <= now`), so the scheduler's next pass picks it up.
//!
//! Time arithmetic saturates at the largest representable instant instead of panicking, so even
//! absurd delays cannot crash the scheduler.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::channel::ChannelKind;

mod plan;
mod transition;

pub use transition::{start, step};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// The largest `repeat` a plan may carry: more loops than this is nagging, not escalation.
pub const MAX_REPEAT: u8 = 10;

/// What a target is: one of the user's own channel subscriptions, a trusted contact, or a member of the
/// user's family group the reminder is shared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// One of the user's channel subscriptions.
    Subscription,
    /// A trusted contact, reached on one channel.
    Contact,
    /// A family member the reminder is shared with, reached at their account's address.
    Member,
}

impl TargetKind {
    /// The lowercase name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Contact => "contact",
            Self::Member => "member",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Subscription, Self::Contact, Self::Member].into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Who or what to notify: a user's channel subscription, or a trusted contact on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// Subscription or contact.
    pub kind: TargetKind,
    /// The subscription's or the contact's id.
    pub id: Uuid,
    /// The channel the delivery goes out on.
    pub channel: ChannelKind,
}

/// One tier of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTier {
    /// 1-based tier number.
    pub tier: u16,
    /// Minutes after the start of the current loop at which this tier fires.
    pub delay_minutes: u32,
    /// Everyone notified when this tier fires.
    pub targets: Vec<Target>,
}

/// A snapshot of the user's escalation profile, targets resolved, taken when the episode starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Tiers `1..=n`, in order.
    pub tiers: Vec<PlannedTier>,
    /// How many more times the whole tier sequence runs after the first loop.
    pub repeat: u8,
    /// How long an acknowledgement pauses escalation; 0 means an ack ends escalation.
    pub ack_window_minutes: u32,
    /// The wait after a loop's last tier before the next loop (or before expiry, after the last loop).
    pub loop_gap_minutes: u32,
}

/// Where an episode stands (`escalations.status`; its SQL mapping is in `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "diesel", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    /// Escalating.
    Active,
    /// Paused by an acknowledgement (or ended by one, with a zero ack window).
    Acknowledged,
    /// The reminder was done. Terminal.
    Completed,
    /// Ended without completion: exhausted or superseded. Terminal.
    Expired,
    /// Ended by the user or the system: snoozed or cancelled. Terminal.
    Cancelled,
}

impl EpisodeStatus {
    /// The statuses of an episode that can still change (at most one per reminder: `escalations_one_open`).
    pub const OPEN: [Self; 2] = [Self::Active, Self::Acknowledged];

    const ALL: [Self; 5] = [Self::Active, Self::Acknowledged, Self::Completed, Self::Expired, Self::Cancelled];

    /// The snake_case name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Acknowledged => "acknowledged",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// True when no event can change the episode any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Cancelled)
    }
}

/// Why an episode ended without completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Every tier of every loop fired and the final wait passed.
    Exhausted,
    /// The next occurrence of a recurring reminder fired.
    Superseded,
    /// The user snoozed the reminder.
    Snoozed,
    /// The reminder was archived or the account disabled.
    Cancelled,
}

impl EndReason {
    const ALL: [Self; 4] = [Self::Exhausted, Self::Superseded, Self::Snoozed, Self::Cancelled];

    /// The snake_case name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exhausted => "exhausted",
            Self::Superseded => "superseded",
            Self::Snoozed => "snoozed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == name)
    }
}

/// The state of one escalation episode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// Where the episode stands.
    pub status: EpisodeStatus,
    /// When the reminder fired.
    pub fired_at: DateTime<Utc>,
    /// The last tier fired in this loop; 0 = no tier fired yet in this loop.
    pub current_tier: u16,
    /// 0-based loop number.
    pub loop_index: u8,
    /// When the current loop started (tier delays count from here). May lie in the future during a loop gap.
    pub loop_started_at: DateTime<Utc>,
    /// The one wake-up time the scheduler watches (next tier, next loop, final expiry, or the end of an ack window). None = nothing more to do.
    pub next_step_at: Option<DateTime<Utc>>,
    /// The end of the current acknowledgement window, if any.
    pub ack_until: Option<DateTime<Utc>>,
    /// Why the episode ended without completion; None while running and when completed.
    pub end_reason: Option<EndReason>,
}

impl Episode {
    /// True when a `Due` event at `now` would do something.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_terminal() && self.next_step_at.is_some_and(|at| at <= now)
    }
}

/// Something that happened to an episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The scheduler found `next_step_at` reached.
    Due,
    /// Someone acknowledged the reminder.
    Acknowledged,
    /// The reminder was done.
    Completed,
    /// The user snoozed the reminder (a new episode will start later).
    Snoozed,
    /// The next occurrence of a recurring reminder fired.
    Superseded,
    /// The reminder was archived or the account disabled.
    Cancelled,
    /// A delivery of this tier and loop failed permanently.
    ChannelFailed {
        /// The tier of the failed delivery.
        tier: u16,
        /// The loop of the failed delivery.
        loop_index: u8,
    },
}

/// What the scheduler must do, in the same transaction as storing the new state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// Create one delivery per target for (tier, loop). `escalated` is true for anything but tier 1 of loop 0.
    Deliver {
        /// 1-based tier number.
        tier: u16,
        /// 0-based loop number.
        loop_index: u8,
        /// One delivery per target.
        targets: Vec<Target>,
        /// True for anything but the first tier of the first loop.
        escalated: bool,
    },
    /// Cancel every delivery of this episode that has not started sending.
    CancelPending,
}
