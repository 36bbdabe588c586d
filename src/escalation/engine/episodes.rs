//! Episodes between the pure machine and their rows: driving due steps, reading a row for a step (the
//! rows are written by `escalation::episodes`, their store).

use chrono::{DateTime, Utc};
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::EpisodeId;
use reminder_core::machine::{self, Effect, Episode, Event, Plan};

use crate::escalation::episodes::{EpisodeColumns, decode_plan};
use crate::notifications::delivery::{self, DeliveryContext};

/// Steps an episode with `Due` until it is no longer due, collecting the deliveries its effects create.
/// Bounded: equal tier delays make several tiers due at once, nothing makes them due forever.
pub fn drive(
    plan: &Plan,
    mut episode: Episode,
    ctx: &DeliveryContext,
    now: DateTime<Utc>,
) -> (Episode, Vec<NewDelivery>) {
    let mut deliveries = Vec::new();
    for _ in 0..64 {
        if !episode.is_due(now) {
            break;
        }
        let (next, effects) = machine::step(plan, &episode, Event::Due, now);
        for effect in effects {
            if let Effect::Deliver { tier, loop_index, targets, escalated } = effect {
                deliveries.extend(delivery::for_tier(ctx, tier, loop_index, &targets, escalated, now));
            }
        }
        let unchanged = next == episode;
        episode = next;
        if unchanged {
            break;
        }
    }
    (episode, deliveries)
}

/// Reads episode `id`'s state and plan with their decoders; None, logged and counted, when either does
/// not read (the step then leaves the row as it is).
pub fn read(id: EpisodeId, columns: &EpisodeColumns, plan: &serde_json::Value) -> Option<(Episode, Plan)> {
    let read = columns
        .decode()
        .map_err(|err| ("episode", err))
        .and_then(|episode| Ok((episode, decode_plan(plan).map_err(|err| ("plan", err))?)));
    read.inspect_err(|(kind, err)| super::bad_rows::episode(kind, id, err)).ok()
}
