//! Rows the engine cannot read. Every stored shape has one decoder; a row it refuses is logged (ids only),
//! counted in `engine_bad_rows_total{kind}` and skipped (a reminder is tried again five minutes later, so bad
//! rows cannot fill every batch), never cleared: read as a default instead (an empty
//! plan, a cleared `next_trigger_at`), it would quietly stop a reminder with nothing to show why.

use reminder_core::ids::{EpisodeId, ReminderId};

/// A reminder that fire skipped: its schedule or its profile (`kind`) does not read.
pub fn reminder(kind: &'static str, reminder: ReminderId, error: &anyhow::Error) {
    metrics::counter!("engine_bad_rows_total", "kind" => kind).increment(1);
    tracing::error!(kind, reminder.id = %reminder, error = format!("{error:#}"),
        "unreadable reminder row skipped; tried again in five minutes, it fires once the row reads again");
}

/// An episode that a step skipped: its state or its plan (`kind`) does not read.
pub fn episode(kind: &'static str, escalation: EpisodeId, error: &anyhow::Error) {
    metrics::counter!("engine_bad_rows_total", "kind" => kind).increment(1);
    tracing::error!(kind, escalation.id = %escalation, error = format!("{error:#}"), "unreadable escalation row skipped");
}
