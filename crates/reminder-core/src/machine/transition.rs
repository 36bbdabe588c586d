//! The transitions: [`start`] and [`step`], following the rules in the parent module's documentation.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Effect, EndReason, Episode, EpisodeStatus, Event, Plan};

/// Starts an episode for a reminder that fired at `fired_at`.
///
/// The plan should have passed [`Plan::validate`]; a plan without tiers still yields an episode,
/// which expires at its first `Due`.
pub fn start(plan: &Plan, fired_at: DateTime<Utc>) -> Episode {
    Episode {
        status: EpisodeStatus::Active,
        fired_at,
        current_tier: 0,
        loop_index: 0,
        loop_started_at: fired_at,
        next_step_at: Some(plus(fired_at, first_delay(plan))),
        ack_until: None,
        end_reason: None,
    }
}

/// Applies `event` at `now`: returns the new state and what the scheduler must do. The rules are
/// in the documentation of the [`machine`](super) module.
pub fn step(plan: &Plan, episode: &Episode, event: Event, now: DateTime<Utc>) -> (Episode, Vec<Effect>) {
    use EpisodeStatus as S;

    let unchanged = || (episode.clone(), Vec::new());
    if episode.status.is_terminal() {
        return unchanged();
    }
    let mut next = episode.clone();
    match event {
        Event::Due if !episode.is_due(now) => unchanged(),
        Event::Due => match episode.status {
            S::Acknowledged => {
                resume(plan, &mut next, now);
                (next, Vec::new())
            }
            _ => {
                let effects = advance(plan, &mut next, now).into_iter().collect();
                (next, effects)
            }
        },
        Event::Acknowledged => {
            next.status = S::Acknowledged;
            next.ack_until = match plan.ack_window_minutes {
                0 => None,
                window => Some(plus(now, window)),
            };
            next.next_step_at = next.ack_until;
            (next, vec![Effect::CancelPending])
        }
        Event::Completed => end(next, S::Completed, None),
        Event::Snoozed => end(next, S::Cancelled, Some(EndReason::Snoozed)),
        Event::Superseded => end(next, S::Expired, Some(EndReason::Superseded)),
        Event::Cancelled => end(next, S::Cancelled, Some(EndReason::Cancelled)),
        Event::ChannelFailed { tier, loop_index } => {
            let current = episode.status == S::Active
                && tier != 0
                && tier == episode.current_tier
                && loop_index == episode.loop_index;
            // Only skip ahead to a later tier; never shorten a loop gap or the final wait.
            let later_tier_left = tier < tier_count(plan);
            match episode.next_step_at {
                Some(at) if current && later_tier_left => {
                    next.next_step_at = Some(at.min(now));
                    (next, Vec::new())
                }
                _ => unchanged(),
            }
        }
    }
}

/// `Due` while active: fires the next tier, or expires after the final wait.
fn advance(plan: &Plan, episode: &mut Episode, now: DateTime<Utc>) -> Option<Effect> {
    let index = usize::from(episode.current_tier);
    let Some(this) = plan.tiers.get(index) else {
        // No tier left. Normally this is the end of the final wait; a loop still left can only
        // mean a hand-edited state, and continuing with it is the least surprising repair.
        if episode.loop_index < plan.repeat && !plan.tiers.is_empty() {
            after_last_tier(plan, episode, now);
        } else {
            episode.status = EpisodeStatus::Expired;
            episode.end_reason = Some(EndReason::Exhausted);
            episode.next_step_at = None;
        }
        return None;
    };
    // `index < tiers.len()`, so this only saturates for plans with more than u16::MAX tiers.
    let tier = episode.current_tier.saturating_add(1);
    let fired_loop = episode.loop_index;
    episode.current_tier = tier;
    match plan.tiers.get(index + 1) {
        Some(following) => {
            // A late scheduler must not fire the remaining tiers in a burst: keep their spacing.
            let planned = plus(episode.loop_started_at, following.delay_minutes);
            let spaced = plus(now, following.delay_minutes.saturating_sub(this.delay_minutes));
            episode.next_step_at = Some(planned.max(spaced));
        }
        None => after_last_tier(plan, episode, now),
    }
    Some(Effect::Deliver {
        tier,
        loop_index: fired_loop,
        targets: this.targets.clone(),
        escalated: tier != 1 || fired_loop != 0,
    })
}

/// `Due` while acknowledged: the window is over, so escalation resumes where it left off.
fn resume(plan: &Plan, episode: &mut Episode, now: DateTime<Utc>) {
    episode.status = EpisodeStatus::Active;
    episode.ack_until = None;
    match plan.tiers.get(usize::from(episode.current_tier)) {
        Some(pending) => {
            let planned = plus(episode.loop_started_at, pending.delay_minutes);
            episode.next_step_at = Some(planned.max(now));
        }
        None => after_last_tier(plan, episode, now),
    }
}

/// After a loop's last tier (or when resuming with none left): the next loop, or the final wait.
fn after_last_tier(plan: &Plan, episode: &mut Episode, now: DateTime<Utc>) {
    let gap_end = plus(now, plan.loop_gap_minutes);
    if episode.loop_index < plan.repeat {
        episode.loop_index += 1;
        episode.current_tier = 0;
        episode.loop_started_at = gap_end;
        episode.next_step_at = Some(plus(gap_end, first_delay(plan)));
    } else {
        episode.next_step_at = Some(gap_end);
    }
}

/// Ends a non-terminal episode because of an outside event.
fn end(mut episode: Episode, status: EpisodeStatus, reason: Option<EndReason>) -> (Episode, Vec<Effect>) {
    episode.status = status;
    episode.end_reason = reason;
    episode.next_step_at = None;
    (episode, vec![Effect::CancelPending])
}

fn first_delay(plan: &Plan) -> u32 {
    plan.tiers.first().map_or(0, |tier| tier.delay_minutes)
}

fn tier_count(plan: &Plan) -> u16 {
    u16::try_from(plan.tiers.len()).unwrap_or(u16::MAX)
}

/// `at + minutes`, saturating instead of panicking on overflow.
fn plus(at: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    at.checked_add_signed(TimeDelta::minutes(i64::from(minutes))).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
