//! Cron schedules across the 2026 DST changes, and cron parsing errors.

use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;

use super::*;

#[test]
fn berlin_daily_0230_fires_at_end_of_spring_gap() {
    let daily = cron("30 2 * * *", Berlin);
    // 02:30 CET = 01:30Z; 02:30 does not exist on the 29th → 03:00 CEST = 01:00Z; 02:30 CEST = 00:30Z.
    assert_eq!(
        upcoming(&daily, "2026-03-27T12:00:00Z", 3),
        ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    );
}

#[test]
fn berlin_daily_0230_fires_once_on_fall_back_day() {
    let daily = cron("30 2 * * *", Berlin);
    // 02:30 CEST = 00:30Z; on the 25th only the first 02:30 (CEST, 00:30Z) fires; then 02:30 CET = 01:30Z.
    assert_eq!(
        upcoming(&daily, "2026-10-23T12:00:00Z", 3),
        ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
    // Not again at the second 02:30 (01:30Z), whether asked from the first or inside the second pass.
    assert_eq!(next(&daily, "2026-10-25T00:30:00Z").as_deref(), Some("2026-10-26T01:30:00Z"));
    assert_eq!(next(&daily, "2026-10-25T01:10:00Z").as_deref(), Some("2026-10-26T01:30:00Z"));
}

#[test]
fn berlin_daily_0900_follows_the_offset() {
    let daily = cron("0 9 * * *", Berlin);
    assert_eq!(
        upcoming(&daily, "2026-03-27T12:00:00Z", 3),
        ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    );
    assert_eq!(
        upcoming(&daily, "2026-10-23T12:00:00Z", 3),
        ["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"]
    );
}

#[test]
fn new_york_daily_0230_across_both_changes() {
    let daily = cron("30 2 * * *", New_York);
    // 02:30 EST = 07:30Z; 8 Mar 02:30 is skipped → 03:00 EDT = 07:00Z; 02:30 EDT = 06:30Z.
    assert_eq!(
        upcoming(&daily, "2026-03-06T12:00:00Z", 3),
        ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
    );
    // New York repeats 01:00-02:00, so 02:30 on 1 Nov is plain 02:30 EST = 07:30Z.
    assert_eq!(
        upcoming(&daily, "2026-10-30T12:00:00Z", 3),
        ["2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]
    );
}

#[test]
fn new_york_daily_0130_fires_once_in_repeated_hour() {
    let daily = cron("30 1 * * *", New_York);
    // 01:30 EDT = 05:30Z (twice: 31 Oct, and the first 01:30 on 1 Nov); then 01:30 EST = 06:30Z.
    assert_eq!(
        upcoming(&daily, "2026-10-30T12:00:00Z", 3),
        ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
}

#[test]
fn new_york_daily_0900_follows_the_offset() {
    assert_new_york_0900_follows_the_offset(&cron("0 9 * * *", New_York));
}

#[test]
fn daily_local_time_fires_exactly_once_per_calendar_day_all_year() {
    for (tz, expression) in [(Berlin, "30 2 * * *"), (New_York, "30 2 * * *"), (New_York, "30 1 * * *")] {
        let daily = cron(expression, tz);
        // Local midnight of 1 Jan is at most 5 hours after 2025-12-31T19:00Z in both zones.
        let all = daily.upcoming(utc("2025-12-31T19:00:00Z"), 365).unwrap();
        let days: Vec<NaiveDate> = all.iter().map(|at| at.with_timezone(&tz).date_naive()).collect();
        let expected: Vec<NaiveDate> = date("2026-01-01").iter_days().take(365).collect();
        assert_eq!(days, expected, "{expression} in {tz}");
    }
}

#[test]
fn every_30_minutes_keeps_real_rhythm_through_fall_back() {
    let half_hourly = cron("*/30 * * * *", Berlin);
    // 02:00 CEST, 02:30 CEST, 02:00 CET, 02:30 CET, 03:00 CET: both passes of the repeated hour.
    assert_eq!(
        upcoming(&half_hourly, "2026-10-24T23:45:00Z", 6),
        [
            "2026-10-25T00:00:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T02:30:00Z"
        ]
    );
    let half_hourly = cron("*/30 * * * *", New_York);
    // 01:00 EDT = 05:00Z … 01:30 EST = 06:30Z, 02:00 EST = 07:00Z.
    assert_eq!(
        upcoming(&half_hourly, "2026-11-01T04:45:00Z", 5),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T07:00:00Z"
        ]
    );
}

#[test]
fn every_30_minutes_has_no_duplicate_across_spring_gap() {
    let half_hourly = cron("*/30 * * * *", Berlin);
    // 01:30 CET = 00:30Z; 02:00 and 02:30 do not exist and fold into 03:00 CEST = 01:00Z.
    assert_eq!(
        upcoming(&half_hourly, "2026-03-29T00:15:00Z", 4),
        ["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"]
    );
}

#[test]
fn every_30_minutes_is_exactly_30_real_minutes_apart_around_all_changes() {
    for (tz, after) in [
        (Berlin, "2026-03-28T12:00:00Z"),
        (Berlin, "2026-10-24T12:00:00Z"),
        (New_York, "2026-03-07T12:00:00Z"),
        (New_York, "2026-10-31T12:00:00Z"),
    ] {
        let all = cron("*/30 * * * *", tz).upcoming(utc(after), 96).unwrap();
        for pair in all.windows(2) {
            assert_eq!(pair[1] - pair[0], TimeDelta::minutes(30), "{tz} after {}", iso(pair[0]));
        }
    }
}

#[test]
fn hourly_fires_every_real_hour() {
    let hourly = cron("0 * * * *", Berlin);
    // 01:00 CET, (02:00 missing) 03:00 CEST, 04:00 CEST.
    assert_eq!(
        upcoming(&hourly, "2026-03-28T23:30:00Z", 3),
        ["2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"]
    );
    // 02:00 CEST, 02:00 CET, 03:00 CET.
    assert_eq!(
        upcoming(&hourly, "2026-10-24T23:30:00Z", 3),
        ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]
    );
}

#[test]
fn minute_cron_inside_the_gap_fires_at_its_end() {
    // 01:15 CET = 00:15Z; 02:15 does not exist → 03:00 CEST = 01:00Z; 03:15 CEST = 01:15Z.
    assert_eq!(
        upcoming(&cron("15 * * * *", Berlin), "2026-03-29T00:00:00Z", 3),
        ["2026-03-29T00:15:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"]
    );
}

#[test]
fn named_hours_are_time_of_day_and_fire_once() {
    let twice_daily = cron("0,30 2 * * *", Berlin);
    // First 02:00 and 02:30 (CEST) only; next is 02:00 CET on the 26th = 01:00Z.
    assert_eq!(
        upcoming(&twice_daily, "2026-10-24T23:00:00Z", 3),
        ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:00:00Z"]
    );
    // Both fall in the spring gap: one firing at 03:00 CEST, then 02:00/02:30 CEST next day.
    assert_eq!(
        upcoming(&twice_daily, "2026-03-28T12:00:00Z", 3),
        ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z", "2026-03-30T00:30:00Z"]
    );
}

#[test]
fn weekly_by_day_name_across_dst() {
    let sundays = cron("0 9 * * SUN", Berlin);
    assert_eq!(
        upcoming(&sundays, "2026-03-20T00:00:00Z", 3),
        ["2026-03-22T08:00:00Z", "2026-03-29T07:00:00Z", "2026-04-05T07:00:00Z"]
    );
    let sundays = cron("30 1 * * 0", New_York);
    // 25 Oct 01:30 EDT = 05:30Z; 1 Nov first 01:30 (EDT) = 05:30Z; 8 Nov 01:30 EST = 06:30Z.
    assert_eq!(
        upcoming(&sundays, "2026-10-20T00:00:00Z", 3),
        ["2026-10-25T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-08T06:30:00Z"]
    );
}

#[test]
fn names_ranges_steps_and_lists() {
    // Weekdays at 09:00: Fri 5 Jun, then Mon 8 Jun (CEST, 07:00Z).
    assert_eq!(
        upcoming(&cron("0 9 * * MON-FRI", Berlin), "2026-06-05T06:00:00Z", 2),
        ["2026-06-05T07:00:00Z", "2026-06-08T07:00:00Z"]
    );
    // 1 Jan and 1 Jul at 08:15 UTC.
    assert_eq!(
        upcoming(&cron("15 8 1 JAN,JUL *", Tz::UTC), "2026-03-01T00:00:00Z", 2),
        ["2026-07-01T08:15:00Z", "2027-01-01T08:15:00Z"]
    );
    // Day-of-month and day-of-week both restricted: either matches (Vixie cron). Fri 5, Fri 12,
    // Sat 13 June.
    assert_eq!(
        upcoming(&cron("0 9 13 * 5", Tz::UTC), "2026-06-01T00:00:00Z", 3),
        ["2026-06-05T09:00:00Z", "2026-06-12T09:00:00Z", "2026-06-13T09:00:00Z"]
    );
    // Every 20 minutes from 10:00 to 11:40, UTC.
    assert_eq!(
        upcoming(&cron("*/20 10-11 * * *", Tz::UTC), "2026-06-01T11:30:00Z", 2),
        ["2026-06-01T11:40:00Z", "2026-06-02T10:00:00Z"]
    );
}

#[test]
fn rejects_wrong_field_counts_with_a_clear_message() {
    for (expression, needle) in [
        ("0 0 9 * * 1", "seconds and years are not supported"),
        ("0 9 * * 1 2026 x", "found 7"),
        ("@daily", "nicknames"),
        ("", "empty"),
        ("0 9 * *", "found 4"),
    ] {
        match cron(expression, Berlin).validate(utc("2026-01-01T00:00:00Z")) {
            Err(ScheduleError::InvalidCron(message)) => {
                assert!(message.contains("expected 5 fields"), "{expression}: {message}");
                assert!(message.contains(needle), "{expression}: {message}");
            }
            other => panic!("{expression}: {other:?}"),
        }
    }
}

#[test]
fn rejects_bad_values_and_overlong_input() {
    for expression in ["61 * * * *", "0 25 * * *", "0 9 * * FUNDAY", "0 9 32 * *", "a b c d e"] {
        let error = cron(expression, Berlin).next_after(utc("2026-01-01T00:00:00Z")).unwrap_err();
        assert!(matches!(error, ScheduleError::InvalidCron(_)), "{expression}: {error:?}");
        assert!(error.to_string().starts_with("invalid cron expression: "));
    }
    let long = format!("0 9 * * {}", "1,".repeat(250));
    assert_eq!(cron(&long, Berlin).validate(utc("2026-01-01T00:00:00Z")), Err(ScheduleError::ExpressionTooLong(508)));
}

#[test]
fn impossible_or_fully_skipped_crons_are_refused() {
    let now = utc("2026-01-01T00:00:00Z");
    let feb_31 = cron("0 0 31 2 *", Berlin);
    assert_eq!(feb_31.next_after(now), Ok(None));
    assert_eq!(feb_31.validate(now), Err(ScheduleError::NoUpcomingOccurrence));
    let mut saturdays = cron("0 9 * * 6", Berlin);
    assert_eq!(saturdays.validate(now), Ok(()));
    saturdays.skip_weekends = true;
    assert_eq!(saturdays.validate(now), Err(ScheduleError::NoUpcomingOccurrence));
    assert_eq!(saturdays.next_after(now), Ok(None));
}
