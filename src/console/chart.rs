//! The dashboard's chart: the last 30 days of deliveries as stacked bars by outcome, drawn as SVG by the
//! server (a bar per local day, oldest first, each with its own tooltip; the totals under it in words).

pub mod series;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::escalation::outcomes::{DayOutcome, OUTCOMES};

/// Days the chart covers, today included.
pub const DAYS: u64 = 30;
/// The plot's height in SVG units; a bar is [`STEP`] wide, gap included.
const HEIGHT: f64 = 80.0;
const STEP: u32 = 10;

#[derive(Debug, Serialize)]
pub struct Chart {
    pub bars: Vec<Bar>,
    /// Each outcome that occurred, with its count over the whole period.
    pub totals: Vec<Total>,
    pub total: i64,
    /// The first day shown, "7 Nov".
    pub from: String,
    /// The whole chart in one sentence, for screen readers.
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: u32,
    /// "Sun 6 Dec: 3 reached, 1 failed".
    pub label: String,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Serialize)]
pub struct Segment {
    pub outcome: &'static str,
    pub y: f64,
    pub height: f64,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub outcome: &'static str,
    pub count: i64,
}

/// Counts in the words the page uses: "3 reached, 1 failed"; "nothing" for none.
fn counted(counts: &[(&'static str, i64)]) -> String {
    let parts: Vec<String> =
        counts.iter().filter(|(_, n)| *n > 0).map(|(outcome, n)| format!("{n} {outcome}")).collect();
    if parts.is_empty() { "nothing".to_owned() } else { parts.join(", ") }
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The chart of `counts` for the [`DAYS`] days ending `today` (counts outside them are left out).
pub fn draw(counts: &[DayOutcome], today: NaiveDate) -> Chart {
    let first = today.checked_sub_days(Days::new(DAYS - 1)).unwrap_or(today);
    let days: Vec<NaiveDate> = first.iter_days().take_while(|day| *day <= today).collect();
    let count_of = |day: NaiveDate, outcome: &str| {
        counts.iter().filter(|c| c.day == day && c.outcome == outcome).map(|c| c.count).sum::<i64>()
    };
    let per_day: Vec<Vec<(&'static str, i64)>> =
        days.iter().map(|day| OUTCOMES.iter().map(|outcome| (*outcome, count_of(*day, outcome))).collect()).collect();
    let peak = per_day.iter().map(|day| day.iter().map(|(_, n)| n).sum::<i64>()).max().unwrap_or(0).max(1);
    let scale = HEIGHT / peak as f64;
    let bars = days
        .iter()
        .zip(&per_day)
        .zip(0u32..)
        .map(|((day, outcomes), index)| {
            let mut top = HEIGHT;
            let segments = outcomes
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(outcome, n)| {
                    let height = *n as f64 * scale;
                    top -= height;
                    Segment { outcome, y: round(top), height: round(height) }
                })
                .collect();
            Bar { x: index * STEP + 1, label: format!("{}: {}", day.format("%a %-d %b"), counted(outcomes)), segments }
        })
        .collect();
    let totals: Vec<(&'static str, i64)> = OUTCOMES
        .iter()
        .map(|outcome| (*outcome, per_day.iter().flatten().filter(|(o, _)| o == outcome).map(|(_, n)| n).sum()))
        .collect();
    let total = totals.iter().map(|(_, n)| n).sum();
    Chart {
        bars,
        summary: format!("Deliveries by day over the last {DAYS} days: {} in all", counted(&totals)),
        totals: totals.into_iter().filter(|(_, n)| *n > 0).map(|(outcome, count)| Total { outcome, count }).collect(),
        total,
        from: first.format("%-d %b").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(day: &str, outcome: &str, count: i64) -> DayOutcome {
        DayOutcome { day: day.parse().unwrap(), outcome: outcome.into(), count }
    }

    #[test]
    fn days_are_stacked_by_outcome_against_the_busiest_day() {
        let today: NaiveDate = "2026-12-06".parse().unwrap();
        let counts = [
            count("2026-12-06", "reached", 3),
            count("2026-12-06", "failed", 1),
            count("2026-12-01", "reached", 2),
            count("2026-11-01", "failed", 9),
        ];
        let chart = draw(&counts, today);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(chart.from, "7 Nov");
        let last = chart.bars.last().unwrap();
        assert_eq!((last.x, last.label.as_str()), (291, "Sun 6 Dec: 3 reached, 1 failed"));
        let heights: Vec<(f64, f64)> = last.segments.iter().map(|s| (s.y, s.height)).collect();
        assert_eq!(heights, [(20.0, 60.0), (0.0, 20.0)], "the busiest day fills the height");
        assert_eq!(chart.bars[24].segments[0].height, 40.0);
        assert_eq!(chart.bars[0].label, "Sat 7 Nov: nothing");
        assert_eq!(chart.total, 6, "a count before the 30 days is left out");
        assert!(chart.summary.ends_with("5 reached, 1 failed in all"), "{}", chart.summary);
    }
}
