//! The worker role: takes owed deliveries and sends them, fetches the calendars that are due, and reads the
//! mailboxes of IMAP watchers. The loops stop on the same shutdown token; the dispatch loop failing stops
//! the role.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let calendars = crate::calendars::sync::run(state.clone(), shutdown.clone());
    let mailboxes = crate::watchers::imap::poller::run(state.clone(), shutdown.clone());
    let (sent, (), mailboxes) = tokio::join!(crate::dispatch::worker::run(state, shutdown), calendars, mailboxes);
    sent.and(mailboxes)
}
