//! RRULE schedules across the 2026 DST changes, COUNT/UNTIL exhaustion, and rule errors.

use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;

use super::*;

#[test]
fn berlin_daily_0230_across_both_changes() {
    let spring = rrule("FREQ=DAILY", "2026-03-27T02:30:00", Berlin);
    assert_eq!(
        upcoming(&spring, "2026-03-26T00:00:00Z", 4),
        ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    );
    let fall = rrule("FREQ=DAILY", "2026-10-23T02:30:00", Berlin);
    assert_eq!(
        upcoming(&fall, "2026-10-22T00:00:00Z", 4),
        ["2026-10-23T00:30:00Z", "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
    assert_eq!(next(&fall, "2026-10-25T00:30:00Z").as_deref(), Some("2026-10-26T01:30:00Z"));
}

#[test]
fn dtstart_inside_the_gap_starts_at_its_end() {
    let daily = rrule("FREQ=DAILY;COUNT=2", "2026-03-29T02:30:00", Berlin);
    assert_eq!(daily.validate(utc("2026-03-28T00:00:00Z")), Ok(()));
    assert_eq!(upcoming(&daily, "2026-03-28T00:00:00Z", 5), ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]);
}

#[test]
fn new_york_daily_0900_across_both_changes() {
    assert_new_york_0900_follows_the_offset(&rrule("FREQ=DAILY", "2026-01-01T09:00:00", New_York));
}

#[test]
fn weekly_sundays_across_dst() {
    let berlin = rrule("FREQ=WEEKLY;BYDAY=SU", "2026-03-01T02:30:00", Berlin);
    assert_eq!(
        upcoming(&berlin, "2026-03-20T00:00:00Z", 3),
        ["2026-03-22T01:30:00Z", "2026-03-29T01:00:00Z", "2026-04-05T00:30:00Z"]
    );
    assert_eq!(upcoming(&berlin, "2026-10-20T00:00:00Z", 2), ["2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z"]);

    let new_york = rrule("FREQ=WEEKLY;BYDAY=SU", "2026-03-01T02:30:00", New_York);
    assert_eq!(
        upcoming(&new_york, "2026-02-28T00:00:00Z", 3),
        ["2026-03-01T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-15T06:30:00Z"]
    );
    let new_york = rrule("FREQ=WEEKLY;BYDAY=SU", "2026-10-04T01:30:00", New_York);
    assert_eq!(
        upcoming(&new_york, "2026-10-20T00:00:00Z", 3),
        ["2026-10-25T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-08T06:30:00Z"]
    );
}

#[test]
fn biweekly_several_days_years_later() {
    // Active weeks are those starting 1 Jun 2026 + 2k weeks; 31 May 2027 is week 52, 7 Jun week 53.
    let rule = rrule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", "2026-06-01T09:00:00", Berlin);
    assert_eq!(
        upcoming(&rule, "2026-05-31T00:00:00Z", 4),
        ["2026-06-01T07:00:00Z", "2026-06-03T07:00:00Z", "2026-06-05T07:00:00Z", "2026-06-15T07:00:00Z"]
    );
    assert_eq!(next(&rule, "2027-05-30T00:00:00Z").as_deref(), Some("2027-05-31T07:00:00Z"));
    assert_eq!(next(&rule, "2027-06-06T00:00:00Z").as_deref(), Some("2027-06-14T07:00:00Z"));
}

#[test]
fn every_third_day_six_years_on() {
    // 1 Jan 2020 → 1 Jun 2026 is 2192 + 151 = 2343 = 3 × 781 days: an occurrence day.
    let rule = rrule("FREQ=DAILY;INTERVAL=3", "2020-01-01T09:00:00", Berlin);
    assert_eq!(upcoming(&rule, "2026-06-01T00:00:00Z", 2), ["2026-06-01T07:00:00Z", "2026-06-04T07:00:00Z"]);
}

#[test]
fn every_other_month_keeps_dtstart_day() {
    let rule = rrule("FREQ=MONTHLY;INTERVAL=2", "2026-01-15T09:00:00", Berlin);
    // Jan, Mar, May … 2027: Jan 15, then Mar 15 (still CET, 08:00Z).
    assert_eq!(next(&rule, "2027-02-01T00:00:00Z").as_deref(), Some("2027-03-15T08:00:00Z"));
}

#[test]
fn by_hour_and_minute_lists() {
    let rule = rrule("FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30", "2026-06-01T00:00:00", Berlin);
    assert_eq!(
        upcoming(&rule, "2026-05-31T00:00:00Z", 5),
        [
            "2026-06-01T07:00:00Z",
            "2026-06-01T07:30:00Z",
            "2026-06-01T15:00:00Z",
            "2026-06-01T15:30:00Z",
            "2026-06-02T07:00:00Z"
        ]
    );
}

#[test]
fn count_is_used_up_and_counts_excluded_occurrences() {
    let mut rule = rrule("FREQ=DAILY;COUNT=3", "2026-06-01T09:00:00", Berlin);
    assert_eq!(
        upcoming(&rule, "2026-05-31T00:00:00Z", 10),
        ["2026-06-01T07:00:00Z", "2026-06-02T07:00:00Z", "2026-06-03T07:00:00Z"]
    );
    assert_eq!(next(&rule, "2026-06-03T07:00:00Z"), None);
    assert_eq!(rule.validate(utc("2026-06-03T07:00:00Z")), Err(ScheduleError::NoUpcomingOccurrence));
    // The excluded 2 June still uses up one of the three.
    rule.exclude_dates = vec![date("2026-06-02")];
    assert_eq!(upcoming(&rule, "2026-05-31T00:00:00Z", 10), ["2026-06-01T07:00:00Z", "2026-06-03T07:00:00Z"]);
}

#[test]
fn dtstart_is_an_occurrence_only_when_the_rule_matches_it() {
    // 7 Jun 2026 is a Sunday; the first Monday after it is the 8th.
    let rule = rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "2026-06-07T09:00:00", Berlin);
    assert_eq!(upcoming(&rule, "2026-06-01T00:00:00Z", 5), ["2026-06-08T07:00:00Z", "2026-06-15T07:00:00Z"]);
}

#[test]
fn until_in_each_form_is_inclusive_and_then_exhausted() {
    for (until, expected) in [
        ("20260603T070000Z", 3),
        ("20260603T065959Z", 2),
        ("20260603T090000", 3),
        ("20260603T085959", 2),
        ("20260603", 3),
    ] {
        let rule = rrule(&format!("FREQ=DAILY;UNTIL={until}"), "2026-06-01T09:00:00", Berlin);
        let all = rule.upcoming(utc("2026-05-31T00:00:00Z"), 10).unwrap();
        assert_eq!(all.len(), expected, "UNTIL={until}");
        assert_eq!(rule.next_after(*all.last().unwrap()), Ok(None), "UNTIL={until}");
    }
}

#[test]
fn monthly_31st_skips_short_months() {
    let rule = rrule("FREQ=MONTHLY;BYMONTHDAY=31", "2026-01-31T09:00:00", Berlin);
    assert_eq!(
        upcoming(&rule, "2026-01-30T00:00:00Z", 7),
        [
            "2026-01-31T08:00:00Z",
            "2026-03-31T07:00:00Z",
            "2026-05-31T07:00:00Z",
            "2026-07-31T07:00:00Z",
            "2026-08-31T07:00:00Z",
            "2026-10-31T08:00:00Z",
            "2026-12-31T08:00:00Z"
        ]
    );
}

#[test]
fn last_friday_of_the_month() {
    let rule = rrule("FREQ=MONTHLY;BYDAY=-1FR", "2026-01-01T17:00:00", New_York);
    // 30 Jan, 27 Feb (EST, 22:00Z); 27 Mar, 24 Apr, 29 May (EDT, 21:00Z).
    assert_eq!(
        upcoming(&rule, "2026-01-01T00:00:00Z", 5),
        [
            "2026-01-30T22:00:00Z",
            "2026-02-27T22:00:00Z",
            "2026-03-27T21:00:00Z",
            "2026-04-24T21:00:00Z",
            "2026-05-29T21:00:00Z"
        ]
    );
}

#[test]
fn fourth_thursday_of_november() {
    // 1 Nov 2026 is a Sunday → Thursdays 5, 12, 19, 26; 1 Nov 2027 a Monday → 4, 11, 18, 25.
    let rule = rrule("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "2026-01-01T10:00:00", New_York);
    assert_eq!(upcoming(&rule, "2026-01-01T00:00:00Z", 2), ["2026-11-26T15:00:00Z", "2027-11-25T15:00:00Z"]);
}

#[test]
fn unsupported_parts_are_named() {
    for (rule, part) in [
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=WEEKLY;WKST=SU", "WKST"),
        ("FREQ=DAILY;BYSECOND=5", "BYSECOND"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
    ] {
        let error = rrule(rule, "2026-01-01T09:00:00", Berlin).next_after(utc("2026-01-01T00:00:00Z"));
        assert_eq!(error, Err(ScheduleError::UnsupportedRrulePart(part.to_owned())), "{rule}");
    }
    for rule in ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=10", "FREQ=SECONDLY"] {
        match rrule(rule, "2026-01-01T09:00:00", Berlin).validate(utc("2026-01-01T00:00:00Z")) {
            Err(ScheduleError::UnsupportedRrulePart(part)) => assert!(part.starts_with(&rule[..9]), "{part}"),
            other => panic!("{rule}: {other:?}"),
        }
    }
    let message = ScheduleError::UnsupportedRrulePart("BYSETPOS".to_owned()).to_string();
    assert_eq!(message, "recurrence rule part BYSETPOS is not supported");
}

#[test]
fn invalid_rules_explain_themselves() {
    for (rule, needle) in [
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("FREQ=DAILY;BYDAY=XX", "BYDAY `XX`"),
        ("FREQ=WEEKLY;BYDAY=1MO", "ordinals only apply"),
        ("FREQ=MONTHLY;BYDAY=6FR", "between -5 and 5"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20260101", "COUNT and UNTIL"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a number from 1 to 10000"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR must be"),
        ("FREQ=DAILY;BYMONTHDAY=0", "BYMONTHDAY cannot be 0"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "FREQ=WEEKLY"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL `tomorrow`"),
        ("FREQ=DAILY;FREQ=WEEKLY", "more than once"),
        ("FREQ", "NAME=VALUE"),
        ("", "FREQ is required"),
    ] {
        match rrule(rule, "2026-01-01T09:00:00", Berlin).validate(utc("2026-01-01T00:00:00Z")) {
            Err(ScheduleError::InvalidRrule(message)) => assert!(message.contains(needle), "{rule}: {message}"),
            other => panic!("{rule}: {other:?}"),
        }
    }
    let long = format!("FREQ=DAILY;BYMINUTE={}", "1,".repeat(250));
    let error = rrule(&long, "2026-01-01T09:00:00", Berlin).validate(utc("2026-01-01T00:00:00Z"));
    assert_eq!(error, Err(ScheduleError::ExpressionTooLong(520)));
}

/// A rule with no occurrence ends its search (the expansion is bounded) instead of looping. Not timed: a wall-
/// clock bound failed under a loaded CI machine (14 s for what takes milliseconds alone).
#[test]
fn impossible_rule_is_refused() {
    let rule = rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2026-01-01T09:00:00", Berlin);
    assert_eq!(rule.validate(utc("2026-01-01T00:00:00Z")), Err(ScheduleError::NoUpcomingOccurrence));
    let rule = rrule("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "2026-01-01T09:00:00", Berlin);
    assert_eq!(rule.next_after(utc("2026-01-01T00:00:00Z")), Ok(None));
}
