//! The vocabulary: which words name weekdays, months, units, parts of the day and small numbers.

use chrono::{NaiveTime, Weekday};

/// A unit a duration can be counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// "am" or "pm" after a clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meridiem {
    Am,
    Pm,
}

/// A part of the day, each with the time people mean by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Morning,
    Afternoon,
    /// "evening", "night" and "tonight" are one part: people mean the same 20:00 by them.
    Evening,
}

impl Part {
    /// The time a bare part of the day means ("tomorrow morning" = 09:00).
    pub(super) fn default_time(self) -> NaiveTime {
        match self {
            Part::Morning => hm(9, 0),
            Part::Afternoon => hm(14, 0),
            Part::Evening => hm(20, 0),
        }
    }

    /// A later slot still inside the same part, used when "this afternoon" is said after 14:00.
    pub(super) fn late_time(self) -> NaiveTime {
        match self {
            Part::Morning => hm(11, 0),
            Part::Afternoon => hm(16, 0),
            Part::Evening => hm(22, 0),
        }
    }

    /// Whether `hour` (0–23) lies in this part, which decides what "at 8" means in "tonight at 8".
    pub(super) fn contains_hour(self, hour: u32) -> bool {
        match self {
            Part::Morning => hour < 12,
            Part::Afternoon => (12..18).contains(&hour),
            Part::Evening => (17..24).contains(&hour),
        }
    }
}

/// The time a bare day means ("today", "tomorrow", "friday", "dec 25").
pub(super) const DEFAULT_TIME: NaiveTime = hm(9, 0);

/// A wall-clock time from constant hours and minutes; out-of-range values cannot occur at the call sites.
pub(super) const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    }
}

/// The weekday a word names ("friday", "fri").
pub(super) fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// The month number (1–12) a word names ("december", "dec").
pub(super) fn month(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// The duration unit a word names. "m" is minutes (as in "30m"); months need "mo" or the full word.
pub(super) fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
        "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
        "d" | "day" | "days" => Unit::Day,
        "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
        "mo" | "mos" | "month" | "months" => Unit::Month,
        "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
        _ => return None,
    })
}

/// A count written as a word ("an hour", "two days"). Only small, unambiguous numbers.
pub(super) fn count(word: &str) -> Option<u64> {
    Some(match word {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        _ => return None,
    })
}

/// "am"/"pm" after a clock time.
pub(super) fn meridiem(word: &str) -> Option<Meridiem> {
    match word {
        "am" => Some(Meridiem::Am),
        "pm" => Some(Meridiem::Pm),
        _ => None,
    }
}

/// The part of the day a word names.
pub(super) fn part(word: &str) -> Option<Part> {
    match word {
        "morning" => Some(Part::Morning),
        "afternoon" => Some(Part::Afternoon),
        "evening" | "night" => Some(Part::Evening),
        _ => None,
    }
}

/// The suffix of an ordinal day ("25th", "1st"). Any of the four is accepted after any number: "25st" is a typo
/// whose meaning is still plain.
pub(super) fn is_ordinal_suffix(word: &str) -> bool {
    matches!(word, "st" | "nd" | "rd" | "th")
}
