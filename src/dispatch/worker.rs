//! The worker loop: read up to 100 delivery ids from the stream (or claim from Postgres when Redis is
//! unavailable), claim them in one statement, send concurrently (bounded by `WORKER_CONCURRENCY`), write
//! the outcomes in one statement, then acknowledge the stream entries. On shutdown it stops reading and
//! finishes the batch in hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use reminder_core::ids::{DeliveryId, UserId};
use reminder_core::status::DeliveryStatus;
use reminder_core::{ChannelKind, retry};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::agents::{Channels, Job, Outcome, Recipient, targets};
use crate::db::Prepare;
use crate::escalation::engine::channel_health::{self, FailedDelivery};
use crate::escalation::engine::deliveries::{self, Claimed, Recorded};
use crate::escalation::engine::stream;
use crate::state::AppState;

/// Ids read per round trip, at most. A worker reads no more than twice what it can send at once, so a
/// claim never waits so long for a free send slot that its lease runs out (and another worker resends it).
const READ_COUNT: usize = 100;
/// How long a stream read blocks. It must stay well under the Redis client's response timeout (500 ms):
/// a read that times out on our side would leave the entries Redis handed to it unread until XAUTOCLAIM.
const BLOCK: Duration = Duration::from_millis(250);
/// How long the Postgres fallback idles between empty polls.
const POLL_IDLE: Duration = Duration::from_millis(200);
/// Batches sent at once by one worker: while one batch waits on receivers, the next is claimed and
/// started, and a finished batch's outcomes are written while others still send.
const BATCHES_IN_FLIGHT: usize = 3;
/// How often this worker takes over entries of consumers that died: with the lease as the idle bound
/// (15 s by default), a dead worker's unclaimed entries come back within about 20 s instead of waiting for
/// the re-offer. Taking an entry a live worker is still sending is harmless: the Postgres claim refuses a
/// delivery that is leased, and acknowledging an entry twice is a no-op.
const AUTOCLAIM_EVERY: Duration = Duration::from_secs(5);

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let channels = Channels::from_state(&state)?;
    tracing::info!(email = %state.mailer.describe(), "email transport");
    run_with(state, channels, shutdown).await
}

/// The loop with explicit channels (tests and benchmarks pass their own).
pub async fn run_with(state: AppState, channels: Channels, shutdown: CancellationToken) -> anyhow::Result<()> {
    let consumer = format!("worker-{}-{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8]);
    let sends = Arc::new(Semaphore::new(state.config.worker_concurrency));
    let stream_key = state.redis.key(stream::STREAM);
    let mut group_ready = false;
    let mut last_autoclaim = Instant::now();
    let read_count = READ_COUNT.min(state.config.worker_concurrency * 2);
    let batches = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    let mut in_flight = JoinSet::new();
    tracing::info!(consumer = %consumer, "worker started");
    while !shutdown.is_cancelled() {
        // A batch slot first: a worker never reads more than it can start sending.
        let slot = tokio::select! {
            slot = Arc::clone(&batches).acquire_owned() => slot?,
            () = shutdown.cancelled() => break,
        };
        while in_flight.try_join_next().is_some() {}
        // Stream entries are claimed inside the batch's task, so the next read need not wait for this claim.
        let batch = match state.redis.conn().await {
            Some(mut redis) => {
                if !group_ready {
                    group_ready = stream::ensure_group(&mut redis, &stream_key).await.is_ok();
                }
                let read = if last_autoclaim.elapsed() >= AUTOCLAIM_EVERY {
                    last_autoclaim = Instant::now();
                    let idle = state.config.delivery_lease.as_millis() as u64;
                    stream::autoclaim(&mut redis, &stream_key, &consumer, idle, read_count).await
                } else {
                    tokio::select! {
                        read = stream::read(&mut redis, &stream_key, &consumer, read_count, BLOCK.as_millis() as usize) => read,
                        () = shutdown.cancelled() => break,
                    }
                };
                match read {
                    Ok(entries) => Batch::Entries(entries),
                    Err(err) => {
                        if err.code() == Some("NOGROUP") {
                            // The stream or group vanished (Redis restarted empty): recreate next round.
                            group_ready = false;
                        } else {
                            state.redis.mark_down(&err.to_string());
                        }
                        Batch::Claimed(claim_from_postgres(&state, read_count).await)
                    }
                }
            }
            None => Batch::Claimed(claim_from_postgres(&state, read_count).await),
        };
        let idle = batch.is_empty();
        if !idle {
            let (state, channels, sends, stream_key) =
                (state.clone(), channels.clone(), Arc::clone(&sends), stream_key.clone());
            in_flight.spawn(async move {
                match batch {
                    Batch::Claimed(claimed) => deliver(&state, &channels, &sends, claimed).await,
                    Batch::Entries(entries) => {
                        let ids: Vec<DeliveryId> = entries.iter().filter_map(|e| e.delivery_id).collect();
                        let claimed = claim_ids(&state, &ids).await;
                        if !claimed.is_empty() {
                            deliver(&state, &channels, &sends, claimed).await;
                        }
                        let entry_ids: Vec<String> = entries.into_iter().map(|e| e.entry_id).collect();
                        acknowledge(&state, &stream_key, &entry_ids).await;
                    }
                }
                drop(slot);
            });
        }
        if idle && !state.redis.is_configured() {
            tokio::select! {
                () = tokio::time::sleep(POLL_IDLE) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }
    // Drain: every batch in hand is sent and recorded before the worker stops.
    while in_flight.join_next().await.is_some() {}
    tracing::info!(consumer = %consumer, "worker stopped");
    Ok(())
}

/// One round's work: stream entries still to claim, or deliveries already claimed straight from Postgres
/// (Redis down or absent).
enum Batch {
    Entries(Vec<stream::Entry>),
    Claimed(Vec<Claimed>),
}

impl Batch {
    fn is_empty(&self) -> bool {
        match self {
            Batch::Entries(entries) => entries.is_empty(),
            Batch::Claimed(claimed) => claimed.is_empty(),
        }
    }
}

/// Entries are acknowledged once their deliveries' outcomes are recorded (or they were not claimable).
async fn acknowledge(state: &AppState, stream_key: &str, entries: &[String]) {
    if entries.is_empty() {
        return;
    }
    if let Some(mut redis) = state.redis.conn().await
        && let Err(err) = stream::ack(&mut redis, stream_key, entries).await
    {
        // Unacknowledged entries are re-read later; the claim statement makes that harmless.
        tracing::warn!(error = %err, "could not acknowledge stream entries");
    }
}

/// The claim time and lease end, taken just before claiming (a stream read may have blocked).
fn lease_window(state: &AppState) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let now = state.clock.now();
    Ok((now, now + chrono::Duration::from_std(state.config.delivery_lease)?))
}

async fn claim_ids(state: &AppState, ids: &[DeliveryId]) -> Vec<Claimed> {
    let claimed = async {
        let (now, lease_until) = lease_window(state)?;
        let mut conn = state.db.get().await?;
        let started = std::time::Instant::now();
        let claimed = deliveries::claim_by_ids(&mut conn, ids, now, lease_until).await?;
        metrics::histogram!("delivery_claim_seconds", "source" => "redis").record(started.elapsed().as_secs_f64());
        anyhow::Ok(claimed)
    };
    claimed.await.unwrap_or_else(|err| {
        tracing::warn!(error = format!("{err:#}"), "claiming deliveries failed; they will be re-offered");
        Vec::new()
    })
}

async fn claim_from_postgres(state: &AppState, limit: usize) -> Vec<Claimed> {
    let claimed = async {
        let (now, lease_until) = lease_window(state)?;
        let mut conn = state.db.get().await?;
        let started = std::time::Instant::now();
        let claimed = deliveries::claim_due(&mut conn, limit as i64, now, lease_until).await?;
        metrics::histogram!("delivery_claim_seconds", "source" => "postgres").record(started.elapsed().as_secs_f64());
        anyhow::Ok(claimed)
    };
    match claimed.await {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = format!("{err:#}"), "claiming deliveries from postgres failed");
            tokio::time::sleep(POLL_IDLE).await;
            Vec::new()
        }
    }
}

/// Sends a claimed batch and records the outcomes. Never holds a database connection across a send.
async fn deliver(state: &AppState, channels: &Channels, sends: &Arc<Semaphore>, claimed: Vec<Claimed>) {
    let keys: Vec<(String, Uuid, ChannelKind)> = claimed
        .iter()
        .filter_map(|c| Some((c.target_kind.clone(), c.target_id, ChannelKind::parse(&c.channel)?)))
        .collect();
    let resolved = async {
        let mut conn = state.db.get().await?;
        targets::resolve(&mut conn, &state.config.encryption_key, &keys).await
    }
    .await;
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(err) => {
            // Leave the claims to expire: the lease returns them to pending.
            tracing::warn!(error = format!("{err:#}"), "could not resolve recipients; leases will expire");
            return;
        }
    };
    let mut held: Vec<(DeliveryId, i32)> = claimed.iter().map(|c| (c.id, c.attempts)).collect();
    let mut tasks = JoinSet::new();
    let mut outcomes = Unwritten::default();
    let now = state.clock.now();
    let mut sending = Vec::with_capacity(claimed.len());
    for row in claimed {
        if let Some(until) = quiet_until(&resolved, &row, now) {
            held.retain(|(id, _)| *id != row.id);
            outcomes.recorded.push(deferred(&row, until));
        } else {
            sending.push(row);
        }
    }
    let sending = within_allowance(state, sending, &mut held, now).await;
    for mut row in sending {
        let Some(channel_kind) = ChannelKind::parse(&row.channel) else { continue };
        let recipient = resolved
            .recipients
            .get(&(row.target_kind.clone(), row.target_id, channel_kind))
            .cloned()
            .unwrap_or(Recipient::Gone { reason: "unknown target".to_owned() });
        let channel = channels.get(channel_kind).cloned();
        let permit = Arc::clone(sends).acquire_owned().await;
        tasks.spawn(async move {
            let job = Job {
                delivery_id: row.id,
                user_id: row.user_id,
                attempt: row.attempts,
                channel: channel_kind,
                recipient,
                // Only the send reads the payload; the row goes on to record the outcome.
                payload: std::mem::take(&mut row.payload),
            };
            let outcome = match (&job.recipient, channel) {
                (Recipient::Gone { reason }, _) => Outcome::Failed { error: reason.clone() },
                (_, None) => Outcome::Failed { error: format!("no {} channel configured", channel_kind.as_str()) },
                (_, Some(channel)) => {
                    let started = std::time::Instant::now();
                    let outcome = channel.send(&job).await;
                    metrics::histogram!("delivery_send_seconds", "channel" => channel_kind.as_str())
                        .record(started.elapsed().as_secs_f64());
                    outcome
                }
            };
            drop(permit);
            (row, channel_kind, outcome)
        });
    }
    if !outcomes.recorded.is_empty() {
        flush(state, &mut outcomes).await;
    }
    // Outcomes are written as sends finish, in whatever batch has accumulated meanwhile: under load that
    // is many rows per statement, and a crash can only repeat sends whose outcome was not yet written.
    let lease = state.config.delivery_lease;
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + lease / 3, lease / 3);
    loop {
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            // Slow receivers must not let a held batch's lease run out (another worker would resend it).
            _ = renew.tick() => {
                renew_leases(state, &held).await;
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let mut ready = vec![joined];
        while let Some(more) = tasks.try_join_next() {
            ready.push(more);
        }
        let now = state.clock.now();
        for (row, kind, outcome) in ready.into_iter().flatten() {
            held.retain(|(id, _)| *id != row.id);
            metrics::counter!("deliveries_attempted_total", "channel" => kind.as_str(), "outcome" => outcome_label(&outcome))
                .increment(1);
            metrics::histogram!("delivery_attempts", "channel" => kind.as_str()).record(f64::from(row.attempts));
            if let (Outcome::Gone { .. }, "subscription") = (&outcome, row.target_kind.as_str()) {
                outcomes.gone_subscriptions.push(row.target_id);
            }
            // An unknown outcome may have reached the person, so it never counts as the channel failing.
            let definite = !matches!(outcome, Outcome::Unknown { .. });
            let record = record_of(&row, kind, outcome, now);
            // A lifecycle event (tier 0) failing says nothing about a tier's channels.
            if definite && record.status == DeliveryStatus::Failed && row.tier > 0 {
                outcomes.failed.push(FailedDelivery {
                    escalation_id: row.escalation_id,
                    tier: row.tier,
                    loop_index: row.loop_index,
                });
            }
            outcomes.recorded.push(record);
        }
        flush(state, &mut outcomes).await;
    }
}

/// API.md "Delivery rules that hold at send time": a non-critical delivery due inside its recipient's quiet
/// hours (the owner's, or a trusted contact's own, in that person's zone) waits for the window's end. The
/// engine already defers first sends when it creates them; this catches retries, rows created before the
/// quiet hours were set, and contacts.
fn quiet_until(resolved: &targets::Resolved, row: &Claimed, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if row.payload["importance"].as_str() == Some("critical") {
        return None;
    }
    resolved.quiet.get(&row.target_id)?.deferral(now)
}

/// API.md "Delivery rules that hold at send time": a usage-suspended owner's deliveries go out only within
/// the window's allowance, counted here, after quiet hours, so only what is sent counts. Rows of other owners
/// pass without a query. If the allowance cannot be asked for, the suspended owners' rows are not sent now:
/// their leases run out and they are offered again.
async fn within_allowance(
    state: &AppState,
    mut rows: Vec<Claimed>,
    held: &mut Vec<(DeliveryId, i32)>,
    now: DateTime<Utc>,
) -> Vec<Claimed> {
    let suspended: Vec<&Claimed> = rows.iter().filter(|r| r.usage_suspended).collect();
    if suspended.is_empty() {
        return rows;
    }
    let settings = crate::billing::controls::Settings::from_config(&state.config);
    let through = async {
        let mut conn = state.db.get().await?;
        anyhow::Ok(deliveries::within_allowance(&mut conn, settings, &suspended, now).await?)
    }
    .await
    .unwrap_or_else(|err| {
        tracing::warn!(error = format!("{err:#}"), "could not count a usage suspension's allowance; retrying later");
        Default::default()
    });
    rows.retain(|row| !row.usage_suspended || through.contains(&row.id));
    held.retain(|(id, _)| rows.iter().any(|row| row.id == *id));
    rows
}

fn deferred(row: &Claimed, until: DateTime<Utc>) -> Recorded {
    Recorded {
        id: row.id,
        attempt: row.attempts,
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(until),
        error: None,
        provider_message_id: None,
        deferred_reason: Some("quiet hours"),
    }
}

/// Extends the leases of claims still being sent (only while this attempt still owns them).
async fn renew_leases(state: &AppState, held: &[(DeliveryId, i32)]) {
    if held.is_empty() {
        return;
    }
    let Ok(lease) = chrono::Duration::from_std(state.config.delivery_lease) else { return };
    let until = state.clock.now() + lease;
    let renewed = async {
        let mut conn = state.db.get().await?;
        anyhow::Ok(deliveries::renew_leases(&mut conn, held, until).await?)
    }
    .await;
    if let Err(err) = renewed {
        tracing::warn!(error = format!("{err:#}"), "could not renew delivery leases");
    }
}

/// Outcomes not yet written, kept across a failed flush.
#[derive(Default)]
struct Unwritten {
    recorded: Vec<Recorded>,
    gone_subscriptions: Vec<Uuid>,
    /// Deliveries that failed for good: their tier may have nobody left to reach.
    failed: Vec<FailedDelivery>,
}

/// Writes the outcomes, disables gone endpoints and moves on episodes whose tier failed entirely, in one
/// transaction: the escalation state never disagrees with the outcomes that justify it.
async fn flush(state: &AppState, outcomes: &mut Unwritten) {
    if outcomes.recorded.is_empty() {
        return;
    }
    let now = state.clock.now();
    let written = async {
        let mut conn = state.db.get().await?;
        let pending = &*outcomes;
        if pending.failed.is_empty() && pending.gone_subscriptions.is_empty() {
            // The common case needs no transaction: one statement, one round trip.
            deliveries::record_outcomes(&mut conn, &pending.recorded, now).await?;
            return anyhow::Ok(Vec::new());
        }
        conn.transaction::<_, anyhow::Error, _>(async move |conn| {
            channel_health::lock(conn, &pending.failed).await?;
            deliveries::record_outcomes(conn, &pending.recorded, now).await?;
            let disabled = disable_gone(conn, &pending.gone_subscriptions).await?;
            channel_health::skip_failed_tiers(conn, &pending.failed, now).await?;
            Ok(disabled)
        })
        .await
    }
    .await;
    match written {
        Ok(disabled) => {
            *outcomes = Unwritten::default();
            for endpoint in disabled {
                tokio::spawn(tell_owner_gone(state.clone(), endpoint));
            }
        }
        // Kept for the next flush; if that fails too, the leases expire and the rows are retried.
        Err(err) => tracing::error!(error = format!("{err:#}"), "could not record delivery outcomes yet"),
    }
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Sent { .. } => "sent",
        Outcome::Retry { .. } => "retry",
        Outcome::Failed { .. } => "failed",
        Outcome::Gone { .. } => "gone",
        Outcome::Unknown { .. } => "unknown",
    }
}

fn record_of(row: &Claimed, kind: ChannelKind, outcome: Outcome, now: DateTime<Utc>) -> Recorded {
    let base = Recorded {
        id: row.id,
        attempt: row.attempts,
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        error: None,
        provider_message_id: None,
        deferred_reason: None,
    };
    match outcome {
        Outcome::Sent { provider_message_id } => Recorded { status: DeliveryStatus::Sent, provider_message_id, ..base },
        Outcome::Retry { error, retry_after } => {
            match retry::next_delay(kind, u32::try_from(row.attempts).unwrap_or(u32::MAX), retry_after) {
                Some(delay) => Recorded {
                    status: DeliveryStatus::Pending,
                    next_attempt_at: Some(now + delay),
                    error: Some(error),
                    ..base
                },
                None => Recorded { error: Some(format!("gave up after {} attempts: {error}", row.attempts)), ..base },
            }
        }
        Outcome::Failed { error } | Outcome::Gone { error } | Outcome::Unknown { error } => {
            Recorded { error: Some(error), ..base }
        }
    }
}

/// A webhook or push subscription this worker just disabled because its endpoint is gone (410, or 404 for push).
#[derive(diesel::QueryableByName)]
struct DisabledEndpoint {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: UserId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    agent_type: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    url: Option<String>,
    /// A push channel's push service host.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    service: Option<String>,
}

/// Disables the subscriptions whose endpoint is gone; returns those that were still enabled (each owner
/// is told once, however many deliveries hit the 410).
async fn disable_gone(
    conn: &mut diesel_async::AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<DisabledEndpoint>> {
    use diesel_async::RunQueryDsl;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "UPDATE user_agent_subscriptions
         SET enabled = false,
             disabled_reason = CASE agent_type WHEN 'push' THEN 'the browser withdrew its push subscription'
                                               ELSE 'the endpoint answered 410 Gone' END
         WHERE id = ANY($1) AND enabled RETURNING user_id, agent_type, config->>'url' AS url, config->>'service' AS service",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .prepared()
    .load(conn)
    .await
}

/// Emails the owner of a disabled webhook endpoint. The URL is shown without its query or credentials,
/// which may hold a token.
async fn tell_owner_gone(state: AppState, endpoint: DisabledEndpoint) {
    let shown = endpoint
        .url
        .as_deref()
        .and_then(|url| url::Url::parse(url).ok())
        .map(|url| format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path()))
        .unwrap_or_else(|| "your webhook endpoint".to_owned());
    let notice = if endpoint.agent_type == "push" {
        crate::accounts::users::notice::Notice {
            subject: "Browser notifications stopped".to_owned(),
            text: format!(
                "A browser you turned notifications on in (through {}) no longer accepts them: it was reset, \
                 its site data was cleared or notifications were turned off for us. We have disabled that \
                 channel.\n\nTo get them again, open Channels in that browser and choose \
                 \"Notify me in this browser\".",
                endpoint.service.as_deref().unwrap_or("its push service")
            ),
        }
    } else {
        crate::accounts::users::notice::Notice {
            subject: "A webhook endpoint was disabled".to_owned(),
            text: format!(
                "Your webhook endpoint {shown} answered 410 Gone, which means it no longer exists, so we have \
             disabled it and will send it nothing more.\n\nIf the endpoint is back, enable the subscription \
             again in your notification channels."
            ),
        }
    };
    if let Err(err) = crate::accounts::users::notice::email_owner(&state, endpoint.user_id, notice).await {
        tracing::error!(user.id = %endpoint.user_id, error = format!("{err:#}"), "could not tell the owner a webhook was disabled");
    }
}
