//! The phrase grammar: an optional lead-in ("snooze", "until", "for", "in"), then either a duration or a point in
//! time made of at most one day ("tomorrow", "friday", "dec 25", "2026-12-25") and at most one time of day
//! ("9am", "17:00", "noon", "morning", "eod"), in either order, joined by "at"/"on" where people put them.
//!
//! Rules that keep a phrase from being read as something it does not say:
//! - A bare number is an hour only when it stands alone ("9") or follows "at"/"until" ("tomorrow at 9"); in
//!   "friday 13" or "in 9" it could mean something else, so those are not understood.
//! - Every token must be used. A word the grammar does not know fails the whole phrase instead of being skipped.

use chrono::{NaiveTime, Weekday};

use super::clock::{self, Clockish};
use super::cursor::Cursor;
use super::duration::{self, Span};
use super::lexer::Token;
use super::words::{self, DEFAULT_TIME, Part, hm};

/// What a phrase says, before it is placed on the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phrase {
    /// A duration from now.
    After(Span),
    /// A day and/or time of day.
    At(Point),
}

/// A day named in a phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Day {
    Tomorrow,
    AfterTomorrow,
    /// `next` is set for "next friday", which never means today.
    Weekday {
        day: Weekday,
        next: bool,
    },
    /// A calendar date; without a year it is the next such date.
    Date {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    NextWeek,
    NextMonth,
    /// "end of week": Friday 17:00. Takes no time of day.
    EndOfWeek,
    /// "this weekend": the next Saturday or Sunday 09:00. Takes no time of day.
    Weekend,
}

/// A time of day named in a phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Time {
    Clock(NaiveTime),
    Part(Part),
    /// Kept apart from 00:00 because "friday midnight" could be either end of Friday, so it takes no day.
    Midnight,
    /// End of day: 17:00, or 23:59 when said after 17:00 with no day.
    Eod,
}

/// A point in time as the phrase gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Point {
    pub(super) day: Option<Day>,
    pub(super) time: Option<Time>,
    /// Set by "today", "tonight" and "this morning/afternoon/evening": the phrase is about today only, so a time
    /// already past is an error instead of rolling over to tomorrow.
    pub(super) today_only: bool,
}

/// Reads a whole phrase, or `None` if any part of it is not understood.
pub(super) fn parse(tokens: &[Token]) -> Option<Phrase> {
    // "the" never changes the meaning ("the day after tomorrow", "at the weekend", "25th of the month").
    let tokens: Vec<Token> = tokens.iter().filter(|t| !matches!(t, Token::Word(w) if w == "the")).cloned().collect();
    let mut cursor = Cursor::new(&tokens);
    cursor.eat_word("snooze");
    let lead_in = if cursor.eat_any(&["until", "till", "til", "by"]) {
        LeadIn::Until
    } else if cursor.eat_any(&["for", "in"]) {
        LeadIn::Span
    } else {
        LeadIn::None
    };
    if cursor.at_end() {
        return None;
    }
    if let Some(span) = duration::parse(cursor) {
        return Some(Phrase::After(span));
    }
    point(cursor, lead_in).map(Phrase::At)
}

/// The word a phrase opened with, which decides whether a bare number may be an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeadIn {
    None,
    /// "until 9" reads like "at 9".
    Until,
    /// "in 9" or "for 30" lack a unit: not an hour.
    Span,
}

/// Reads the rest of the phrase as a point in time.
fn point(mut cursor: Cursor<'_>, lead_in: LeadIn) -> Option<Point> {
    let lone_number = cursor.remaining() == 1 && matches!(cursor.peek(), Some(Token::Num { .. }));
    let mut after_at = lead_in == LeadIn::Until || (lone_number && lead_in == LeadIn::None);
    let mut day: Option<Day> = None;
    let mut clock: Option<Clockish> = None;
    let mut part: Option<(Part, bool)> = None;
    let mut today = false;
    while !cursor.at_end() {
        let at = cursor.eat_word("at");
        if at || cursor.eat_word("on") {
            // A dangling "friday at" must not quietly become "friday".
            if cursor.at_end() {
                return None;
            }
            after_at = at;
            continue;
        }
        if cursor.eat_word("today") {
            if today || day.is_some() {
                return None;
            }
            today = true;
        } else if let Some((found, time)) = day_component(&mut cursor) {
            if today || day.replace(found).is_some() {
                return None;
            }
            if let Some(time) = time
                && clock.replace(time).is_some()
            {
                return None;
            }
        } else if let Some(found) = clock::clock_component(&mut cursor, after_at) {
            if clock.replace(found).is_some() {
                return None;
            }
        } else if let Some(found) = clock::part_component(&mut cursor) {
            if part.replace(found).is_some() {
                return None;
            }
        } else {
            return None;
        }
        after_at = false;
    }
    finish(day, clock, part, today)
}

/// Combines the components into a point, refusing combinations that contradict or could mean two things.
fn finish(day: Option<Day>, clock: Option<Clockish>, part: Option<(Part, bool)>, today: bool) -> Option<Point> {
    let today_only = today || part.is_some_and(|(_, this)| this);
    let time = match (clock, part.map(|(part, _)| part)) {
        (None, None) => None,
        (None, Some(part)) => Some(Time::Part(part)),
        (Some(Clockish::Written(written)), part) => Some(Time::Clock(clock::to_time(written, part)?)),
        (Some(Clockish::Noon), None) => Some(Time::Clock(hm(12, 0))),
        (Some(Clockish::Midnight), None) => Some(Time::Midnight),
        (Some(Clockish::Eod), None) => Some(Time::Eod),
        // "noon tonight", "eod morning": contradictory.
        (Some(_), Some(_)) => return None,
    };
    // "today" alone is a bare day like any other: 09:00, in the past once that has gone by.
    let time = if today && day.is_none() { time.or(Some(Time::Clock(DEFAULT_TIME))) } else { time };
    let no_time_allowed = matches!(day, Some(Day::EndOfWeek | Day::Weekend)) && time.is_some();
    let midnight_with_day = time == Some(Time::Midnight) && (day.is_some() || today_only);
    // "tomorrow tonight", "friday this morning": today-only words cannot go with another day.
    if no_time_allowed || midnight_with_day || (today_only && day.is_some()) || (day.is_none() && time.is_none()) {
        return None;
    }
    Some(Point { day, time, today_only })
}

/// A day: relative words, weekdays, "next week/month", "end of week", "this weekend" and dates. A date in ISO form
/// may carry its own time ("2026-12-25T14:00"), returned alongside.
fn day_component(cursor: &mut Cursor<'_>) -> Option<(Day, Option<Clockish>)> {
    let mut iso = *cursor;
    if let Some(found) = iso_date(&mut iso) {
        *cursor = iso;
        return Some(found);
    }
    let mut c = *cursor;
    let day = if c.eat_any(&["tomorrow", "tmrw", "tmr", "tomorow"]) {
        Day::Tomorrow
    } else if c.eat_words(&["day", "after", "tomorrow"]) {
        Day::AfterTomorrow
    } else if c.eat_word("next") {
        match c.next_word()? {
            "week" => Day::NextWeek,
            "month" => Day::NextMonth,
            word => Day::Weekday { day: words::weekday(word)?, next: true },
        }
    } else if c.eat_word("weekend") || c.eat_words(&["this", "weekend"]) {
        Day::Weekend
    } else if c.eat_word("eow") || c.eat_words(&["end", "of", "week"]) || c.eat_words(&["end", "of", "this", "week"]) {
        Day::EndOfWeek
    } else if let Some(day) = c.peek_word().and_then(words::weekday) {
        c.advance(1);
        Day::Weekday { day, next: false }
    } else if c.eat_word("this") {
        Day::Weekday { day: c.next_word().and_then(words::weekday)?, next: false }
    } else {
        written_date(&mut c)?
    };
    *cursor = c;
    Some((day, None))
}

/// "december 25th", "dec 25 2026", "25 december", "25th of dec".
fn written_date(c: &mut Cursor<'_>) -> Option<Day> {
    let (month, day) = if let Some(month) = c.peek_word().and_then(words::month) {
        c.advance(1);
        (month, day_of_month(c)?)
    } else {
        let day = day_of_month(c)?;
        c.eat_word("of");
        (c.next_word().and_then(words::month)?, day)
    };
    let year = match c.peek() {
        Some(Token::Num { value, digits: 4 }) => {
            c.advance(1);
            Some(i32::try_from(*value).ok()?)
        }
        _ => None,
    };
    Some(Day::Date { year, month, day })
}

/// A day of the month with an optional ordinal suffix.
fn day_of_month(c: &mut Cursor<'_>) -> Option<u32> {
    let (value, digits) = c.next_num()?;
    if digits > 2 || !(1..=31).contains(&value) {
        return None;
    }
    if c.peek_word().is_some_and(words::is_ordinal_suffix) {
        c.advance(1);
    }
    u32::try_from(value).ok()
}

/// "2026-12-25", optionally with "T14:00".
fn iso_date(c: &mut Cursor<'_>) -> Option<(Day, Option<Clockish>)> {
    let (year, 4) = c.next_num()? else { return None };
    if !c.eat(&Token::Dash) {
        return None;
    }
    let (month, 1..=2) = c.next_num()? else { return None };
    if !c.eat(&Token::Dash) {
        return None;
    }
    let (day, 1..=2) = c.next_num()? else { return None };
    let date = Day::Date {
        year: Some(i32::try_from(year).ok()?),
        month: u32::try_from(month).ok()?,
        day: u32::try_from(day).ok()?,
    };
    if !c.eat_word("t") {
        return Some((date, None));
    }
    // After "T" only a 24-hour time with minutes makes sense: no bare hour, no am/pm.
    let written = clock::written_clock(c, false).filter(|w| w.meridiem.is_none())?;
    Some((date, Some(Clockish::Written(written))))
}
