//! The calendar sync, run by the worker role: every few seconds it claims the calendars due for a fetch
//! (hourly by default, `CALENDAR_SYNC_INTERVAL`), fetches each on its own (one slow or failing source never
//! holds up another's), expands it for the window and replaces the stored instances.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::fetch::{self, Body, Validators};
use super::ics;
use super::model::Source;
use super::store::{self, Due, Fetched};
use crate::state::AppState;

const TICK: StdDuration = StdDuration::from_secs(2);
/// Calendars fetched at once by one worker.
const BATCH: i64 = 8;
/// A fetch that takes longer is abandoned; the claim's lease is longer, so nobody else starts meanwhile.
const FETCH_TIMEOUT: StdDuration = StdDuration::from_secs(30);
const LEASE: Duration = Duration::minutes(2);
/// The window kept: a day back (an event under way), eight weeks ahead.
pub const BEHIND: Duration = Duration::days(1);
pub const AHEAD: Duration = Duration::weeks(8);
/// Stored instances older than this are re-expanded from a full fetch even when the source is unchanged,
/// so the window keeps moving.
const REEXPAND_AFTER: Duration = Duration::days(7);

pub async fn run(state: AppState, shutdown: CancellationToken) {
    let allow_private = state.config.webhook_allow_private;
    let guard = (!allow_private).then(crate::agents::ssrf::resolver);
    let client = match crate::agents::ssrf::outbound_client(guard) {
        Ok(client) => Arc::new(client),
        Err(err) => {
            tracing::error!(error = %err, "calendar sync cannot build its HTTP client; calendars will not sync");
            return;
        }
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(err) = sync_due(&state, &client).await {
            tracing::warn!(error = %err, "calendar sync tick failed");
        }
    }
}

/// Claims and fetches one batch; returns how many calendars were attempted.
pub async fn sync_due(state: &AppState, client: &reqwest::Client) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let due = {
        let mut conn = state.db.get().await?;
        store::claim_due(&mut conn, now, LEASE, BATCH).await?
    };
    let count = due.len();
    join_all(due.into_iter().map(|calendar| sync_one(state, client, calendar))).await;
    Ok(count)
}

async fn sync_one(state: &AppState, client: &reqwest::Client, due: Due) {
    let now = state.clock.now();
    let interval = state.config.calendar_sync_interval;
    let outcome = tokio::time::timeout(FETCH_TIMEOUT, fetch_and_expand(state, client, &due, now))
        .await
        .unwrap_or_else(|_| Err("The calendar server did not answer in time.".to_owned()));
    let written = async {
        let mut conn = state.db.get().await?;
        match outcome {
            Ok(None) => store::mark_unchanged(&mut conn, due.id, now, now + interval).await?,
            Ok(Some((instances, skipped, etag, last_modified))) => {
                metrics::counter!("calendar_syncs_total", "outcome" => "fetched").increment(1);
                let fetched = Fetched { instances: &instances, skipped, etag, last_modified };
                store::store_fetched(&mut conn, &due, fetched, now, now + interval).await?;
            }
            Err(error) => {
                metrics::counter!("calendar_syncs_total", "outcome" => "failed").increment(1);
                let failures = store::mark_failed(&mut conn, due.id, &error, now, interval).await?;
                tracing::info!(calendar.id = %due.id, user.id = %due.user_id, failures, error, "calendar fetch failed");
            }
        }
        anyhow::Ok(())
    }
    .await;
    if let Err(err) = written {
        tracing::warn!(calendar.id = %due.id, error = %err, "calendar sync could not record its outcome");
    }
}

type Expanded = (Vec<ics::Instance>, usize, Option<String>, Option<String>);

/// Fetches and expands; Ok(None) when the source is unchanged.
async fn fetch_and_expand(
    state: &AppState,
    client: &reqwest::Client,
    due: &Due,
    now: DateTime<Utc>,
) -> Result<Option<Expanded>, String> {
    let sealed = crate::crypto::decrypt(state.config.encryption_key.expose_secret(), due.id, &due.source_ciphertext);
    let source: Source = sealed.ok().and_then(|plain| serde_json::from_slice(&plain).ok()).ok_or_else(|| {
        "The stored address cannot be read (was ENCRYPTION_KEY changed?); add the calendar again.".to_owned()
    })?;
    let (from, to) = (now - BEHIND, now + AHEAD);
    let fresh = due.expanded_at.is_some_and(|at| now - at < REEXPAND_AFTER);
    let body = match due.kind.as_str() {
        "caldav" => fetch::caldav(client, &source, from, to).await?,
        _ => {
            let validators = Validators {
                etag: due.etag.as_deref().filter(|_| fresh),
                last_modified: due.last_modified.as_deref().filter(|_| fresh),
            };
            fetch::ics(client, &source, validators).await?
        }
    };
    let Body::Documents { documents, etag, last_modified } = body else { return Ok(None) };
    let zone = reminder_core::timezone::parse_zone(&due.timezone).unwrap_or(chrono_tz::UTC);
    let mut instances = Vec::new();
    let mut skipped = 0;
    for document in &documents {
        let (expanded, unreadable) = ics::expand(document, zone, from, to).map_err(|err| format!("{err}."))?;
        instances.extend(expanded);
        skipped += unreadable;
    }
    instances.truncate(ics::MAX_INSTANCES);
    Ok(Some((instances, skipped, etag, last_modified)))
}
