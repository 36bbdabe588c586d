//! Places a parsed phrase on the calendar: all reasoning happens on the user's local wall clock in `tz`, and each
//! local time becomes an instant through `crate::timezone::resolve_local`, so DST gaps and repeats follow the
//! product rule (a skipped time moves to the end of the gap, a repeated one takes its first instance).

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::duration::Span;
use super::grammar::{Day, Phrase, Point, Time};
use super::words::{DEFAULT_TIME, Part, hm};
use super::{PhraseError, validate_future};
use crate::timezone::resolve_local;

/// When a working day ends ("eod", "end of week").
const END_OF_DAY: NaiveTime = hm(17, 0);
/// "eod" said after 17:00: the last minute of today.
const LAST_MINUTE: NaiveTime = hm(23, 59);
/// The longest span worth computing; anything longer is too far whatever the calendar says.
const MAX_SPAN_DAYS: u64 = 400;

/// The instant a phrase means, already checked to be in the future and within a year.
pub(super) fn resolve(phrase: &Phrase, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, PhraseError> {
    let at = match phrase {
        Phrase::After(span) => after(*span, now, tz)?,
        Phrase::At(point) => Local::new(now, tz).point(*point)?,
    };
    validate_future(at, now)
}

/// Adds a duration. Months and days move the local calendar and keep the wall-clock time ("in 3 days" at 14:30
/// is 14:30 even across a DST change; a month from 31 January is the last day of February); hours, minutes and
/// seconds are elapsed time ("in 24 hours" is exactly that).
fn after(span: Span, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>, PhraseError> {
    if span.is_zero() {
        return Err(PhraseError::NotUnderstood);
    }
    if span.months > MAX_SPAN_DAYS / 28 || span.days > MAX_SPAN_DAYS || span.seconds > MAX_SPAN_DAYS * 86_400 {
        return Err(PhraseError::TooFar);
    }
    let mut at = now;
    if span.months > 0 || span.days > 0 {
        let months = u32::try_from(span.months).map_err(|_| PhraseError::TooFar)?;
        let local = now.with_timezone(&tz).naive_local();
        let moved = local
            .checked_add_months(Months::new(months))
            .and_then(|t| t.checked_add_days(Days::new(span.days)))
            .ok_or(PhraseError::TooFar)?;
        at = resolve_local(tz, moved);
    }
    let seconds = i64::try_from(span.seconds).ok().and_then(TimeDelta::try_seconds).ok_or(PhraseError::TooFar)?;
    at.checked_add_signed(seconds).ok_or(PhraseError::TooFar)
}

/// "Now" as the user's wall clock shows it.
struct Local {
    now: DateTime<Utc>,
    tz: Tz,
    today: NaiveDate,
}

impl Local {
    fn new(now: DateTime<Utc>, tz: Tz) -> Self {
        Self { now, tz, today: now.with_timezone(&tz).date_naive() }
    }

    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        resolve_local(self.tz, date.and_time(time))
    }

    /// The instant of `time` on `date` if it is still ahead.
    fn ahead(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        Some(self.instant(date, time)).filter(|at| *at > self.now)
    }

    /// Today plus `days`; past the end of chrono's calendar is simply too far.
    fn plus_days(&self, days: u64) -> Result<NaiveDate, PhraseError> {
        self.today.checked_add_days(Days::new(days)).ok_or(PhraseError::TooFar)
    }

    /// The first `weekday` strictly after today.
    fn next_weekday(&self, weekday: Weekday) -> Result<NaiveDate, PhraseError> {
        let ahead = (weekday.num_days_from_monday() + 7 - self.today.weekday().num_days_from_monday()) % 7;
        self.plus_days(if ahead == 0 { 7 } else { u64::from(ahead) })
    }

    fn point(&self, point: Point) -> Result<DateTime<Utc>, PhraseError> {
        match (point.day, point.time) {
            (Some(day), time) => self.on_day(day, time),
            (None, Some(time)) => self.time_only(time, point.today_only),
            (None, None) => Err(PhraseError::NotUnderstood),
        }
    }

    /// A time of day with no day named: the next time it comes round, today or tomorrow. Today-only phrases
    /// ("today at 10", "this morning", "tonight") never roll over to tomorrow; see each arm for what they do instead.
    fn time_only(&self, time: Time, today_only: bool) -> Result<DateTime<Utc>, PhraseError> {
        let tomorrow = self.plus_days(1)?;
        let rollover = |first: Option<DateTime<Utc>>, time: NaiveTime| match first {
            Some(at) => Ok(at),
            None if today_only => Err(PhraseError::InPast),
            None => Ok(self.instant(tomorrow, time)),
        };
        match time {
            Time::Clock(clock) => rollover(self.ahead(self.today, clock), clock),
            // The next 00:00 is always tomorrow's.
            Time::Midnight => Ok(self.instant(tomorrow, NaiveTime::MIN)),
            Time::Part(part) if !today_only => {
                rollover(self.ahead(self.today, part.default_time()), part.default_time())
            }
            // "this afternoon" said at 14:30 means later this afternoon (16:00), not tomorrow. "tonight" after 22:00
            // still means tonight: one hour from now, to the minute. A morning or afternoon that is over is past.
            Time::Part(part) => self
                .ahead(self.today, part.default_time())
                .or_else(|| self.ahead(self.today, part.late_time()))
                .map(Ok)
                .unwrap_or_else(|| match part {
                    Part::Evening => self.in_an_hour(),
                    Part::Morning | Part::Afternoon => Err(PhraseError::InPast),
                }),
            // "eod" after 17:00 means before today ends (23:59); only after that does it become tomorrow's 17:00.
            Time::Eod => {
                rollover(self.ahead(self.today, END_OF_DAY).or_else(|| self.ahead(self.today, LAST_MINUTE)), END_OF_DAY)
            }
        }
    }

    /// One hour from now, truncated to the whole minute.
    fn in_an_hour(&self) -> Result<DateTime<Utc>, PhraseError> {
        let at = self.now.checked_add_signed(TimeDelta::hours(1)).ok_or(PhraseError::TooFar)?;
        Ok(at.with_nanosecond(0).and_then(|t| t.with_second(0)).unwrap_or(at))
    }

    /// A named day, at the given time of day or the day's default.
    fn on_day(&self, day: Day, time: Option<Time>) -> Result<DateTime<Utc>, PhraseError> {
        let clock = match time {
            None => None,
            Some(Time::Clock(clock)) => Some(clock),
            Some(Time::Part(part)) => Some(part.default_time()),
            Some(Time::Eod) => Some(END_OF_DAY),
            // The grammar refuses "friday midnight": it could be either end of Friday.
            Some(Time::Midnight) => return Err(PhraseError::NotUnderstood),
        };
        let explicit = clock.is_some();
        let clock = clock.unwrap_or(DEFAULT_TIME);
        Ok(match day {
            Day::Tomorrow => self.instant(self.plus_days(1)?, clock),
            Day::AfterTomorrow => self.instant(self.plus_days(2)?, clock),
            // "friday at 5pm" said on a Friday morning is today; "friday" alone, or "next friday", is a week on.
            Day::Weekday { day, next } => match (!next && explicit && self.today.weekday() == day)
                .then(|| self.ahead(self.today, clock))
                .flatten()
            {
                Some(at) => at,
                None => self.instant(self.next_weekday(day)?, clock),
            },
            Day::Date { year: Some(year), month, day } => {
                self.instant(NaiveDate::from_ymd_opt(year, month, day).ok_or(PhraseError::NotUnderstood)?, clock)
            }
            Day::Date { year: None, month, day } => self.next_date(month, day, clock)?,
            Day::NextWeek => self.instant(self.next_weekday(Weekday::Mon)?, clock),
            Day::NextMonth => {
                let first = self.today.with_day(1).and_then(|d| d.checked_add_months(Months::new(1)));
                self.instant(first.ok_or(PhraseError::TooFar)?, clock)
            }
            Day::EndOfWeek => self.end_of_week()?,
            Day::Weekend => self.weekend()?,
        })
    }

    /// A date without a year: the first year in which it exists and is still ahead. "feb 29" in a year before a
    /// leap year lands more than a year away and is refused as too far, not moved to another day.
    fn next_date(&self, month: u32, day: u32, clock: NaiveTime) -> Result<DateTime<Utc>, PhraseError> {
        let mut exists = false;
        for year in self.today.year()..=self.today.year().saturating_add(4) {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
                exists = true;
                if let Some(at) = self.ahead(date, clock) {
                    return Ok(at);
                }
            }
        }
        Err(if exists { PhraseError::TooFar } else { PhraseError::NotUnderstood })
    }

    /// This week's Friday 17:00, or next week's once that has passed (so on a Saturday it is the coming Friday).
    fn end_of_week(&self) -> Result<DateTime<Utc>, PhraseError> {
        let to_friday = (Weekday::Fri.num_days_from_monday() + 7 - self.today.weekday().num_days_from_monday()) % 7;
        let friday = self.plus_days(u64::from(to_friday))?;
        match self.ahead(friday, END_OF_DAY) {
            Some(at) => Ok(at),
            None => Ok(self.instant(self.plus_days(u64::from(to_friday) + 7)?, END_OF_DAY)),
        }
    }

    /// The first Saturday or Sunday 09:00 still ahead: Saturday from a weekday, Sunday when said on a Saturday
    /// after 09:00, and the next Saturday when said on a Sunday after 09:00.
    fn weekend(&self) -> Result<DateTime<Utc>, PhraseError> {
        for days in 0..=7 {
            let date = self.plus_days(days)?;
            if matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
                && let Some(at) = self.ahead(date, DEFAULT_TIME)
            {
                return Ok(at);
            }
        }
        Err(PhraseError::NotUnderstood)
    }
}
