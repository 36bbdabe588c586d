//! Times of day as written: "9", "9am", "9:30 pm", "17:00:30", "noon", "midnight", "eod", and parts of the day
//! ("morning", "in the evening", "tonight", "this afternoon").

use chrono::NaiveTime;

use super::cursor::Cursor;
use super::lexer::Token;
use super::words::{self, Meridiem, Part};

/// A clock time as written, checked and converted only once any part of the day is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Written {
    hour: u64,
    minute: u64,
    second: u64,
    pub(super) meridiem: Option<Meridiem>,
}

/// A time-of-day component before it is combined with a part of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clockish {
    Written(Written),
    Noon,
    Midnight,
    Eod,
}

/// Turns a written clock time into a time of day. With a part of the day, an hour without am/pm takes the reading
/// that falls inside the part ("tonight at 8" is 20:00); if neither does ("tonight at 1"), it is not understood.
pub(super) fn to_time(written: Written, part: Option<Part>) -> Option<NaiveTime> {
    let Written { hour, minute, second, meridiem } = written;
    let hour = u32::try_from(hour).ok()?;
    let candidates = match meridiem {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(Meridiem::Am) => [Some(hour % 12), None],
        Some(Meridiem::Pm) => [Some(hour % 12 + 12), None],
        None if hour > 23 => return None,
        None => [Some(hour), (part.is_some() && (1..12).contains(&hour)).then_some(hour + 12)],
    };
    let hour = candidates.into_iter().flatten().find(|&h| part.is_none_or(|part| part.contains_hour(h)))?;
    NaiveTime::from_hms_opt(hour, u32::try_from(minute).ok()?, u32::try_from(second).ok()?)
}

/// "9", "9am", "9:30", "9:30 pm", "17:00:30", "noon", "midnight", "eod", "end of day".
pub(super) fn clock_component(cursor: &mut Cursor<'_>, after_at: bool) -> Option<Clockish> {
    let mut c = *cursor;
    let found = if c.eat_any(&["noon", "midday"]) {
        Clockish::Noon
    } else if c.eat_word("midnight") {
        Clockish::Midnight
    } else if c.eat_any(&["eod", "eob", "cob"])
        || c.eat_words(&["end", "of", "day"])
        || c.eat_words(&["end", "of", "business"])
        || c.eat_words(&["close", "of", "business"])
    {
        Clockish::Eod
    } else {
        Clockish::Written(written_clock(&mut c, after_at)?)
    };
    *cursor = c;
    Some(found)
}

/// A clock time as written. Without a colon or am/pm the number is an hour only when `bare_ok`.
pub(super) fn written_clock(c: &mut Cursor<'_>, bare_ok: bool) -> Option<Written> {
    let (hour, 1..=2) = c.next_num()? else { return None };
    let (mut minute, mut second, mut colon) = (0, 0, false);
    if c.eat(&Token::Colon) {
        let (m, 2) = c.next_num()? else { return None };
        minute = m;
        colon = true;
        if c.eat(&Token::Colon) {
            let (s, 2) = c.next_num()? else { return None };
            second = s;
        }
    }
    let meridiem = c.peek_word().and_then(words::meridiem);
    if meridiem.is_some() {
        c.advance(1);
    }
    (colon || meridiem.is_some() || bare_ok).then_some(Written { hour, minute, second, meridiem })
}

/// "morning", "in the evening", "at night", "tonight", "this afternoon". The flag marks today-only forms.
pub(super) fn part_component(cursor: &mut Cursor<'_>) -> Option<(Part, bool)> {
    let mut c = *cursor;
    let found = if c.eat_any(&["tonight", "tonite"]) {
        (Part::Evening, true)
    } else {
        let this = c.eat_word("this");
        if !this {
            c.eat_word("in");
        }
        (c.next_word().and_then(words::part)?, this)
    };
    *cursor = c;
    Some(found)
}
