//! The scheduler's engine tick.

use crate::state::AppState;

/// One scheduler tick under leadership `epoch`.
pub async fn tick(_state: &AppState, _epoch: i64) {}
