//! The email watcher service: what `/v1/watchers` and the console's evidence page both call. Each answer
//! carries the user's current watcher address ([`super::addresses`]), since that is where their mail must go.

use reminder_core::ids::UserId;
use uuid::Uuid;

use super::addresses::{self, generations};
use super::rules::{self, WatcherInput, WatcherRow, WatcherView};
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

fn view(state: &AppState, row: WatcherRow, generation: i32) -> WatcherView {
    let address = addresses::watch_address(&state.config, row.user_id, generation);
    WatcherView::new(row, address)
}

fn not_found() -> ApiError {
    ApiError::not_found("Watcher")
}

/// Creates a watcher on the owner's reminder; at most [`rules::MAX_RULES`] per user.
pub async fn create(state: &AppState, owner: UserId, input: WatcherInput) -> Result<WatcherView, ApiError> {
    let (reminder, conditions, action) = rules::validate(input)?;
    let mut conn = state.db.get().await?;
    if crate::reminders::store::find_for(&mut conn, owner, reminder).await?.is_none() {
        return Err(ApiError::validation(vec![FieldError::new("reminderId", "not found")]));
    }
    if rules::count_for(&mut conn, owner).await? >= rules::MAX_RULES {
        return Err(ApiError::forbidden(format!("At most {} email watchers; delete one first.", rules::MAX_RULES)));
    }
    let row = rules::insert(&mut conn, owner, reminder, conditions, &action).await?;
    let generation = generations::of(&mut conn, owner).await?;
    Ok(view(state, row, generation))
}

/// The owner's watchers, newest first.
pub async fn list(state: &AppState, owner: UserId) -> Result<Vec<WatcherView>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = rules::list_for(&mut conn, owner, false).await?;
    let generation = generations::of(&mut conn, owner).await?;
    Ok(rows.into_iter().map(|row| view(state, row, generation)).collect())
}

pub async fn get(state: &AppState, owner: UserId, id: Uuid) -> Result<WatcherView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = rules::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    let generation = generations::of(&mut conn, owner).await?;
    Ok(view(state, row, generation))
}

pub async fn delete(state: &AppState, owner: UserId, id: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    if rules::delete_for(&mut conn, owner, id).await? == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// The owner's watcher address as it is now.
pub async fn address(state: &AppState, owner: UserId) -> Result<String, ApiError> {
    let mut conn = state.db.get().await?;
    let generation = generations::of(&mut conn, owner).await?;
    Ok(addresses::watch_address(&state.config, owner, generation))
}

/// Gives the owner's watcher address a new token; mail to the old one is ignored from now on.
pub async fn rotate_address(state: &AppState, owner: UserId) -> Result<String, ApiError> {
    let mut conn = state.db.get().await?;
    let generation = generations::rotate(&mut conn, owner, state.clock.now()).await?;
    tracing::info!(user.id = %owner, generation, "watcher address rotated");
    Ok(addresses::watch_address(&state.config, owner, generation))
}
