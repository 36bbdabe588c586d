//! The worker role's IMAP loop. Every `IMAP_POLL_TICK_MS` it claims the due IMAP watchers (a lease, so two
//! workers never read one mailbox at once), reads each mailbox concurrently with a timeout, matches the new
//! mail against the watcher's rule ([`WatcherRow::matches`], as inbound email) and acts through the one
//! action path ([`inbound::act_on_rule`]), then records how the poll went. A failure is recorded on that
//! watcher alone, in words, with back-off; the third in a row marks it `failing` and emails its owner once.
//! Nothing here answers an HTTP request, so no mailbox can cause a 5xx.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{self, PollError, Target};
use super::cursor::Stored;
use super::message;
use super::store::{self, DueMailbox};
use crate::accounts::users::notice::{self, Notice};
use crate::state::AppState;
use crate::watchers::inbound::{self, RuleSource};

/// Mailboxes read at once by one worker.
const CONCURRENCY: usize = 8;
/// The longest one poll may take, connecting included.
const POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a claim keeps other workers off a mailbox: longer than any poll can take.
const LEASE: Duration = Duration::from_secs(180);
/// New messages read per poll at most; the rest wait for the next poll.
const MAX_MESSAGES: usize = 50;
/// Failures in a row that mark a watcher `failing` and email its owner.
pub const FAILING_AFTER: i32 = 3;
/// The longest back-off after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// When to try again after a failure, `failures_before` failures in a row having come before it: the
/// interval doubled per earlier failure, at most six hours (but never sooner than the interval).
pub fn backoff(interval: Duration, failures_before: i32) -> Duration {
    let doublings = u32::try_from(failures_before.clamp(0, 10)).unwrap_or(0);
    interval.saturating_mul(1 << doublings).min(MAX_BACKOFF.max(interval))
}

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut polls = JoinSet::new();
    let mut tick = tokio::time::interval(state.config.imap_poll_tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(interval_secs = state.config.imap_poll_interval.as_secs(), "IMAP poller started");
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        while polls.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            continue;
        }
        let due = match claim(&state, free).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "could not claim due IMAP watchers");
                continue;
            }
        };
        for mailbox in due {
            // A slot is free for each: no more were claimed than were free, and only this loop takes them.
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else { break };
            polls.spawn(poll_one(state.clone(), mailbox, slot));
        }
    }
    // A poll in hand finishes (each is bounded by its timeout); one cut off would only be read again.
    let drained = async { while polls.join_next().await.is_some() {} };
    if tokio::time::timeout(state.config.shutdown_grace, drained).await.is_err() {
        polls.shutdown().await;
    }
    Ok(())
}

async fn claim(state: &AppState, free: usize) -> anyhow::Result<Vec<DueMailbox>> {
    let mut conn = state.db.get().await?;
    let limit = i64::try_from(free).unwrap_or(1);
    Ok(store::claim_due(&mut conn, state.clock.now(), LEASE, limit).await?)
}

/// Reads one mailbox and records the outcome; errors stay with this watcher.
async fn poll_one(state: AppState, due: DueMailbox, _slot: OwnedSemaphorePermit) {
    let id = due.rule.id;
    let read = match tokio::time::timeout(POLL_TIMEOUT, read(&state, &due)).await {
        Ok(read) => read,
        Err(_) => Err(PollError::Timeout),
    };
    let recorded = match read {
        Ok(read) => succeed(&state, &due, read).await,
        Err(err) => fail(&state, &due, &err).await,
    };
    if let Err(err) = recorded {
        // The lease runs out and the mailbox is read again; evidence rows keep a message from acting twice.
        tracing::error!(watcher.id = %id, error = format!("{err:#}"), "could not record an IMAP poll");
    }
}

async fn read(state: &AppState, due: &DueMailbox) -> Result<client::Read, PollError> {
    let mailbox = &due.mailbox;
    let key = store::key(&state.config);
    let credentials = store::open(&key, mailbox.id, &mailbox.secret_ciphertext).ok_or(PollError::Sealed)?;
    let target = Target {
        host: &mailbox.imap_host,
        port: u16::try_from(mailbox.imap_port).unwrap_or(993),
        tls: mailbox.imap_tls,
        folder: &mailbox.imap_folder,
        user: &credentials.user,
        password: &credentials.password,
        allow_private: state.config.webhook_allow_private,
    };
    client::read_new(&target, mailbox.stored(), MAX_MESSAGES).await
}

/// Acts on the new messages that match, then moves the watcher's bookkeeping past them.
async fn succeed(state: &AppState, due: &DueMailbox, read: client::Read) -> anyhow::Result<()> {
    let mut conn = state.db.get().await?;
    for fetched in &read.messages {
        let mail = message::read(&fetched.raw, read.uid_validity, fetched.uid);
        if !due.rule.matches(&mail.facts) {
            continue;
        }
        let result =
            inbound::act_on_rule(state, &mut conn, &due.rule, &mail.facts, Some(&mail.key), RuleSource::Mailbox)
                .await
                .map_err(|err| anyhow::anyhow!("acting on a matched message: {err}"))?;
        tracing::info!(watcher.id = %due.rule.id, acted = result.acted, "IMAP watcher matched a message");
    }
    let now = state.clock.now();
    let next = after(now, state.config.imap_poll_interval);
    let stored = Stored { uid_validity: Some(read.uid_validity), last_uid: Some(read.last_uid) };
    store::record_success(&mut conn, due.rule.id, stored, now, next).await?;
    Ok(())
}

async fn fail(state: &AppState, due: &DueMailbox, err: &PollError) -> anyhow::Result<()> {
    let now = state.clock.now();
    let next = after(now, backoff(state.config.imap_poll_interval, due.mailbox.failures));
    let message = err.to_string();
    tracing::info!(watcher.id = %due.rule.id, error = %message, "IMAP poll failed");
    let mut conn = state.db.get().await?;
    let failures = store::record_failure(&mut conn, due.rule.id, &message, FAILING_AFTER, now, next).await?;
    drop(conn);
    if failures == Some(FAILING_AFTER) {
        tell_owner(state, due, &message).await;
    }
    Ok(())
}

fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(6))
}

/// Emails the owner once, when their watcher turns `failing`: what failed and where to see it.
async fn tell_owner(state: &AppState, due: &DueMailbox, error: &str) {
    let mailbox = &due.mailbox;
    let console = format!("{}/evidence", state.config.api_url.as_str().trim_end_matches('/'));
    let notice = Notice {
        subject: "A mailbox watcher cannot read your mailbox".to_owned(),
        text: format!(
            "Your mailbox watcher on {host} (folder {folder}) failed {FAILING_AFTER} times in a row, so it cannot \
             complete or acknowledge your reminder from that mailbox for now.\n\nThe last error: {error}.\n\nWe \
             keep trying, less often. If the app password changed or was revoked, delete the watcher and add it \
             again with a new one: {console}",
            host = mailbox.imap_host,
            folder = mailbox.imap_folder,
        ),
    };
    if let Err(err) = notice::email_owner(state, due.rule.user_id, notice).await {
        tracing::error!(watcher.id = %due.rule.id, error = format!("{err:#}"), "could not tell the owner a mailbox watcher is failing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_to_six_hours() {
        let five_minutes = Duration::from_secs(300);
        let waits: Vec<u64> = (0..8).map(|n| backoff(five_minutes, n).as_secs() / 60).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 360]);
        assert_eq!(backoff(Duration::from_secs(1), 2), Duration::from_secs(4));
        let daily = Duration::from_secs(86_400);
        assert_eq!(backoff(daily, 3), daily, "never sooner than the interval");
    }
}
