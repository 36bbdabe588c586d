//! The escalation timeline of a reminder's detail page and of the profile editor: the API's preview (or a
//! profile's sketch) laid out as rows of a vertical SVG (a vertical line reads at phone width as well as on
//! a desk).

use chrono_tz::Tz;
use serde::Serialize;

use crate::reminders::preview::{PreviewStep, PreviewView, SkippedTarget};

/// Rows drawn at most; a long profile with many loops says how many more there are.
const MAX_ROWS: usize = 12;
/// Vertical distance between rows, in SVG units.
const ROW: u32 = 58;
const TOP: u32 = 28;

#[derive(Debug, Serialize)]
pub struct Timeline {
    pub height: u32,
    pub line_end: u32,
    pub rows: Vec<Row>,
    pub more: usize,
    /// Per tier, the targets that will not be reached and why.
    pub skipped: Vec<String>,
    /// Some step reaches nobody because no channel is set up for it.
    pub unreached: bool,
    /// What a calendar changes about this occurrence, in a sentence.
    pub calendar: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub y: u32,
    pub label_y: u32,
    pub detail_y: u32,
    pub heading: String,
    pub detail: String,
    /// The first row: when the reminder fires.
    pub first: bool,
}

fn after(minutes: u32) -> String {
    match minutes {
        0 => "at once".to_owned(),
        m if m % 60 == 0 => format!("after {} h", m / 60),
        m if m > 60 => format!("after {} h {} min", m / 60, m % 60),
        m => format!("after {m} min"),
    }
}

fn shorten(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Rows for every step of the preview, in the viewer's zone; None when the reminder will not fire again.
pub fn build(preview: &PreviewView, tz: Tz) -> Option<Timeline> {
    preview.occurrence_at?;
    let mut timeline = draw(&preview.steps, &preview.skipped, tz);
    timeline.calendar = preview.calendar.as_ref().map(|change| change.description.clone());
    Some(timeline)
}

/// Rows for `steps` in the viewer's zone, with the targets that will be skipped.
pub fn draw(steps: &[PreviewStep], skipped: &[SkippedTarget], tz: Tz) -> Timeline {
    let total = steps.len();
    let rows: Vec<Row> = steps
        .iter()
        .take(MAX_ROWS)
        .enumerate()
        .map(|(index, step)| {
            let y = TOP + ROW * u32::try_from(index).unwrap_or(0);
            let loop_note = if step.loop_index > 0 { format!(" (repeat {})", step.loop_index) } else { String::new() };
            let channels: Vec<String> = step
                .deliveries
                .iter()
                .map(|d| match (&d.recipient_name, d.recipient_kind.as_str()) {
                    (Some(name), "contact" | "member") => format!("{} to {name}", d.channel),
                    _ => d.channel.clone(),
                })
                .collect();
            let who = if channels.is_empty() { "no channel set up".to_owned() } else { channels.join(", ") };
            let deferred = if step.deliveries.iter().any(|d| d.deferred) { " · after quiet hours" } else { "" };
            let when = step.at.with_timezone(&tz).format("%a %-d %b %H:%M");
            Row {
                y,
                label_y: y - 4,
                detail_y: y + 14,
                heading: shorten(format!("Tier {}{loop_note} · {}", step.tier, after(step.delay_minutes)), 36),
                detail: shorten(format!("{when} · {who}{deferred}"), 42),
                first: index == 0,
            }
        })
        .collect();
    let count = u32::try_from(rows.len()).unwrap_or(0);
    Timeline {
        height: TOP + ROW * count.max(1) - ROW / 2 + 8,
        line_end: TOP + ROW * count.saturating_sub(1),
        more: total.saturating_sub(MAX_ROWS),
        unreached: steps.iter().any(|step| step.deliveries.is_empty())
            || skipped.iter().any(|skip| skip.reason.starts_with("no active ")),
        rows,
        skipped: skipped_lines(skipped),
        calendar: None,
    }
}

/// "Tier 2 will skip email, webhook: no such channel is set up", one line per tier and reason.
fn skipped_lines(skipped: &[SkippedTarget]) -> Vec<String> {
    let mut lines: Vec<(u16, String, Vec<String>)> = Vec::new();
    for skip in skipped {
        let what = skip.channel.clone().unwrap_or_else(|| "a contact".to_owned());
        let (reason, what) = match skip.reason.strip_prefix("no active ") {
            Some(_) => ("no such channel is set up yet".to_owned(), what),
            None => (skip.reason.clone(), what),
        };
        match lines.iter_mut().find(|(tier, r, _)| *tier == skip.tier && *r == reason) {
            Some((_, _, items)) => items.push(what),
            None => lines.push((skip.tier, reason, vec![what])),
        }
    }
    lines
        .into_iter()
        .map(|(tier, reason, items)| format!("Tier {tier} will skip {}: {reason}.", items.join(", ")))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn delays_read_as_people_say_them() {
        assert_eq!(super::after(0), "at once");
        assert_eq!(super::after(30), "after 30 min");
        assert_eq!(super::after(180), "after 3 h");
        assert_eq!(super::after(90), "after 1 h 30 min");
    }
}
