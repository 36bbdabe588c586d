//! The worker loop.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(_state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}
