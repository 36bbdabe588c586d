//! Reads an RRULE body into [`RuleParts`], refusing every part reminders do not support.
//!
//! Parsing here rather than in the `rrule` crate lets an unsupported part be named precisely, and
//! keeps UNTIL in our hands (the crate would compare it in the wrong frame, see `recurrence`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use rrule::{Frequency, NWeekday};

use super::super::{MAX_EXPRESSION_LEN, ScheduleError};

/// Largest COUNT accepted; it bounds how far from DTSTART a counted rule is ever walked.
pub(super) const MAX_COUNT: u32 = 10_000;
/// Largest INTERVAL accepted.
const MAX_INTERVAL: u16 = 1_000;

/// When a rule stops, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Until {
    /// `…Z`: an instant.
    Instant(chrono::DateTime<Utc>),
    /// A floating date-time, or a date (meaning through the end of that day), in the schedule's zone.
    Local(NaiveDateTime),
}

/// The supported parts of one RRULE, values checked and lists sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RuleParts {
    pub(super) freq: Frequency,
    pub(super) interval: u16,
    pub(super) by_day: Vec<NWeekday>,
    pub(super) by_month_day: Vec<i8>,
    pub(super) by_month: Vec<u8>,
    pub(super) by_hour: Vec<u8>,
    pub(super) by_minute: Vec<u8>,
    pub(super) count: Option<u32>,
    pub(super) until: Option<Until>,
}

fn invalid(message: impl Into<String>) -> ScheduleError {
    ScheduleError::InvalidRrule(message.into())
}

/// Parses `FREQ=…;…`, with or without a leading `RRULE:`.
pub(super) fn parse_rule(rule: &str) -> Result<RuleParts, ScheduleError> {
    if rule.len() > MAX_EXPRESSION_LEN {
        return Err(ScheduleError::ExpressionTooLong(rule.len()));
    }
    let trimmed = rule.trim();
    let body = match trimmed.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => trimmed.get(6..).unwrap_or_default(),
        _ => trimmed,
    };
    let mut freq = None;
    let mut seen: Vec<String> = Vec::new();
    let mut parts = RuleParts {
        freq: Frequency::Daily,
        interval: 1,
        by_day: Vec::new(),
        by_month_day: Vec::new(),
        by_month: Vec::new(),
        by_hour: Vec::new(),
        by_minute: Vec::new(),
        count: None,
        until: None,
    };
    // BYDAY needs FREQ to judge its ordinals; FREQ may come later in the body.
    let mut by_day_raw = None;
    for part in body.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(invalid(format!("`{part}` is not NAME=VALUE")));
        };
        let name = name.trim().to_ascii_uppercase();
        let value = value.trim();
        if seen.contains(&name) {
            return Err(invalid(format!("{name} appears more than once")));
        }
        match name.as_str() {
            "FREQ" => freq = Some(parse_freq(value)?),
            "INTERVAL" => parts.interval = parse_number(&name, value, 1..=MAX_INTERVAL)?,
            "BYDAY" => by_day_raw = Some(value.to_owned()),
            "BYMONTHDAY" => {
                parts.by_month_day = parse_list(&name, value, -31..=31)?;
                if parts.by_month_day.contains(&0) {
                    return Err(invalid("BYMONTHDAY cannot be 0"));
                }
            }
            "BYMONTH" => parts.by_month = parse_list(&name, value, 1..=12)?,
            "BYHOUR" => parts.by_hour = parse_list(&name, value, 0..=23)?,
            "BYMINUTE" => parts.by_minute = parse_list(&name, value, 0..=59)?,
            "COUNT" => parts.count = Some(parse_number(&name, value, 1..=MAX_COUNT)?),
            "UNTIL" => parts.until = Some(parse_until(value)?),
            _ => return Err(ScheduleError::UnsupportedRrulePart(name)),
        }
        seen.push(name);
    }
    parts.freq = freq.ok_or_else(|| invalid("FREQ is required"))?;
    if let Some(raw) = by_day_raw {
        parts.by_day = parse_by_day(&raw, parts.freq)?;
    }
    if parts.count.is_some() && parts.until.is_some() {
        return Err(invalid("COUNT and UNTIL cannot be used together"));
    }
    if parts.freq == Frequency::Weekly && !parts.by_month_day.is_empty() {
        return Err(invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY"));
    }
    Ok(parts)
}

/// Sub-daily frequencies are refused: cron (`*/30 * * * *`) and intervals already cover them, and
/// an RRULE is a time-of-day schedule whose repeated-hour rule would fight a real-time rhythm.
fn parse_freq(value: &str) -> Result<Frequency, ScheduleError> {
    match value.to_ascii_uppercase().as_str() {
        "DAILY" => Ok(Frequency::Daily),
        "WEEKLY" => Ok(Frequency::Weekly),
        "MONTHLY" => Ok(Frequency::Monthly),
        "YEARLY" => Ok(Frequency::Yearly),
        upper @ ("HOURLY" | "MINUTELY" | "SECONDLY") => Err(ScheduleError::UnsupportedRrulePart(format!(
            "FREQ={upper} (use a cron expression or an interval for repetition within a day)"
        ))),
        _ => Err(invalid(format!("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, not `{value}`"))),
    }
}

fn parse_number<T>(name: &str, value: &str, range: std::ops::RangeInclusive<T>) -> Result<T, ScheduleError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match value.parse::<T>() {
        Ok(number) if range.contains(&number) => Ok(number),
        _ => Err(invalid(format!("{name} must be a number from {} to {}, not `{value}`", range.start(), range.end()))),
    }
}

fn parse_list<T>(name: &str, value: &str, range: std::ops::RangeInclusive<T>) -> Result<Vec<T>, ScheduleError>
where
    T: std::str::FromStr + PartialOrd + Ord + Copy + std::fmt::Display,
{
    let mut items =
        value.split(',').map(|item| parse_number(name, item.trim(), range.clone())).collect::<Result<Vec<T>, _>>()?;
    items.sort_unstable();
    items.dedup();
    Ok(items)
}

fn parse_by_day(value: &str, freq: Frequency) -> Result<Vec<NWeekday>, ScheduleError> {
    // RFC 5545: an ordinal counts within the month (MONTHLY) or year (YEARLY) and means nothing
    // for DAILY or WEEKLY.
    let max_ordinal: i16 = match freq {
        Frequency::Monthly => 5,
        Frequency::Yearly => 53,
        _ => 0,
    };
    let mut days = Vec::new();
    for item in value.split(',').map(str::trim) {
        let upper = item.to_ascii_uppercase();
        let split = upper.len().saturating_sub(2);
        let (ordinal, name) = (upper.get(..split).unwrap_or_default(), upper.get(split..).unwrap_or_default());
        let weekday = match name {
            "MO" => Weekday::Mon,
            "TU" => Weekday::Tue,
            "WE" => Weekday::Wed,
            "TH" => Weekday::Thu,
            "FR" => Weekday::Fri,
            "SA" => Weekday::Sat,
            "SU" => Weekday::Sun,
            _ => return Err(invalid(format!("BYDAY `{item}` is not a weekday such as MO, 1MO or -1FR"))),
        };
        if ordinal.is_empty() {
            days.push(NWeekday::Every(weekday));
            continue;
        }
        if max_ordinal == 0 {
            return Err(invalid(format!("BYDAY `{item}`: ordinals only apply to MONTHLY and YEARLY rules")));
        }
        match ordinal.trim_start_matches('+').parse::<i16>() {
            Ok(n) if n != 0 && n.abs() <= max_ordinal => days.push(NWeekday::Nth(n, weekday)),
            _ => {
                return Err(invalid(format!(
                    "BYDAY `{item}`: the ordinal must be between -{max_ordinal} and {max_ordinal}, not 0"
                )));
            }
        }
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`.
fn parse_until(value: &str) -> Result<Until, ScheduleError> {
    let bad = || invalid(format!("UNTIL `{value}` must look like 20261231, 20261231T170000 or 20261231T170000Z"));
    let upper = value.to_ascii_uppercase();
    if let Ok(date) = NaiveDate::parse_from_str(&upper, "%Y%m%d") {
        // A bare date includes the whole of that day.
        let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(bad)?;
        return Ok(Until::Local(date.and_time(end_of_day)));
    }
    if let Some(utc) = upper.strip_suffix('Z') {
        let at = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Until::Instant(Utc.from_utc_datetime(&at)));
    }
    NaiveDateTime::parse_from_str(&upper, "%Y%m%dT%H%M%S").map(Until::Local).map_err(|_| bad())
}
