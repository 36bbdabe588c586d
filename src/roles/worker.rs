//! The worker role: takes owed deliveries and sends them.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    crate::dispatch::worker::run(state, shutdown).await
}
