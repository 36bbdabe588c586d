//! The worker role: takes owed deliveries and sends them, and reads the mailboxes of IMAP watchers. Both
//! loops stop on the same shutdown token; either one failing stops the role.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mailboxes = crate::watchers::imap::poller::run(state.clone(), shutdown.clone());
    tokio::try_join!(crate::dispatch::worker::run(state, shutdown), mailboxes)?;
    Ok(())
}
