//! Property tests: random valid plans, random event sequences with non-decreasing times, and the
//! invariants every run must keep.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use uuid::Uuid;

use super::*;

fn target() -> impl Strategy<Value = Target> {
    (any::<bool>(), any::<u128>(), prop::sample::select(ChannelKind::ALL.to_vec())).prop_map(
        |(contact, id, channel)| Target {
            kind: if contact { TargetKind::Contact } else { TargetKind::Subscription },
            id: Uuid::from_u128(id),
            channel,
        },
    )
}

/// Zero often enough to exercise equal delays, zero gaps and zero ack windows.
fn minutes(max: u32) -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0), 3 => 1..=max]
}

/// Valid plans: 1–5 tiers, non-decreasing delays, 1–3 targets, repeat 0–3, ack window 0–120.
fn valid_plan() -> impl Strategy<Value = Plan> {
    (
        minutes(30),
        prop::collection::vec((minutes(60), prop::collection::vec(target(), 1..=3)), 1..=5),
        0u8..=3,
        minutes(120),
        minutes(60),
    )
        .prop_map(|(first_delay, steps, repeat, ack_window_minutes, loop_gap_minutes)| {
            let mut delay_minutes = first_delay;
            let tiers = steps
                .into_iter()
                .enumerate()
                .map(|(i, (step, targets))| {
                    if i > 0 {
                        delay_minutes += step;
                    }
                    PlannedTier { tier: u16::try_from(i + 1).unwrap(), delay_minutes, targets }
                })
                .collect();
            Plan { tiers, repeat, ack_window_minutes, loop_gap_minutes }
        })
}

/// One scripted action; time only moves forward.
#[derive(Clone, Debug)]
enum Op {
    /// `Due` at `next_step_at + late` (or now, if that has passed).
    DueOnTime {
        late: u32,
    },
    /// `Due` after moving `advance` minutes on, wherever `next_step_at` is (often early).
    DueEarly {
        advance: u32,
    },
    Ack {
        advance: u32,
    },
    /// `ChannelFailed` for the episode's current tier and loop, or for an arbitrary one.
    Fail {
        current: bool,
        tier: u16,
        loop_index: u8,
        advance: u32,
    },
    /// Completed, Snoozed, Superseded or Cancelled.
    End {
        event: Event,
        advance: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => prop_oneof![3 => Just(0u32), 1 => 0u32..=90].prop_map(|late| Op::DueOnTime { late }),
        2 => (0u32..=10).prop_map(|advance| Op::DueEarly { advance }),
        2 => (0u32..=30).prop_map(|advance| Op::Ack { advance }),
        3 => (prop::bool::weighted(0.7), 0u16..=6, 0u8..=4, 0u32..=10).prop_map(|(current, tier, loop_index, advance)| {
            Op::Fail { current, tier, loop_index, advance }
        }),
        1 => (
            prop::sample::select(vec![Event::Completed, Event::Snoozed, Event::Superseded, Event::Cancelled]),
            0u32..=30,
        )
            .prop_map(|(event, advance)| Op::End { event, advance }),
    ]
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap()
}

fn later(now: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    now + TimeDelta::minutes(i64::from(minutes))
}

fn total_deliveries(plan: &Plan) -> usize {
    plan.tiers.len() * (usize::from(plan.repeat) + 1)
}

/// The only order deliveries may come in: (1,0), (2,0) … (n,0), (1,1) … (n,repeat).
fn expected_order(plan: &Plan) -> Vec<(u16, u8)> {
    (0..=plan.repeat).flat_map(|loop_index| plan.tiers.iter().map(move |tier| (tier.tier, loop_index))).collect()
}

/// What a run has seen so far.
#[derive(Default)]
struct Seen {
    /// (tier, loop, time) of every delivery, in order.
    deliveries: Vec<(u16, u8, DateTime<Utc>)>,
    ended_by_event: bool,
}

/// Applies one event and checks every invariant on the transition.
fn apply(
    plan: &Plan,
    episode: &Episode,
    event: Event,
    now: DateTime<Utc>,
    seen: &mut Seen,
) -> Result<Episode, TestCaseError> {
    let (after, effects) = step(plan, episode, event, now);
    let delivers: Vec<&Effect> = effects.iter().filter(|e| matches!(e, Effect::Deliver { .. })).collect();

    // (7) A terminal episode never changes.
    if episode.status.is_terminal() {
        prop_assert_eq!(&after, episode);
        prop_assert!(effects.is_empty());
    }
    // (1) No delivery after an ending event, nor while acknowledged; only Due delivers.
    if seen.ended_by_event || episode.status == EpisodeStatus::Acknowledged || event != Event::Due {
        prop_assert!(delivers.is_empty(), "delivery from {:?} on {:?}", event, episode);
    }
    prop_assert!(delivers.len() <= 1);
    // (2)(3)(4) Deliveries follow the one allowed order, so none repeats, none is skipped and
    // loops never exceed repeat.
    let order = expected_order(plan);
    for effect in delivers {
        let Effect::Deliver { tier, loop_index, targets, escalated } = effect else { unreachable!() };
        let expected = order.get(seen.deliveries.len()).copied();
        prop_assert_eq!(Some((*tier, *loop_index)), expected, "after {:?}", seen.deliveries);
        prop_assert!(*loop_index <= plan.repeat);
        prop_assert_eq!(targets, &plan.tiers[usize::from(*tier) - 1].targets);
        prop_assert_eq!(*escalated, *tier != 1 || *loop_index != 0);
        seen.deliveries.push((*tier, *loop_index, now));
    }
    // (6) A newly set next_step_at is never in the past, except ChannelFailed pulling it to now.
    if let Some(next) = after.next_step_at.filter(|_| after.next_step_at != episode.next_step_at) {
        if matches!(event, Event::ChannelFailed { .. }) {
            prop_assert_eq!(next, now);
        } else {
            prop_assert!(next >= now, "{:?} set next_step_at {} before {}", event, next, now);
        }
    }
    if !episode.status.is_terminal() {
        let ends = match event {
            Event::Completed => Some((EpisodeStatus::Completed, None)),
            Event::Snoozed => Some((EpisodeStatus::Cancelled, Some(EndReason::Snoozed))),
            Event::Superseded => Some((EpisodeStatus::Expired, Some(EndReason::Superseded))),
            Event::Cancelled => Some((EpisodeStatus::Cancelled, Some(EndReason::Cancelled))),
            _ => None,
        };
        if let Some((status, reason)) = ends {
            prop_assert_eq!(after.status, status);
            prop_assert_eq!(after.end_reason, reason);
            prop_assert_eq!(&effects, &vec![Effect::CancelPending]);
            seen.ended_by_event = true;
        }
        if event == Event::Acknowledged {
            prop_assert_eq!(after.status, EpisodeStatus::Acknowledged);
            prop_assert_eq!(&effects, &vec![Effect::CancelPending]);
        }
    }
    // Shape of every state.
    prop_assert_eq!(after.fired_at, episode.fired_at);
    prop_assert!(usize::from(after.current_tier) <= plan.tiers.len());
    prop_assert!(after.loop_index <= plan.repeat);
    match after.status {
        EpisodeStatus::Active => {
            prop_assert!(after.next_step_at.is_some());
            prop_assert!(after.ack_until.is_none());
            prop_assert!(after.end_reason.is_none());
        }
        EpisodeStatus::Acknowledged => {
            prop_assert_eq!(after.next_step_at, after.ack_until);
            prop_assert_eq!(after.ack_until.is_some(), plan.ack_window_minutes > 0);
            prop_assert!(after.end_reason.is_none());
        }
        EpisodeStatus::Completed => {
            prop_assert!(after.next_step_at.is_none());
            prop_assert!(after.end_reason.is_none());
        }
        EpisodeStatus::Expired | EpisodeStatus::Cancelled => {
            prop_assert!(after.next_step_at.is_none());
            prop_assert!(after.end_reason.is_some());
        }
    }
    // Exhaustion means every tier of every loop went out.
    if after.end_reason == Some(EndReason::Exhausted) {
        prop_assert_eq!(seen.deliveries.len(), total_deliveries(plan));
        prop_assert_eq!(after.status, EpisodeStatus::Expired);
    }
    Ok(after)
}

/// Drives only `Due` events, each `late(i)` minutes after `next_step_at`, until the episode ends;
/// fails if it takes more than `bound` steps.
fn drive_out(
    plan: &Plan,
    mut episode: Episode,
    mut now: DateTime<Utc>,
    seen: &mut Seen,
    mut late: impl FnMut(usize) -> u32,
) -> Result<(Episode, DateTime<Utc>), TestCaseError> {
    let bound = total_deliveries(plan) + 2;
    for i in 0..bound {
        let Some(next) = episode.next_step_at else {
            break;
        };
        now = later(now.max(next), late(i));
        episode = apply(plan, &episode, Event::Due, now, seen)?;
    }
    Ok((episode, now))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random plans and random event sequences keep invariants 1–4, 6 and 7, and any episode
    /// left running still ends (5) when only Due events follow.
    #[test]
    fn random_sequences_keep_the_invariants(plan in valid_plan(), ops in prop::collection::vec(op(), 0..40), offset in 0u32..1_000_000) {
        prop_assert_eq!(plan.validate(), Ok(()));
        let mut now = later(base(), offset);
        let mut episode = start(&plan, now);
        let mut seen = Seen::default();
        for op in ops {
            let event = match op {
                Op::DueOnTime { late } => {
                    if let Some(next) = episode.next_step_at {
                        now = now.max(later(next, late));
                    }
                    Event::Due
                }
                Op::DueEarly { advance } => {
                    now = later(now, advance);
                    Event::Due
                }
                Op::Ack { advance } => {
                    now = later(now, advance);
                    Event::Acknowledged
                }
                Op::Fail { current, tier, loop_index, advance } => {
                    now = later(now, advance);
                    if current {
                        Event::ChannelFailed { tier: episode.current_tier, loop_index: episode.loop_index }
                    } else {
                        Event::ChannelFailed { tier, loop_index }
                    }
                }
                Op::End { event, advance } => {
                    now = later(now, advance);
                    event
                }
            };
            episode = apply(&plan, &episode, event, now, &mut seen)?;
        }
        let stopped_by_zero_ack = episode.status == EpisodeStatus::Acknowledged && episode.next_step_at.is_none();
        if !episode.status.is_terminal() && !stopped_by_zero_ack {
            let (episode, _) = drive_out(&plan, episode, now, &mut seen, |_| 0)?;
            prop_assert_eq!(episode.status, EpisodeStatus::Expired);
            prop_assert_eq!(episode.end_reason, Some(EndReason::Exhausted));
        }
        if stopped_by_zero_ack {
            prop_assert_eq!(plan.ack_window_minutes, 0);
        }
    }

    /// (5) Only on-time Due events: every tier of every loop at its planned time, then expiry
    /// one loop gap after the last tier, in exactly tiers × (repeat + 1) + 1 steps.
    #[test]
    fn on_time_dues_follow_the_plan_and_expire(plan in valid_plan()) {
        let fired_at = base();
        let mut seen = Seen::default();
        let mut episode = start(&plan, fired_at);
        let mut now = fired_at;
        let mut steps = 0;
        while let Some(next) = episode.next_step_at {
            prop_assert!(steps <= total_deliveries(&plan));
            now = next;
            episode = apply(&plan, &episode, Event::Due, now, &mut seen)?;
            steps += 1;
        }
        prop_assert_eq!(steps, total_deliveries(&plan) + 1);
        prop_assert_eq!(episode.status, EpisodeStatus::Expired);
        prop_assert_eq!(episode.end_reason, Some(EndReason::Exhausted));
        prop_assert_eq!(seen.deliveries.len(), total_deliveries(&plan));

        let gap = plan.loop_gap_minutes;
        let mut loop_start = fired_at;
        for (i, &(tier, loop_index, at)) in seen.deliveries.iter().enumerate() {
            let planned = later(loop_start, plan.tiers[usize::from(tier) - 1].delay_minutes);
            prop_assert_eq!(at, planned, "tier {} loop {}", tier, loop_index);
            if usize::from(tier) == plan.tiers.len() {
                loop_start = later(at, gap);
                if i + 1 == seen.deliveries.len() {
                    prop_assert_eq!(now, loop_start, "expiry one loop gap after the last tier");
                }
            }
        }
    }

    /// A late scheduler never bunches tiers: within a loop each tier comes at least its planned
    /// spacing after the previous one, and never before its planned time.
    #[test]
    fn late_dues_keep_tier_spacing(plan in valid_plan(), lateness in prop::collection::vec(0u32..=120, 30)) {
        let fired_at = base();
        let mut seen = Seen::default();
        let episode = start(&plan, fired_at);
        let (episode, _) = drive_out(&plan, episode, fired_at, &mut seen, |i| lateness[i % lateness.len()])?;
        prop_assert_eq!(episode.status, EpisodeStatus::Expired);
        prop_assert_eq!(seen.deliveries.len(), total_deliveries(&plan));

        let mut loop_start = fired_at;
        let mut previous: Option<(u16, DateTime<Utc>)> = None;
        for &(tier, _, at) in &seen.deliveries {
            let delay = plan.tiers[usize::from(tier) - 1].delay_minutes;
            if tier == 1 {
                previous = None;
            }
            prop_assert!(at >= later(loop_start, delay));
            if let Some((before, before_at)) = previous {
                let spacing = delay - plan.tiers[usize::from(before) - 1].delay_minutes;
                prop_assert!(at >= later(before_at, spacing), "tier {} came {} after tier {}", tier, at - before_at, before);
            }
            previous = Some((tier, at));
            if usize::from(tier) == plan.tiers.len() {
                loop_start = later(at, plan.loop_gap_minutes);
            }
        }
    }
}
