//! Checks and defaults for [`Plan`]s, applied when a plan is built from a profile.

use super::{MAX_REPEAT, Plan, PlannedTier};

/// The smallest default gap between loops, so a plan with tightly packed tiers still pauses.
const MIN_DEFAULT_LOOP_GAP_MINUTES: u32 = 5;
/// The smallest default gap for a single-tier plan, which has no inter-tier gap to copy.
const MIN_SINGLE_TIER_LOOP_GAP_MINUTES: u32 = 15;

impl Plan {
    /// Validates tiers 1..n consecutive, non-decreasing delays, each tier has >= 1 target, repeat <= 10. Returns a message naming the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.tiers.is_empty() {
            return Err("the plan has no tiers".to_owned());
        }
        let mut previous: Option<&PlannedTier> = None;
        for (position, tier) in self.tiers.iter().enumerate() {
            let expected = position + 1;
            if usize::from(tier.tier) != expected {
                return Err(format!(
                    "tier numbers must run 1..n in order: position {expected} holds tier {}",
                    tier.tier
                ));
            }
            if let Some(before) = previous.filter(|before| tier.delay_minutes < before.delay_minutes) {
                return Err(format!(
                    "tier {} has a delay of {} minutes, less than tier {}'s {} minutes",
                    tier.tier, tier.delay_minutes, before.tier, before.delay_minutes
                ));
            }
            if tier.targets.is_empty() {
                return Err(format!("tier {} has no targets", tier.tier));
            }
            previous = Some(tier);
        }
        if self.repeat > MAX_REPEAT {
            return Err(format!("repeat is {}, at most {MAX_REPEAT} is allowed", self.repeat));
        }
        Ok(())
    }

    /// Default loop gap when a profile doesn't set one: the last inter-tier gap, at least 5 minutes (single-tier plans: max(delay, 15)).
    ///
    /// An empty tier list gets 15 minutes, like a single tier with no delay.
    pub fn default_loop_gap_minutes(tiers: &[PlannedTier]) -> u32 {
        match tiers {
            [] => MIN_SINGLE_TIER_LOOP_GAP_MINUTES,
            [only] => only.delay_minutes.max(MIN_SINGLE_TIER_LOOP_GAP_MINUTES),
            [.., before, last] => {
                last.delay_minutes.saturating_sub(before.delay_minutes).max(MIN_DEFAULT_LOOP_GAP_MINUTES)
            }
        }
    }
}
