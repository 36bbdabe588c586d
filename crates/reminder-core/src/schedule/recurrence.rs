//! RFC 5545 recurrence rules, expanded by the `rrule` crate in naive local time.
//!
//! The crate is handed DTSTART as if the local wall clock were UTC, so it never sees a DST change
//! and yields plain wall-clock times; each is then turned into an instant by
//! [`resolve_local`](crate::timezone::resolve_local). Given a real zone instead, the crate refuses
//! a DTSTART inside a gap or in a repeated hour, and resolves a later occurrence inside a gap by
//! adding the time of day to midnight (02:30 on a Berlin spring-forward day becomes 03:30, where
//! the product promises 03:00). UNTIL is applied here for the same reason: written with `Z` it is
//! an instant, which only means something after resolution.
//!
//! A rule without COUNT is expanded from a DTSTART moved forward by whole periods to just before
//! the search point, so finding the next occurrence of a years-old rule costs a period or two
//! rather than a walk from the original start. A counted rule is walked from its real DTSTART
//! (COUNT ≤ 10 000 bounds that walk).

mod parse;

use chrono::{DateTime, Datelike, Days, Month, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use parse::{RuleParts, Until};
use rrule::{Frequency, NWeekday, RRule, RRuleSet};

use super::ScheduleError;
use crate::timezone::resolve_local;

/// A parsed rule with its DTSTART, every part DTSTART would imply written out explicitly so the
/// rule means the same from any (period-aligned) starting point.
#[derive(Debug)]
pub(super) struct Recurrence {
    parts: RuleParts,
    by_second: u8,
    dtstart: NaiveDateTime,
}

impl Recurrence {
    /// Parses `rule` and checks the `rrule` crate accepts it with `dtstart`.
    pub(super) fn parse(rule: &str, dtstart: NaiveDateTime) -> Result<Self, ScheduleError> {
        let mut parts = parse::parse_rule(rule)?;
        // Sub-second precision means nothing to a reminder and the crate drops it anyway.
        let dtstart = dtstart.with_nanosecond(0).unwrap_or(dtstart);
        make_implicit_parts_explicit(&mut parts, dtstart);
        let by_second = u8::try_from(dtstart.second()).unwrap_or(0);
        let recurrence = Self { parts, by_second, dtstart };
        recurrence.build(dtstart).map_err(|error| ScheduleError::InvalidRrule(error.to_string()))?;
        Ok(recurrence)
    }

    /// First occurrence strictly after `after`, or None when the rule is used up or nothing comes
    /// before `limit`.
    pub(super) fn next_after(&self, tz: Tz, after: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = match self.parts.count {
            Some(_) => self.dtstart,
            // A day of margin: wall-clock times on earlier days all resolve to before `after`.
            None => self.rebased_start(after.with_timezone(&tz).date_naive().pred_opt()?),
        };
        self.next_after_from(start, tz, after, limit)
    }

    /// Expands the rule from `start` (DTSTART or a period-aligned point after it).
    fn next_after_from(
        &self,
        start: NaiveDateTime,
        tz: Tz,
        after: DateTime<Utc>,
        limit: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let local_limit = limit.with_timezone(&tz).naive_local().checked_add_signed(TimeDelta::days(1))?;
        let set = self.build(start).ok()?;
        // Wall-clock order and instant order agree (resolve_local never runs backwards), so the
        // first occurrence past `after` is the answer, and two wall-clock times folded into one
        // instant by a gap fire once.
        for occurrence in &set {
            let local = occurrence.naive_utc();
            if local > local_limit {
                return None;
            }
            let at = resolve_local(tz, local);
            let past_until = match self.parts.until {
                Some(Until::Local(until)) => local > until,
                Some(Until::Instant(until)) => at > until,
                None => false,
            };
            if past_until {
                return None;
            }
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// The crate's rule set starting at `start`, in the naive-as-UTC frame, with its loop limit on
    /// so a rule that can never match (BYMONTH=2;BYMONTHDAY=30) ends instead of spinning.
    fn build(&self, start: NaiveDateTime) -> Result<RRuleSet, rrule::RRuleError> {
        let parts = &self.parts;
        let months: Vec<Month> = parts.by_month.iter().filter_map(|&month| Month::try_from(month).ok()).collect();
        let mut rule = RRule::new(parts.freq)
            .interval(parts.interval)
            .by_weekday(parts.by_day.clone())
            .by_month_day(parts.by_month_day.clone())
            .by_month(&months)
            .by_hour(parts.by_hour.clone())
            .by_minute(parts.by_minute.clone())
            .by_second(vec![self.by_second]);
        if let Some(count) = parts.count {
            rule = rule.count(count);
        }
        Ok(rule.build(rrule::Tz::UTC.from_utc_datetime(&start))?.limit())
    }

    /// The start of the latest period (day, Monday-based week, month or year, stepped by INTERVAL
    /// from DTSTART's) that begins on or before `target`, or DTSTART itself if that is later.
    fn rebased_start(&self, target: NaiveDate) -> NaiveDateTime {
        let first = self.dtstart.date();
        let interval = i64::from(self.parts.interval);
        let period_start = match self.parts.freq {
            Frequency::Daily => {
                let periods = (target - first).num_days().div_euclid(interval);
                add_days(first, periods * interval)
            }
            Frequency::Weekly => monday_of(first).zip(monday_of(target)).and_then(|(first_week, target_week)| {
                let weeks = (target_week - first_week).num_days().div_euclid(7 * interval);
                add_days(first_week, weeks * interval * 7)
            }),
            Frequency::Monthly => {
                let month_index = |day: NaiveDate| i64::from(day.year()) * 12 + i64::from(day.month0());
                let periods = (month_index(target) - month_index(first)).div_euclid(interval);
                let index = month_index(first) + periods * interval;
                first_of_month(index.div_euclid(12), index.rem_euclid(12) + 1)
            }
            _ => {
                let periods = (i64::from(target.year()) - i64::from(first.year())).div_euclid(interval);
                first_of_month(i64::from(first.year()) + periods * interval, 1)
            }
        };
        match period_start.and_then(|day| day.and_hms_opt(0, 0, 0)) {
            Some(start) if start > self.dtstart => start,
            _ => self.dtstart,
        }
    }
}

/// Writes out what RFC 5545 (and the crate) would otherwise take from DTSTART, so that moving the
/// start forward cannot change the rule's meaning.
fn make_implicit_parts_explicit(parts: &mut RuleParts, dtstart: NaiveDateTime) {
    if parts.by_day.is_empty() && parts.by_month_day.is_empty() {
        let day = i8::try_from(dtstart.day()).unwrap_or(1);
        match parts.freq {
            Frequency::Weekly => parts.by_day = vec![NWeekday::Every(dtstart.weekday())],
            Frequency::Monthly => parts.by_month_day = vec![day],
            Frequency::Yearly => {
                parts.by_month_day = vec![day];
                if parts.by_month.is_empty() {
                    parts.by_month = vec![u8::try_from(dtstart.month()).unwrap_or(1)];
                }
            }
            _ => {}
        }
    }
    if parts.by_hour.is_empty() {
        parts.by_hour = vec![u8::try_from(dtstart.hour()).unwrap_or(0)];
    }
    if parts.by_minute.is_empty() {
        parts.by_minute = vec![u8::try_from(dtstart.minute()).unwrap_or(0)];
    }
}

fn monday_of(day: NaiveDate) -> Option<NaiveDate> {
    day.week(Weekday::Mon).checked_first_day()
}

fn add_days(day: NaiveDate, days: i64) -> Option<NaiveDate> {
    day.checked_add_days(Days::new(u64::try_from(days).ok()?))
}

fn first_of_month(year: i64, month: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, u32::try_from(month).ok()?, 1)
}

#[cfg(test)]
mod tests;
