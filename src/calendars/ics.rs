//! An iCalendar document expanded into the event instances of a window: recurring events (RRULE, RDATE,
//! EXDATE, RECURRENCE-ID overrides), all-day and floating events, and time zones given by IANA id, by a
//! VTIMEZONE's `X-LIC-LOCATION`, by a path ending in an IANA id, or by a Windows zone name. Pure: the sync
//! feeds it the body it fetched. Tokenising is the `icalendar` crate's parser; expansion is the `rrule` crate's, in the event's
//! own wall-clock frame (as the reminder schedules do), so an event at 09:00 stays at 09:00 across DST.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};
use reminder_core::calendar::start_of;
use reminder_core::timezone::resolve_local;
use rrule::{RRule, Unvalidated};

/// Instances kept per calendar, and expanded per recurring event, so one hostile file cannot fill a table.
pub const MAX_INSTANCES: usize = 5_000;
const MAX_PER_EVENT: usize = 1_000;
const SUMMARY_MAX: usize = 500;

/// One instance in the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub uid: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: String,
    pub categories: Vec<String>,
    pub all_day: bool,
    pub busy: bool,
}

/// Why a document could not be read at all. Single events that do not read are skipped and counted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IcsError {
    #[error("not an iCalendar file (it does not start with BEGIN:VCALENDAR)")]
    NotICalendar,
    #[error("the iCalendar file does not parse: {0}")]
    Malformed(String),
}

/// The instances of `text` that overlap `from..to`, earliest first; `zone` (the owner's) places floating
/// times and all-day dates. Returns them with the number of events that could not be read.
pub fn expand(
    text: &str,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Instance>, usize), IcsError> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.get(..15).is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR")) {
        return Err(IcsError::NotICalendar);
    }
    let unfolded = icalendar::parser::unfold(&text.replace("\r\n", "\n"));
    let calendar = icalendar::parser::read_calendar(&unfolded).map_err(|err| {
        IcsError::Malformed(err.lines().find(|l| !l.trim().is_empty()).unwrap_or("").chars().take(200).collect())
    })?;
    let mut components = Vec::new();
    flatten(&calendar.components, &mut components);
    let zones = Zones::read(&components, zone);
    let events: Vec<Option<Event>> =
        components.iter().filter(|c| c.name == "VEVENT").map(|c| Event::read(c, &zones)).collect();
    let overridden: HashSet<(String, DateTime<Utc>)> =
        events.iter().flatten().filter_map(|e| Some((e.uid.clone(), e.recurrence_id?))).collect();
    let mut out = Vec::new();
    let mut unreadable = events.iter().filter(|e| e.is_none()).count();
    for event in events.iter().flatten() {
        match event.instances(&overridden, from, to) {
            Some(instances) => out.extend(instances),
            None => unreadable += 1,
        }
    }
    out.sort_by_key(|i| (i.starts_at, i.uid.clone()));
    out.truncate(MAX_INSTANCES);
    Ok((out, unreadable))
}

fn flatten<'a>(components: &'a [Component<'a>], out: &mut Vec<&'a Component<'a>>) {
    for component in components {
        out.push(component);
        flatten(&component.components, out);
    }
}

fn prop<'a>(component: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    component.properties.iter().find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(property: &'a Property<'a>, key: &str) -> Option<&'a str> {
    property
        .params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str())
}

/// TEXT values as written: `\,` `\;` `\\` and `\n` escaped.
fn unescape(text: &str) -> String {
    text.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
}

/// The zones a document names, mapped to IANA zones; unknown ones read as the owner's.
struct Zones {
    by_tzid: HashMap<String, Tz>,
    owner: Tz,
}

impl Zones {
    fn read(components: &[&Component], owner: Tz) -> Zones {
        let mut by_tzid = HashMap::new();
        for vtimezone in components.iter().filter(|c| c.name == "VTIMEZONE") {
            let Some(tzid) = prop(vtimezone, "TZID").map(|p| p.val.as_str().to_owned()) else { continue };
            let location = prop(vtimezone, "X-LIC-LOCATION").and_then(|p| iana(p.val.as_str()));
            if let Some(tz) = iana(&tzid).or(location) {
                by_tzid.insert(tzid, tz);
            }
        }
        Zones { by_tzid, owner }
    }

    fn get(&self, tzid: &str) -> Tz {
        self.by_tzid.get(tzid).copied().or_else(|| iana(tzid)).unwrap_or(self.owner)
    }
}

/// An IANA zone from a TZID as calendars write them: `Europe/Berlin`, `"Europe/Berlin"`, a path such as
/// `/freeassociation.sourceforge.net/Tzfile/Europe/Berlin`, or a Windows zone name as Outlook and Exchange
/// write it (`W. Europe Standard Time`), read as CLDR's world-wide default zone for that name.
fn iana(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim_matches('"');
    if let Some(tz) = reminder_core::timezone::parse_zone(tzid) {
        return Some(tz);
    }
    if let Ok(windows) = tzid.trim().parse::<windows_timezones::WindowsTimezone>() {
        return Some(Tz::from(windows));
    }
    let parts: Vec<&str> = tzid.split('/').collect();
    (1..parts.len()).rev().find_map(|i| reminder_core::timezone::parse_zone(&parts[parts.len() - 1 - i..].join("/")))
}

/// A DATE or DATE-TIME value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum When {
    Date(NaiveDate),
    /// Wall-clock time in a zone (UTC for values ending in `Z`).
    Local(NaiveDateTime, Tz),
}

impl When {
    fn read(value: &str, tzid: Option<&str>, zones: &Zones) -> Option<When> {
        let value = value.trim();
        if value.len() == 8 {
            return NaiveDate::parse_from_str(value, "%Y%m%d").ok().map(When::Date);
        }
        if let Some(utc) = value.strip_suffix('Z') {
            return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok().map(|t| When::Local(t, chrono_tz::UTC));
        }
        let tz = tzid.map_or(zones.owner, |id| zones.get(id));
        NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok().map(|t| When::Local(t, tz))
    }

    fn of(property: &Property, zones: &Zones) -> Option<When> {
        When::read(property.val.as_str(), param(property, "TZID"), zones)
    }

    /// Every value of a list property (EXDATE and RDATE may hold several, comma-separated).
    fn list(component: &Component, name: &str, zones: &Zones) -> Vec<When> {
        let properties = component.properties.iter().filter(|p| p.name.as_str().eq_ignore_ascii_case(name));
        properties
            .flat_map(|p| {
                p.val.as_str().split(',').filter_map(|v| When::read(v, param(p, "TZID"), zones)).collect::<Vec<_>>()
            })
            .collect()
    }

    fn instant(self, owner: Tz) -> DateTime<Utc> {
        match self {
            When::Date(date) => start_of(date, owner),
            When::Local(naive, tz) => resolve_local(tz, naive),
        }
    }

    /// The value as wall-clock time in `tz` (the frame the event is expanded in).
    fn naive_in(self, tz: Tz, owner: Tz) -> NaiveDateTime {
        match self {
            When::Date(date) => date.and_hms_opt(0, 0, 0).unwrap_or_default(),
            When::Local(naive, zone) if zone == tz => naive,
            other => other.instant(owner).with_timezone(&tz).naive_local(),
        }
    }
}

/// One VEVENT as read.
struct Event {
    uid: String,
    start: When,
    /// Wall-clock length (days for all-day events).
    length: Duration,
    summary: String,
    categories: Vec<String>,
    busy: bool,
    cancelled: bool,
    rule: Option<String>,
    exdates: Vec<When>,
    rdates: Vec<When>,
    recurrence_id: Option<DateTime<Utc>>,
    owner: Tz,
}

impl Event {
    fn read(c: &Component, zones: &Zones) -> Option<Event> {
        let start = When::of(prop(c, "DTSTART")?, zones)?;
        let end = prop(c, "DTEND").and_then(|p| When::of(p, zones));
        let length = match (start, end) {
            (When::Date(s), Some(When::Date(e))) => e - s,
            (When::Local(s, _), Some(end @ When::Local(..))) => {
                end.naive_in(zone_of(start, zones.owner), zones.owner) - s
            }
            _ => match prop(c, "DURATION").and_then(|p| duration(p.val.as_str())) {
                Some(d) => d,
                None if matches!(start, When::Date(_)) => Duration::days(1),
                None => Duration::zero(),
            },
        };
        if length < Duration::zero() || length > Duration::days(366) {
            return None;
        }
        let text = |name| prop(c, name).map(|p| unescape(p.val.as_str()));
        let categories = c
            .properties
            .iter()
            .filter(|p| p.name.as_str().eq_ignore_ascii_case("CATEGORIES"))
            .flat_map(|p| p.val.as_str().split(',').map(|s| unescape(s.trim())).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        Some(Event {
            uid: text("UID").unwrap_or_default(),
            start,
            length,
            summary: text("SUMMARY").unwrap_or_else(|| "(no title)".to_owned()).chars().take(SUMMARY_MAX).collect(),
            categories,
            busy: !text("TRANSP").is_some_and(|t| t.eq_ignore_ascii_case("TRANSPARENT")),
            cancelled: text("STATUS").is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED")),
            rule: text("RRULE"),
            exdates: When::list(c, "EXDATE", zones),
            rdates: When::list(c, "RDATE", zones),
            recurrence_id: prop(c, "RECURRENCE-ID").and_then(|p| When::of(p, zones)).map(|w| w.instant(zones.owner)),
            owner: zones.owner,
        })
    }

    fn all_day(&self) -> bool {
        matches!(self.start, When::Date(_))
    }

    fn instance(&self, start: NaiveDateTime) -> Instance {
        let tz = zone_of(self.start, self.owner);
        Instance {
            uid: self.uid.clone(),
            starts_at: resolve_local(tz, start),
            ends_at: resolve_local(tz, start + self.length),
            summary: self.summary.clone(),
            categories: self.categories.clone(),
            all_day: self.all_day(),
            busy: self.busy,
        }
    }

    /// The instances overlapping `from..to`; None when the recurrence does not read.
    fn instances(
        &self,
        overridden: &HashSet<(String, DateTime<Utc>)>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<Vec<Instance>> {
        if self.cancelled {
            return Some(Vec::new());
        }
        let tz = zone_of(self.start, self.owner);
        let start = self.start.naive_in(tz, self.owner);
        let in_window = |i: &Instance| i.starts_at < to && i.ends_at > from;
        // An override stands for itself; a master's instance that an override replaces is dropped.
        let replaced =
            |i: &Instance| self.recurrence_id.is_none() && overridden.contains(&(self.uid.clone(), i.starts_at));
        let mut starts = vec![start];
        if let (Some(rule), None) = (&self.rule, self.recurrence_id) {
            starts = self.expand_rule(rule, start, tz, to)?;
        }
        starts.extend(self.rdates.iter().map(|r| r.naive_in(tz, self.owner)));
        let excluded: HashSet<NaiveDateTime> = self.exdates.iter().map(|e| self.exdate_in(*e, tz, start)).collect();
        starts.sort();
        starts.dedup();
        Some(
            starts
                .into_iter()
                .filter(|s| !excluded.contains(s))
                .map(|s| self.instance(s))
                .filter(|i| in_window(i) && !replaced(i))
                .take(MAX_PER_EVENT)
                .collect(),
        )
    }

    /// An EXDATE in the event's frame; a date-only EXDATE of a timed event excludes that day's instance.
    fn exdate_in(&self, exdate: When, tz: Tz, start: NaiveDateTime) -> NaiveDateTime {
        match exdate {
            When::Date(date) if !self.all_day() => date.and_time(start.time()),
            other => other.naive_in(tz, self.owner),
        }
    }

    /// The rule's starts (wall-clock, in `tz`) up to a day past `to`. UNTIL is applied here, as an instant
    /// or a date, since the crate would read it in the naive frame.
    fn expand_rule(&self, rule: &str, start: NaiveDateTime, tz: Tz, to: DateTime<Utc>) -> Option<Vec<NaiveDateTime>> {
        let mut until = None;
        let parts: Vec<&str> = rule
            .split(';')
            .filter(|part| match part.split_once('=') {
                Some((key, value)) if key.eq_ignore_ascii_case("UNTIL") => {
                    until = When::read(value, None, &Zones { by_tzid: HashMap::new(), owner: tz });
                    false
                }
                _ => !part.is_empty(),
            })
            .collect();
        let parsed: RRule<Unvalidated> = parts.join(";").parse().ok()?;
        let set = parsed.build(rrule::Tz::UTC.from_utc_datetime(&start)).ok()?.limit();
        let horizon = to.with_timezone(&tz).naive_local() + Duration::days(1);
        let mut starts = Vec::new();
        for occurrence in &set {
            let local = occurrence.naive_utc();
            let past_until = match until {
                Some(When::Date(date)) => local.date() > date,
                Some(when @ When::Local(..)) => resolve_local(tz, local) > when.instant(tz),
                None => false,
            };
            if local > horizon || past_until || starts.len() >= MAX_INSTANCES {
                break;
            }
            starts.push(local);
        }
        Some(starts)
    }
}

fn zone_of(when: When, owner: Tz) -> Tz {
    match when {
        When::Local(_, tz) => tz,
        When::Date(_) => owner,
    }
}

/// An RFC 5545 DURATION such as `PT1H30M`, `P1D` or `P2W`.
fn duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    for ch in text.strip_prefix('P')?.chars() {
        match ch {
            '0'..='9' => number.push(ch),
            'T' => in_time = true,
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += match unit {
                    'W' => Duration::weeks(n),
                    'D' => Duration::days(n),
                    'H' => Duration::hours(n),
                    // Months and years have no fixed length; calendars do not use them for events.
                    'M' if in_time => Duration::minutes(n),
                    'S' => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests;
