//! Durations: "2h", "90 min", "1h30m", "an hour and a half", "half an hour", "2 weeks", "3 days from now".

use super::cursor::Cursor;
use super::words::{self, Unit};

/// An amount of time, kept in the pieces that add up differently: months by the calendar, days by the local
/// calendar (so "in 3 days" keeps the wall-clock time across a DST change), seconds by the clock.
///
/// Every field saturates, so absurd counts stay absurd (and are refused as too far) instead of wrapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) months: u64,
    pub(super) days: u64,
    pub(super) seconds: u64,
}

impl Span {
    /// Whether the span adds up to nothing ("0m", "0 days 0 hours").
    pub(super) fn is_zero(&self) -> bool {
        self.months == 0 && self.days == 0 && self.seconds == 0
    }

    fn add(&mut self, count: u64, unit: Unit) {
        let (months, days, seconds) = match unit {
            Unit::Second => (0, 0, count),
            Unit::Minute => (0, 0, count.saturating_mul(60)),
            Unit::Hour => (0, 0, count.saturating_mul(3600)),
            Unit::Day => (0, count, 0),
            Unit::Week => (0, count.saturating_mul(7), 0),
            Unit::Month => (count, 0, 0),
            Unit::Year => (count.saturating_mul(12), 0, 0),
        };
        self.months = self.months.saturating_add(months);
        self.days = self.days.saturating_add(days);
        self.seconds = self.seconds.saturating_add(seconds);
    }

    /// Adds half of one `unit`; `None` where half of it has no plain meaning (half a month, half a second).
    fn add_half(&mut self, unit: Unit) -> Option<()> {
        match unit {
            Unit::Minute => self.add(30, Unit::Second),
            Unit::Hour => self.add(30, Unit::Minute),
            // Half a day is twelve hours on the clock, not a calendar day.
            Unit::Day => self.add(12, Unit::Hour),
            Unit::Week => {
                self.add(3, Unit::Day);
                self.add(12, Unit::Hour);
            }
            Unit::Second | Unit::Month | Unit::Year => return None,
        }
        Some(())
    }
}

/// Reads the rest of the phrase as a duration, or `None` if it is not one (then it may still be a point in time).
pub(super) fn parse(mut cursor: Cursor<'_>) -> Option<Span> {
    let mut span = Span::default();
    loop {
        term(&mut cursor, &mut span)?;
        if cursor.at_end() {
            return Some(span);
        }
        if cursor.eat_words(&["from", "now"]) {
            return cursor.at_end().then_some(span);
        }
        // "1 hour and 30 minutes" as well as "1 hour 30 minutes" and "1h30m".
        cursor.eat_word("and");
    }
}

/// One counted unit: "2 hours", "2h", "an hour", "half an hour", "an hour and a half".
fn term(cursor: &mut Cursor<'_>, span: &mut Span) -> Option<()> {
    if cursor.eat_word("half") {
        if !cursor.eat_any(&["a", "an"]) {
            return None;
        }
        let unit = cursor.next_word().and_then(words::unit)?;
        return span.add_half(unit);
    }
    let count = match cursor.next_num() {
        Some((value, _)) => value,
        None => cursor.next_word().and_then(words::count)?,
    };
    let unit = cursor.next_word().and_then(words::unit)?;
    span.add(count, unit);
    if cursor.eat_words(&["and", "a", "half"]) {
        span.add_half(unit)?;
    }
    Some(())
}
