//! Table tests: each case is a plan and a sequence of (time, event) rows with the expected result.

use EndReason as R;
use EpisodeStatus as S;
use Event as E;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use super::*;

/// An expected effect: `D(tier, loop)` is a delivery (targets and `escalated` are checked
/// against the plan for every delivery), `C` is `CancelPending`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum X {
    D(u16, u8),
    C,
}
use X::{C, D};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    base() + TimeDelta::minutes(minutes)
}

fn target(n: u128) -> Target {
    Target {
        kind: if n & 1 == 0 { TargetKind::Subscription } else { TargetKind::Contact },
        id: Uuid::from_u128(n),
        channel: ChannelKind::ALL[(n % 4) as usize],
    }
}

/// A plan whose tier `i` has delay `delays[i - 1]` and one target per tier, plus a second on tier 2.
fn plan(delays: &[u32], repeat: u8, ack_window_minutes: u32, loop_gap_minutes: u32) -> Plan {
    let tiers = delays
        .iter()
        .enumerate()
        .map(|(i, &delay_minutes)| {
            let tier = u16::try_from(i + 1).unwrap();
            let mut targets = vec![target(u128::from(tier))];
            if tier == 2 {
                targets.push(target(100));
            }
            PlannedTier { tier, delay_minutes, targets }
        })
        .collect();
    Plan { tiers, repeat, ack_window_minutes, loop_gap_minutes }
}

/// One row: at minute `at`, apply `event`; expect this status, end reason, next_step_at,
/// ack_until (minutes from base) and effects.
struct Row {
    at: i64,
    event: Event,
    status: EpisodeStatus,
    end: Option<EndReason>,
    next: Option<i64>,
    ack: Option<i64>,
    effects: &'static [X],
}

fn r(at: i64, event: Event, status: EpisodeStatus, next: Option<i64>, ack: Option<i64>, effects: &'static [X]) -> Row {
    Row { at, event, status, end: None, next, ack, effects }
}

/// A row that ends the episode with an end reason (next_step_at is then always None).
fn ended(
    at: i64,
    event: Event,
    status: EpisodeStatus,
    end: Option<EndReason>,
    ack: Option<i64>,
    effects: &'static [X],
) -> Row {
    Row { at, event, status, end, next: None, ack, effects }
}

fn describe(plan: &Plan, effect: &Effect) -> X {
    match effect {
        Effect::CancelPending => C,
        Effect::Deliver { tier, loop_index, targets, escalated } => {
            let planned = &plan.tiers[usize::from(*tier) - 1];
            assert_eq!(targets, &planned.targets, "targets of tier {tier}");
            assert_eq!(*escalated, *tier != 1 || *loop_index != 0, "escalated flag of tier {tier} loop {loop_index}");
            D(*tier, *loop_index)
        }
    }
}

/// Runs one case from an episode started at minute 0 and returns the final episode.
fn run(name: &str, plan: &Plan, rows: &[Row]) -> Episode {
    assert_eq!(plan.validate(), Ok(()), "{name}: plan");
    let mut episode = start(plan, at(0));
    for (i, row) in rows.iter().enumerate() {
        let (next, effects) = step(plan, &episode, row.event, at(row.at));
        let context = format!("{name}, row {} ({:?} at {})", i + 1, row.event, row.at);
        let described: Vec<X> = effects.iter().map(|effect| describe(plan, effect)).collect();
        assert_eq!(described, row.effects, "{context}: effects");
        assert_eq!(next.status, row.status, "{context}: status");
        assert_eq!(next.end_reason, row.end, "{context}: end reason");
        assert_eq!(next.next_step_at, row.next.map(at), "{context}: next_step_at");
        assert_eq!(next.ack_until, row.ack.map(at), "{context}: ack_until");
        assert_eq!(next.fired_at, at(0), "{context}: fired_at never changes");
        episode = next;
    }
    episode
}

const FAIL_1_0: Event = E::ChannelFailed { tier: 1, loop_index: 0 };

#[test]
fn table() {
    use S::{Acknowledged as Ack, Active, Cancelled, Completed, Expired};
    let three = plan(&[0, 10, 30], 0, 15, 20);
    let cases: Vec<(&str, Plan, Vec<Row>)> = vec![
        (
            "on time: three tiers, final wait, exhausted",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(30), None, &[D(2, 0)]),
                r(30, E::Due, Active, Some(50), None, &[D(3, 0)]),
                ended(50, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "early and repeated Due change nothing",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(0, E::Due, Active, Some(10), None, &[]),
                r(9, E::Due, Active, Some(10), None, &[]),
                r(10, E::Due, Active, Some(30), None, &[D(2, 0)]),
                r(10, E::Due, Active, Some(30), None, &[]),
                r(29, E::Due, Active, Some(30), None, &[]),
            ],
        ),
        (
            "a late scheduler keeps the spacing of later tiers",
            three.clone(),
            vec![
                r(25, E::Due, Active, Some(35), None, &[D(1, 0)]),
                r(35, E::Due, Active, Some(55), None, &[D(2, 0)]),
                r(55, E::Due, Active, Some(75), None, &[D(3, 0)]),
                ended(75, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "a slightly late tier only pushes the next one by the lateness",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(13, E::Due, Active, Some(33), None, &[D(2, 0)]),
                r(33, E::Due, Active, Some(53), None, &[D(3, 0)]),
            ],
        ),
        (
            "equal delays fire on consecutive Dues without waiting",
            plan(&[0, 0, 10], 0, 15, 5),
            vec![
                r(0, E::Due, Active, Some(0), None, &[D(1, 0)]),
                r(0, E::Due, Active, Some(10), None, &[D(2, 0)]),
                r(10, E::Due, Active, Some(15), None, &[D(3, 0)]),
                ended(15, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "two tiers, repeat 2: 1,2,1,2,1,2 then expired",
            plan(&[0, 10], 2, 15, 15),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(25), None, &[D(2, 0)]),
                r(25, E::Due, Active, Some(35), None, &[D(1, 1)]),
                r(35, E::Due, Active, Some(50), None, &[D(2, 1)]),
                r(50, E::Due, Active, Some(60), None, &[D(1, 2)]),
                r(60, E::Due, Active, Some(75), None, &[D(2, 2)]),
                ended(75, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "tier 1 delay counts from each loop start",
            plan(&[5, 20], 1, 15, 10),
            vec![
                r(4, E::Due, Active, Some(5), None, &[]),
                r(5, E::Due, Active, Some(20), None, &[D(1, 0)]),
                r(20, E::Due, Active, Some(35), None, &[D(2, 0)]),
                r(34, E::Due, Active, Some(35), None, &[]),
                r(35, E::Due, Active, Some(50), None, &[D(1, 1)]),
                r(50, E::Due, Active, Some(60), None, &[D(2, 1)]),
                ended(60, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "a zero loop gap starts the next loop at once",
            plan(&[0], 1, 15, 0),
            vec![
                r(0, E::Due, Active, Some(0), None, &[D(1, 0)]),
                r(0, E::Due, Active, Some(0), None, &[D(1, 1)]),
                ended(0, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "ack window over: resume at the next tier",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                r(10, E::Due, Ack, Some(18), Some(18), &[]),
                r(18, E::Due, Active, Some(18), None, &[]),
                r(18, E::Due, Active, Some(38), None, &[D(2, 0)]),
                r(38, E::Due, Active, Some(58), None, &[D(3, 0)]),
                ended(58, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "an ack window ending before the next tier keeps the plan",
            plan(&[0, 10, 30], 0, 5, 20),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(1, E::Acknowledged, Ack, Some(6), Some(6), &[C]),
                r(6, E::Due, Active, Some(10), None, &[]),
                r(10, E::Due, Active, Some(30), None, &[D(2, 0)]),
            ],
        ),
        (
            "a second ack extends the window",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                r(10, E::Acknowledged, Ack, Some(25), Some(25), &[C]),
                r(18, E::Due, Ack, Some(25), Some(25), &[]),
                r(25, E::Due, Active, Some(25), None, &[]),
                r(25, E::Due, Active, Some(45), None, &[D(2, 0)]),
            ],
        ),
        (
            "an ack before the first tier",
            plan(&[5, 10], 0, 10, 5),
            vec![
                r(1, E::Acknowledged, Ack, Some(11), Some(11), &[C]),
                r(11, E::Due, Active, Some(11), None, &[]),
                r(11, E::Due, Active, Some(16), None, &[D(1, 0)]),
                r(16, E::Due, Active, Some(21), None, &[D(2, 0)]),
            ],
        ),
        (
            "an ack with window 0 ends escalation",
            plan(&[0, 10, 30], 0, 0, 20),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(3, E::Acknowledged, Ack, None, None, &[C]),
                r(500, E::Due, Ack, None, None, &[]),
                r(500, FAIL_1_0, Ack, None, None, &[]),
                r(501, E::Acknowledged, Ack, None, None, &[C]),
                ended(600, E::Completed, Completed, None, None, &[C]),
                ended(700, E::Due, Completed, None, None, &[]),
            ],
        ),
        (
            "ack then complete keeps ack_until",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                ended(5, E::Completed, Completed, None, Some(18), &[C]),
                ended(18, E::Due, Completed, None, Some(18), &[]),
                ended(20, E::Acknowledged, Completed, None, Some(18), &[]),
            ],
        ),
        (
            "an ack in a loop gap resumes at tier 1 of the next loop",
            plan(&[0, 10], 1, 5, 15),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(25), None, &[D(2, 0)]),
                r(12, E::Acknowledged, Ack, Some(17), Some(17), &[C]),
                r(17, E::Due, Active, Some(25), None, &[]),
                r(25, E::Due, Active, Some(35), None, &[D(1, 1)]),
                r(35, E::Due, Active, Some(50), None, &[D(2, 1)]),
                ended(50, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "an ack outlasting a loop gap",
            plan(&[0, 10], 1, 30, 15),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(25), None, &[D(2, 0)]),
                r(12, E::Acknowledged, Ack, Some(42), Some(42), &[C]),
                r(42, E::Due, Active, Some(42), None, &[]),
                r(42, E::Due, Active, Some(52), None, &[D(1, 1)]),
            ],
        ),
        (
            "an ack in the final wait: window, then a fresh final wait",
            plan(&[0], 0, 30, 15),
            vec![
                r(0, E::Due, Active, Some(15), None, &[D(1, 0)]),
                r(5, E::Acknowledged, Ack, Some(35), Some(35), &[C]),
                r(35, E::Due, Active, Some(50), None, &[]),
                ended(50, E::Due, Expired, Some(R::Exhausted), None, &[]),
            ],
        ),
        (
            "snooze",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                ended(2, E::Snoozed, Cancelled, Some(R::Snoozed), None, &[C]),
                ended(10, E::Due, Cancelled, Some(R::Snoozed), None, &[]),
            ],
        ),
        (
            "superseded",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                ended(2, E::Superseded, Expired, Some(R::Superseded), None, &[C]),
            ],
        ),
        (
            "cancelled",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                ended(2, E::Cancelled, Cancelled, Some(R::Cancelled), None, &[C]),
            ],
        ),
        (
            "completed before any tier",
            three.clone(),
            vec![ended(0, E::Completed, Completed, None, None, &[C]), ended(0, E::Due, Completed, None, None, &[])],
        ),
        (
            "snooze while acknowledged keeps ack_until",
            three.clone(),
            vec![
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                ended(4, E::Snoozed, Cancelled, Some(R::Snoozed), Some(18), &[C]),
            ],
        ),
        (
            "superseded while acknowledged",
            three.clone(),
            vec![
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                ended(4, E::Superseded, Expired, Some(R::Superseded), Some(18), &[C]),
            ],
        ),
        (
            "cancelled while acknowledged",
            three.clone(),
            vec![
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                ended(4, E::Cancelled, Cancelled, Some(R::Cancelled), Some(18), &[C]),
            ],
        ),
        (
            "a channel failure fires the next tier at once; the tier after keeps its plan",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(2, FAIL_1_0, Active, Some(2), None, &[]),
                r(2, E::Due, Active, Some(30), None, &[D(2, 0)]),
                r(3, E::ChannelFailed { tier: 2, loop_index: 0 }, Active, Some(3), None, &[]),
                r(4, E::Due, Active, Some(24), None, &[D(3, 0)]),
            ],
        ),
        (
            "channel failures for another tier, loop or tier 0 change nothing",
            three.clone(),
            vec![
                r(0, E::ChannelFailed { tier: 0, loop_index: 0 }, Active, Some(0), None, &[]),
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(2, E::ChannelFailed { tier: 2, loop_index: 0 }, Active, Some(10), None, &[]),
                r(2, E::ChannelFailed { tier: 1, loop_index: 1 }, Active, Some(10), None, &[]),
                r(10, E::Due, Active, Some(30), None, &[D(2, 0)]),
                r(12, FAIL_1_0, Active, Some(30), None, &[]),
            ],
        ),
        (
            "a channel failure never moves next_step_at later",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(15, FAIL_1_0, Active, Some(10), None, &[]),
                r(15, E::Due, Active, Some(35), None, &[D(2, 0)]),
            ],
        ),
        (
            "a channel failure on the last tier keeps the final wait",
            plan(&[0, 10], 0, 15, 20),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(30), None, &[D(2, 0)]),
                r(11, E::ChannelFailed { tier: 2, loop_index: 0 }, Active, Some(30), None, &[]),
            ],
        ),
        (
            "a channel failure on the last tier keeps the loop gap",
            plan(&[0, 10], 1, 15, 15),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(25), None, &[D(2, 0)]),
                r(11, E::ChannelFailed { tier: 2, loop_index: 0 }, Active, Some(25), None, &[]),
            ],
        ),
        (
            "a channel failure while acknowledged changes nothing",
            three.clone(),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(3, E::Acknowledged, Ack, Some(18), Some(18), &[C]),
                r(4, FAIL_1_0, Ack, Some(18), Some(18), &[]),
            ],
        ),
        (
            "a channel failure in a later loop",
            plan(&[0, 10], 1, 15, 15),
            vec![
                r(0, E::Due, Active, Some(10), None, &[D(1, 0)]),
                r(10, E::Due, Active, Some(25), None, &[D(2, 0)]),
                r(25, E::Due, Active, Some(35), None, &[D(1, 1)]),
                r(26, FAIL_1_0, Active, Some(35), None, &[]),
                r(26, E::ChannelFailed { tier: 1, loop_index: 1 }, Active, Some(26), None, &[]),
                r(26, E::Due, Active, Some(41), None, &[D(2, 1)]),
            ],
        ),
    ];
    for (name, plan, rows) in &cases {
        run(name, plan, rows);
    }
}

#[test]
fn start_schedules_tier_one() {
    let plan = plan(&[5, 20], 1, 15, 10);
    let episode = start(&plan, at(0));
    assert_eq!(
        episode,
        Episode {
            status: S::Active,
            fired_at: at(0),
            current_tier: 0,
            loop_index: 0,
            loop_started_at: at(0),
            next_step_at: Some(at(5)),
            ack_until: None,
            end_reason: None,
        }
    );
}

#[test]
fn loops_track_their_start() {
    let plan = plan(&[0, 10], 2, 15, 15);
    let mut episode = start(&plan, at(0));
    let mut starts = vec![(episode.loop_index, episode.loop_started_at)];
    while let Some(next) = episode.next_step_at {
        episode = step(&plan, &episode, E::Due, next).0;
        if starts.last().map(|&(index, _)| index) != Some(episode.loop_index) {
            starts.push((episode.loop_index, episode.loop_started_at));
        }
    }
    assert_eq!(starts, vec![(0, at(0)), (1, at(25)), (2, at(50))]);
}

#[test]
fn two_tiers_repeat_two_deliver_six_times_in_order() {
    let plan = plan(&[0, 10], 2, 15, 15);
    let mut episode = start(&plan, at(0));
    let mut delivered = Vec::new();
    for _ in 0..100 {
        let Some(next) = episode.next_step_at else {
            break;
        };
        let (after, effects) = step(&plan, &episode, E::Due, next);
        for effect in effects {
            if let Effect::Deliver { tier, loop_index, .. } = effect {
                delivered.push((tier, loop_index));
            }
        }
        episode = after;
    }
    assert_eq!(delivered, vec![(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]);
    assert_eq!(episode.status, S::Expired);
    assert_eq!(episode.end_reason, Some(R::Exhausted));
}

fn all_events() -> Vec<Event> {
    vec![
        E::Due,
        E::Acknowledged,
        E::Completed,
        E::Snoozed,
        E::Superseded,
        E::Cancelled,
        E::ChannelFailed { tier: 0, loop_index: 0 },
        FAIL_1_0,
        E::ChannelFailed { tier: 2, loop_index: 0 },
    ]
}

#[test]
fn terminal_episodes_never_change() {
    let plan = plan(&[0, 10, 30], 1, 15, 20);
    let fresh = start(&plan, at(0));
    let (running, _) = step(&plan, &fresh, E::Due, at(0));
    let mut exhausted = running.clone();
    while !exhausted.status.is_terminal() {
        let next = exhausted.next_step_at.unwrap();
        exhausted = step(&plan, &exhausted, E::Due, next).0;
    }
    let mut terminals = vec![exhausted];
    for event in [E::Completed, E::Snoozed, E::Superseded, E::Cancelled] {
        terminals.push(step(&plan, &running, event, at(1)).0);
    }
    for terminal in terminals {
        assert!(terminal.status.is_terminal());
        assert!(!terminal.is_due(at(10_000)));
        for event in all_events() {
            for now in [at(0), at(1), at(10_000)] {
                assert_eq!(step(&plan, &terminal, event, now), (terminal.clone(), vec![]), "{event:?} on {terminal:?}");
            }
        }
    }
}

#[test]
fn tierless_plan_expires_at_first_due() {
    let plan = Plan { tiers: vec![], repeat: 3, ack_window_minutes: 10, loop_gap_minutes: 10 };
    let episode = start(&plan, at(0));
    assert_eq!(episode.next_step_at, Some(at(0)));
    let (after, effects) = step(&plan, &episode, E::Due, at(0));
    assert_eq!(after.status, S::Expired);
    assert_eq!(after.end_reason, Some(R::Exhausted));
    assert!(effects.is_empty());
}

#[test]
fn huge_delays_saturate_instead_of_panicking() {
    let plan = plan(&[0, u32::MAX], 0, u32::MAX, u32::MAX);
    let far = DateTime::<Utc>::MAX_UTC - TimeDelta::days(1);
    let episode = start(&plan, far);
    let (episode, _) = step(&plan, &episode, E::Due, far);
    assert_eq!(episode.next_step_at, Some(DateTime::<Utc>::MAX_UTC));
    let (episode, _) = step(&plan, &episode, E::Acknowledged, far);
    assert_eq!(episode.ack_until, Some(DateTime::<Utc>::MAX_UTC));
}

#[test]
fn validate_accepts_good_plans() {
    assert_eq!(plan(&[0, 10, 30], 0, 15, 20).validate(), Ok(()));
    assert_eq!(plan(&[5, 5], MAX_REPEAT, 0, 0).validate(), Ok(()));
}

#[test]
fn validate_names_the_problem() {
    let mut gapped = plan(&[0, 10, 30], 0, 15, 20);
    gapped.tiers[2].tier = 4;
    let mut unordered = plan(&[0, 10], 0, 15, 20);
    unordered.tiers.swap(0, 1);
    let mut empty_tier = plan(&[0, 10], 0, 15, 20);
    empty_tier.tiers[1].targets.clear();
    let cases = [
        (plan(&[], 0, 15, 20), "no tiers"),
        (gapped, "position 3 holds tier 4"),
        (unordered, "position 1 holds tier 2"),
        (plan(&[0, 30, 10], 0, 15, 20), "tier 3 has a delay of 10 minutes, less than tier 2's 30"),
        (empty_tier, "tier 2 has no targets"),
        (plan(&[0], MAX_REPEAT + 1, 15, 20), "repeat is 11"),
    ];
    for (plan, expected) in cases {
        let message = plan.validate().unwrap_err();
        assert!(message.contains(expected), "{message:?} should mention {expected:?}");
    }
}

#[test]
fn default_loop_gap() {
    let tiers = |delays: &[u32]| plan(delays, 0, 0, 0).tiers;
    for (delays, expected) in [
        (&[][..], 15),
        (&[0][..], 15),
        (&[40][..], 40),
        (&[0, 10, 30][..], 20),
        (&[0, 2][..], 5),
        (&[0, 60, 60][..], 5),
        (&[10, 100][..], 90),
    ] {
        assert_eq!(Plan::default_loop_gap_minutes(&tiers(delays)), expected, "{delays:?}");
    }
}

#[test]
fn names_round_trip() {
    for status in EpisodeStatus::ALL {
        assert_eq!(EpisodeStatus::parse(status.as_str()), Some(status));
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
    }
    for reason in EndReason::ALL {
        assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
        assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
    }
    for kind in [TargetKind::Subscription, TargetKind::Contact] {
        assert_eq!(TargetKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(EpisodeStatus::parse("Active"), None);
    assert_eq!(EndReason::parse(""), None);
    assert_eq!(TargetKind::parse("user"), None);
    let terminal: Vec<_> = EpisodeStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
    assert_eq!(terminal, vec![S::Completed, S::Expired, S::Cancelled]);
}

#[test]
fn serde_shapes() {
    let plan = plan(&[0, 10], 1, 15, 20);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["tiers"][0]["targets"][0]["kind"], "contact");
    assert_eq!(json["tiers"][0]["targets"][0]["channel"], "sms");
    assert_eq!(serde_json::from_value::<Plan>(json).unwrap(), plan);

    let episode = step(&plan, &start(&plan, at(0)), E::Acknowledged, at(1)).0;
    let json = serde_json::to_value(&episode).unwrap();
    assert_eq!(json["status"], "acknowledged");
    assert_eq!(serde_json::from_value::<Episode>(json).unwrap(), episode);

    let event = E::ChannelFailed { tier: 2, loop_index: 1 };
    let json = serde_json::to_value(event).unwrap();
    assert_eq!(json, serde_json::json!({"type": "channel_failed", "tier": 2, "loop_index": 1}));
    assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    assert_eq!(serde_json::to_value(E::Due).unwrap(), serde_json::json!({"type": "due"}));

    let effect = Effect::Deliver { tier: 1, loop_index: 0, targets: plan.tiers[0].targets.clone(), escalated: false };
    let json = serde_json::to_value(&effect).unwrap();
    assert_eq!(json["type"], "deliver");
    assert_eq!(serde_json::from_value::<Effect>(json).unwrap(), effect);
    assert_eq!(serde_json::to_value(Effect::CancelPending).unwrap(), serde_json::json!({"type": "cancel_pending"}));
}
