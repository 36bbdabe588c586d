use chrono::{Duration, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use uuid::Uuid;

use super::*;

const CAL: Uuid = Uuid::from_u128(1);
const REMINDER: Uuid = Uuid::from_u128(2);

fn at(h: u32, m: u32) -> DateTime<Utc> {
    // 7 Dec 2026 in Berlin (UTC+1).
    Berlin.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap().with_timezone(&Utc)
}

fn event(summary: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Event {
    Event {
        calendar_id: CAL,
        starts_at: from,
        ends_at: to,
        summary: summary.into(),
        categories: vec!["Family".into()],
        all_day: false,
        busy: true,
        holiday: false,
    }
}

fn rule(action: Action, matcher: Match) -> Rule {
    Rule { calendar_id: CAL, matcher, action, reminders: None }
}

fn busy() -> Match {
    Match { busy: Some(true), ..Match::default() }
}

fn occurrence(when: DateTime<Utc>) -> Occurrence {
    Occurrence {
        reminder: REMINDER,
        at: when,
        zone: Berlin,
        critical: false,
        skip_holidays: false,
        span: Duration::minutes(90),
    }
}

#[test]
fn a_reminder_inside_a_busy_block_is_paused_until_it_ends() {
    let events = [event("Kids with Ex", at(16, 30), at(18, 0))];
    let effect = effect(&occurrence(at(17, 0)), &events, &[rule(Action::PauseDuring, busy())]);
    assert_eq!(effect, Effect::Pause { until: at(18, 0), reason: "Kids with Ex".into() });
}

#[test]
fn back_to_back_blocks_pause_until_the_last_ends_and_critical_is_never_paused() {
    let events = [event("A", at(16, 30), at(18, 0)), event("B", at(18, 0), at(19, 15))];
    let rules = [rule(Action::SnoozeUntilEnd, busy())];
    assert_eq!(
        effect(&occurrence(at(17, 0)), &events, &rules),
        Effect::Snooze { until: at(19, 15), reason: "A".into() }
    );
    let critical = Occurrence { critical: true, ..occurrence(at(17, 0)) };
    assert_eq!(effect(&critical, &events, &rules), Effect::None);
}

#[test]
fn skip_day_reads_the_reminders_own_day() {
    // An all-day event on the 7th in Berlin: 23:30 on the 7th is that day; 00:30 on the 8th is not.
    let mut day = event("Holiday trip", at(0, 0), at(0, 0) + Duration::days(1));
    day.all_day = true;
    let rules = [rule(Action::SkipDay, Match { all_day: Some(true), ..Match::default() })];
    assert!(matches!(effect(&occurrence(at(23, 30)), &[day.clone()], &rules), Effect::Skip { .. }));
    assert_eq!(effect(&occurrence(at(23, 30) + Duration::hours(1)), &[day], &rules), Effect::None);
}

#[test]
fn holidays_skip_only_reminders_that_ask() {
    let mut holiday = event("Christmas Day", at(0, 0), at(0, 0) + Duration::days(1));
    holiday.holiday = true;
    let plain = occurrence(at(9, 0));
    assert_eq!(effect(&plain, &[holiday.clone()], &[]), Effect::None);
    let asks = Occurrence { skip_holidays: true, ..plain };
    assert_eq!(effect(&asks, &[holiday], &[]), Effect::Skip { reason: "holiday: Christmas Day".into() });
}

#[test]
fn rules_match_their_own_calendar_and_reminders_only() {
    let mut other_calendar = event("Meeting", at(16, 30), at(18, 0));
    other_calendar.calendar_id = Uuid::from_u128(9);
    assert_eq!(effect(&occurrence(at(17, 0)), &[other_calendar], &[rule(Action::PauseDuring, busy())]), Effect::None);
    let events = [event("Meeting", at(16, 30), at(18, 0))];
    let scoped = Rule { reminders: Some(vec![Uuid::from_u128(3)]), ..rule(Action::PauseDuring, busy()) };
    assert_eq!(effect(&occurrence(at(17, 0)), &events, &[scoped]), Effect::None);
}

#[test]
fn matches_combine_title_category_and_busy() {
    let e = event("Dentist appointment", at(9, 0), at(10, 0));
    assert!(Match { summary_contains: Some("DENTIST".into()), ..Match::default() }.matches(&e));
    assert!(Match { category: Some("family".into()), busy: Some(true), ..Match::default() }.matches(&e));
    assert!(!Match { summary_contains: Some("dentist".into()), busy: Some(false), ..Match::default() }.matches(&e));
    assert!(!Match { all_day: Some(true), ..Match::default() }.matches(&e));
}

#[test]
fn a_free_gap_before_a_long_block_escalates_faster() {
    let events = [event("Surgery shift", at(18, 0), at(23, 0)), event("Short call", at(17, 15), at(17, 30))];
    let rules = [rule(Action::EscalateFaster, busy())];
    let effect = effect(&occurrence(at(17, 0)), &events, &rules);
    assert_eq!(effect, Effect::Faster { before: at(18, 0), reason: "Surgery shift".into() });
    // 0, 30, 90 minutes squeezed into the hour before the block.
    let mut delays = [0, 30, 90];
    squeeze(&mut delays, at(17, 0), at(18, 0));
    assert_eq!(delays, [0, 20, 60]);
    // Room enough: unchanged.
    let mut roomy = [0, 30];
    squeeze(&mut roomy, at(17, 0), at(18, 0));
    assert_eq!(roomy, [0, 30]);
    // A block already under way, or a short one, is no reason to hurry.
    assert_eq!(super::effect(&occurrence(at(18, 30)), &events, &rules), Effect::None);
}

#[test]
fn a_later_tier_due_in_a_block_is_held_until_it_ends() {
    let events = [event("Kids with Ex", at(16, 30), at(18, 0)), event("Dinner", at(18, 0), at(19, 0))];
    let rules = [rule(Action::PauseDuring, Match { summary_contains: Some("kids".into()), ..Match::default() })];
    assert_eq!(held_until(REMINDER, at(17, 0), &events, &rules), Some((at(18, 0), "Kids with Ex".into())));
    assert_eq!(held_until(REMINDER, at(18, 30), &events, &rules), None);
    let skipping = [rule(Action::SkipDay, busy())];
    assert_eq!(held_until(REMINDER, at(17, 0), &events, &skipping), None);
}

#[test]
fn describe_reads_in_the_users_zone() {
    let effect = Effect::Pause { until: at(18, 0), reason: "Kids with Ex".into() };
    assert_eq!(effect.describe(Berlin).unwrap(), "Paused during \"Kids with Ex\"; fires at Mon 7 Dec 18:00");
}
