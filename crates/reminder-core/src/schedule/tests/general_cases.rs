//! One-off and interval schedules, exclude dates, weekend skipping and the shared API.

use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;

use super::*;

#[test]
fn once_in_the_future_fires_once() {
    let reminder = once("2026-06-01T09:00:00Z");
    assert_eq!(reminder.validate(utc("2026-05-01T00:00:00Z")), Ok(()));
    assert_eq!(next(&reminder, "2026-06-01T08:59:59Z").as_deref(), Some("2026-06-01T09:00:00Z"));
    assert_eq!(next(&reminder, "2026-06-01T09:00:00Z"), None);
    assert_eq!(upcoming(&reminder, "2026-05-01T00:00:00Z", 5), ["2026-06-01T09:00:00Z"]);
}

#[test]
fn once_at_or_before_now_is_refused() {
    let reminder = once("2026-06-01T09:00:00Z");
    assert_eq!(reminder.validate(utc("2026-06-01T09:00:00Z")), Err(ScheduleError::OnceInPast));
    assert_eq!(reminder.validate(utc("2026-06-02T00:00:00Z")), Err(ScheduleError::OnceInPast));
    assert_eq!(ScheduleError::OnceInPast.to_string(), "the reminder time is not in the future");
}

#[test]
fn once_on_an_excluded_day_never_fires() {
    // 23:30Z on 1 June is already 2 June in Berlin.
    let mut reminder = once("2026-06-01T23:30:00Z");
    reminder.exclude_dates = vec![date("2026-06-02")];
    assert_eq!(reminder.validate(utc("2026-05-01T00:00:00Z")), Err(ScheduleError::NoUpcomingOccurrence));
}

#[test]
fn interval_starts_at_start_and_steps_in_utc() {
    let every_90 = interval(90, "2026-03-29T00:00:00Z", Berlin);
    assert_eq!(next(&every_90, "2026-03-28T23:59:59Z").as_deref(), Some("2026-03-29T00:00:00Z"));
    assert_eq!(upcoming(&every_90, "2026-03-29T00:00:00Z", 2), ["2026-03-29T01:30:00Z", "2026-03-29T03:00:00Z"]);
    // A day in minutes is 24 real hours: 09:00 CET becomes 10:00 CEST across the change.
    let daily = interval(1440, "2026-03-28T08:00:00Z", Berlin);
    assert_eq!(next(&daily, "2026-03-28T08:00:00Z").as_deref(), Some("2026-03-29T08:00:00Z"));
    // Far from the start: 10 000 days later, still on the 08:00Z grid.
    assert_eq!(next(&daily, "2053-08-13T07:00:00Z").as_deref(), Some("2053-08-13T08:00:00Z"));
}

#[test]
fn interval_keeps_the_start_seconds() {
    let every_minute = interval(1, "2026-06-01T09:00:30Z", Tz::UTC);
    assert_eq!(next(&every_minute, "2026-06-01T09:01:00Z").as_deref(), Some("2026-06-01T09:01:30Z"));
    let just_after = utc("2026-06-01T09:00:30Z") + TimeDelta::milliseconds(500);
    assert_eq!(every_minute.next_after(just_after).unwrap().map(iso).as_deref(), Some("2026-06-01T09:01:30Z"));
}

#[test]
fn interval_out_of_range_is_refused() {
    let now = utc("2026-01-01T00:00:00Z");
    for minutes in [0, 525_601, u32::MAX] {
        let schedule = interval(minutes, "2026-01-01T00:00:00Z", Berlin);
        assert_eq!(schedule.validate(now), Err(ScheduleError::IntervalOutOfRange(minutes)));
        assert_eq!(schedule.next_after(now), Err(ScheduleError::IntervalOutOfRange(minutes)));
    }
    assert_eq!(interval(525_600, "2026-01-01T00:00:00Z", Berlin).validate(now), Ok(()));
    assert!(ScheduleError::IntervalOutOfRange(0).to_string().contains("between 1 and 525600"));
}

#[test]
fn interval_skips_weekends_without_shifting() {
    // Fri 5 June 10:00Z, then Sat and Sun are dropped, Mon 8 and Tue 9 June keep the 10:00Z grid.
    let mut daily = interval(1440, "2026-06-05T10:00:00Z", Tz::UTC);
    daily.skip_weekends = true;
    assert_eq!(
        upcoming(&daily, "2026-06-05T09:00:00Z", 3),
        ["2026-06-05T10:00:00Z", "2026-06-08T10:00:00Z", "2026-06-09T10:00:00Z"]
    );
}

#[test]
fn exclude_dates_drop_whole_local_days() {
    let mut daily = cron("0 9 * * *", Berlin);
    daily.exclude_dates = vec![date("2026-06-03"), date("2026-06-02")];
    assert_eq!(next(&daily, "2026-06-01T07:00:00Z").as_deref(), Some("2026-06-04T07:00:00Z"));
}

#[test]
fn exclude_dates_use_the_local_date() {
    // 23:30 EDT on 2 June is 03:30Z on 3 June: excluded as 2 June, so 3 June's 23:30 EDT is next.
    let mut late = cron("30 23 * * *", New_York);
    late.exclude_dates = vec![date("2026-06-02")];
    assert_eq!(next(&late, "2026-06-02T12:00:00Z").as_deref(), Some("2026-06-04T03:30:00Z"));
    // Excluding the UTC date 3 June does not touch the local 2 June occurrence.
    late.exclude_dates = vec![date("2026-06-03")];
    assert_eq!(next(&late, "2026-06-02T12:00:00Z").as_deref(), Some("2026-06-03T03:30:00Z"));
}

#[test]
fn skip_weekends_uses_the_local_date() {
    let mut late = cron("30 23 * * *", New_York);
    late.skip_weekends = true;
    // Friday 5 June 23:30 EDT is Saturday in UTC but fires; Sat and Sun are skipped; Monday next.
    assert_eq!(upcoming(&late, "2026-06-05T12:00:00Z", 2), ["2026-06-06T03:30:00Z", "2026-06-09T03:30:00Z"]);
}

#[test]
fn skip_weekends_moves_to_the_next_occurrence_not_to_monday() {
    // Saturdays and Wednesdays at 09:00: the Saturday is dropped, not moved to Monday.
    let mut twice_weekly = cron("0 9 * * WED,SAT", Berlin);
    twice_weekly.skip_weekends = true;
    assert_eq!(upcoming(&twice_weekly, "2026-06-04T00:00:00Z", 2), ["2026-06-10T07:00:00Z", "2026-06-17T07:00:00Z"]);
}

#[test]
fn long_exclusions_with_a_minute_cron_skip_day_by_day() {
    // Every minute, with 1 June … 30 July excluded: first is 31 July 00:00 CEST = 30 July 22:00Z.
    let mut every_minute = cron("* * * * *", Berlin);
    every_minute.exclude_dates = date("2026-06-01").iter_days().take(60).collect();
    assert_eq!(next(&every_minute, "2026-05-31T22:00:00Z").as_deref(), Some("2026-07-30T22:00:00Z"));
}

#[test]
fn too_many_exclude_dates_are_refused() {
    let mut daily = cron("0 9 * * *", Berlin);
    daily.exclude_dates = date("2030-01-01").iter_days().take(MAX_EXCLUDE_DATES + 1).collect();
    assert_eq!(daily.validate(utc("2026-01-01T00:00:00Z")), Err(ScheduleError::TooManyExcludeDates(1001)));
}

#[test]
fn upcoming_stops_at_n_or_exhaustion() {
    let daily = cron("0 9 * * *", Berlin);
    assert!(daily.upcoming(utc("2026-06-01T00:00:00Z"), 0).unwrap().is_empty());
    assert_eq!(daily.upcoming(utc("2026-06-01T00:00:00Z"), 40).unwrap().len(), 40);
    let counted = rrule("FREQ=WEEKLY;COUNT=2", "2026-06-01T09:00:00", Berlin);
    assert_eq!(counted.upcoming(utc("2026-01-01T00:00:00Z"), usize::MAX).unwrap().len(), 2);
}

#[test]
fn extreme_instants_do_not_panic() {
    let schedules = [
        cron("*/5 * * * *", Berlin),
        rrule("FREQ=DAILY", "2026-01-01T09:00:00", Berlin),
        interval(1, "2026-01-01T00:00:00Z", Berlin),
        once("2026-01-01T00:00:00Z"),
    ];
    for schedule in &schedules {
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, utc("9999-12-31T23:59:59Z")] {
            assert!(schedule.next_after(at).is_ok());
        }
    }
}
