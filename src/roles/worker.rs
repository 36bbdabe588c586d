//! The worker role: takes owed deliveries and sends them, and fetches the calendars that are due.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let calendars = crate::calendars::sync::run(state.clone(), shutdown.clone());
    let (sent, ()) = tokio::join!(crate::dispatch::worker::run(state, shutdown), calendars);
    sent
}
