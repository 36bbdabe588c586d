//! Column charts of the admin pages: one column per label (a month, a channel, a snapshot), each series a
//! bar beside the others or stacked on them, drawn as SVG by the server. Every column has its own tooltip,
//! and the page shows the same numbers in a table, so the chart is never the only way to read them.

use serde::Serialize;

/// The plot's height in SVG units; a column is [`STEP`] wide, gap included.
const HEIGHT: f64 = 80.0;
const STEP: f64 = 10.0;
/// Up to this many columns, each is named under the chart; past it only the first and the last.
const NAMED: usize = 12;

/// How the series of a column are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Side by side, each against the same scale.
    Beside,
    /// On top of each other: the column's height is their sum.
    Stacked,
}

/// One series: its name in the legend and tooltips, its CSS class (`bar-…`), a value per label.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct Columns {
    /// The viewBox's width.
    pub width: u32,
    pub groups: Vec<Group>,
    pub legend: Vec<Key>,
    /// The whole chart in one sentence, for screen readers.
    pub summary: String,
    /// The tallest column, formatted: the scale's top.
    pub peak: String,
    /// Whether anything is above zero.
    pub any: bool,
    /// Whether every column is named under the chart (else only the first and the last).
    pub named: bool,
}

#[derive(Debug, Serialize)]
pub struct Group {
    /// The name under the chart ("Nov").
    pub short: String,
    /// "Nov 2026: MRR $12.00".
    pub title: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub class: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Serialize)]
pub struct Key {
    pub name: String,
    pub class: String,
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The chart of `series` over `labels` (each label as (short, long)); `format` writes a value as the page
/// does, `what` names the chart in its summary ("MRR by month").
pub fn columns(
    what: &str,
    labels: &[(String, String)],
    series: &[Series<'_>],
    layout: Layout,
    format: impl Fn(i64) -> String,
) -> Columns {
    let value = |s: &Series<'_>, index: usize| s.values.get(index).copied().unwrap_or(0).max(0);
    let column_total = |index: usize| -> i64 {
        match layout {
            Layout::Stacked => series.iter().map(|s| value(s, index)).sum(),
            Layout::Beside => series.iter().map(|s| value(s, index)).max().unwrap_or(0),
        }
    };
    let peak = (0..labels.len()).map(column_total).max().unwrap_or(0);
    let scale = HEIGHT / peak.max(1) as f64;
    let width = match layout {
        Layout::Stacked => STEP - 2.0,
        Layout::Beside => (STEP - 2.0) / series.len().max(1) as f64,
    };
    let groups = labels
        .iter()
        .enumerate()
        .map(|(index, (short, long))| {
            let left = index as f64 * STEP + 1.0;
            let mut top = HEIGHT;
            let bars = series
                .iter()
                .enumerate()
                .filter(|(_, s)| value(s, index) > 0)
                .map(|(at, s)| {
                    let height = value(s, index) as f64 * scale;
                    let (x, y) = match layout {
                        Layout::Stacked => {
                            top -= height;
                            (left, top)
                        }
                        Layout::Beside => (left + at as f64 * width, HEIGHT - height),
                    };
                    Bar {
                        class: s.class.to_owned(),
                        x: round(x),
                        y: round(y),
                        width: round(width),
                        height: round(height),
                    }
                })
                .collect();
            let parts: Vec<String> = series.iter().map(|s| format!("{} {}", s.name, format(value(s, index)))).collect();
            Group { short: short.clone(), title: format!("{long}: {}", parts.join(", ")), bars }
        })
        .collect();
    let span = match (labels.first(), labels.last()) {
        (Some(first), Some(last)) if labels.len() > 1 => format!("{} to {}", first.1, last.1),
        (Some(only), _) => only.1.clone(),
        _ => "no data".to_owned(),
    };
    Columns {
        width: u32::try_from(labels.len().max(1)).unwrap_or(1) * STEP as u32,
        groups,
        legend: series.iter().map(|s| Key { name: s.name.to_owned(), class: s.class.to_owned() }).collect(),
        summary: format!("{what}, {span}; the tallest column is {}", format(peak)),
        peak: format(peak),
        any: peak > 0,
        named: labels.len() <= NAMED,
    }
}

/// Cents as the pages write money: "$1,234.50" for USD, "1,234.50 EUR" for others.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match currency {
        "USD" => format!("{sign}${grouped}.{:02}", cents % 100),
        other => format!("{sign}{grouped}.{:02} {other}", cents % 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<(String, String)> {
        names.iter().map(|n| ((*n).to_owned(), format!("{n} 2026"))).collect()
    }

    #[test]
    fn stacked_columns_share_one_scale_and_say_their_numbers() {
        let series = [
            Series { name: "sent", class: "bar-sent", values: vec![3, 1] },
            Series { name: "failed", class: "bar-failed", values: vec![1, 0] },
        ];
        let chart = columns("Deliveries", &labels(&["Oct", "Nov"]), &series, Layout::Stacked, |n| n.to_string());
        assert_eq!(chart.width, 20);
        let first: Vec<(f64, f64)> = chart.groups[0].bars.iter().map(|b| (b.y, b.height)).collect();
        assert_eq!(first, [(20.0, 60.0), (0.0, 20.0)], "the tallest column fills the height");
        assert_eq!(chart.groups[1].bars.len(), 1, "a zero draws nothing");
        assert_eq!(chart.groups[0].title, "Oct 2026: sent 3, failed 1");
        assert_eq!(chart.summary, "Deliveries, Oct 2026 to Nov 2026; the tallest column is 4");
        assert!(chart.any && chart.named);
    }

    #[test]
    fn side_by_side_bars_split_the_column() {
        let series = [
            Series { name: "new", class: "bar-new", values: vec![2] },
            Series { name: "cancelled", class: "bar-lost", values: vec![1] },
        ];
        let chart = columns("Subscriptions", &labels(&["Nov"]), &series, Layout::Beside, |n| n.to_string());
        let bars: Vec<(f64, f64, f64)> = chart.groups[0].bars.iter().map(|b| (b.x, b.width, b.height)).collect();
        assert_eq!(bars, [(1.0, 4.0, 80.0), (5.0, 4.0, 40.0)]);
        let empty = columns("Nothing", &labels(&["Nov"]), &[], Layout::Beside, |n| n.to_string());
        assert!(!empty.any);
    }

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(money(900, "USD"), "$9.00");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(-150, "USD"), "-$1.50");
    }
}
