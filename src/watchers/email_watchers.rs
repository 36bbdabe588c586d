//! The email watcher service: what `/v1/watchers` and the console's evidence page both call. An EMAIL
//! watcher's answer carries the user's current watcher address ([`super::addresses`]), since that is where
//! their mail must go; an IMAP watcher's carries its mailbox and how its polls went ([`super::imap`]).

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::addresses::{self, generations};
use super::imap::input::Provider;
use super::imap::store::{self as mailboxes, MailboxRow};
use super::rules::{self, WatcherInput, WatcherRow, WatcherView};
use crate::billing::limits::{self, Limit};
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

fn view(state: &AppState, row: WatcherRow, generation: i32, mailbox: Option<&MailboxRow>) -> WatcherView {
    if Provider::from_kind(&row.kind) == Provider::Imap {
        let mailbox = mailbox.map(|m| m.view(&mailboxes::key(&state.config)));
        return WatcherView::new(row, None, mailbox);
    }
    let address = addresses::watch_address(&state.config, row.user_id, generation);
    WatcherView::new(row, Some(address), None)
}

/// The mailboxes of the IMAP watchers among `rows`.
async fn mailboxes_of(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    rows: &[WatcherRow],
) -> Result<HashMap<Uuid, MailboxRow>, ApiError> {
    let imap: Vec<Uuid> = rows.iter().filter(|r| r.kind == Provider::Imap.kind()).map(|r| r.id).collect();
    if imap.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(mailboxes::mailboxes_of(conn, owner, &imap).await?)
}

fn not_found() -> ApiError {
    ApiError::not_found("Watcher")
}

/// Creates a watcher on the owner's reminder; at most [`rules::MAX_RULES`] per user, and an IMAP one only
/// within the tier's `mailboxWatchers`.
pub async fn create(state: &AppState, owner: UserId, input: WatcherInput) -> Result<WatcherView, ApiError> {
    let rule = rules::validate(input, state.config.webhook_allow_private)?;
    let mut conn = state.db.get().await?;
    if crate::reminders::store::find_for(&mut conn, owner, rule.reminder).await?.is_none() {
        return Err(ApiError::validation(vec![FieldError::new("reminderId", "not found")]));
    }
    if rules::count_for(&mut conn, owner).await? >= rules::MAX_RULES {
        return Err(ApiError::forbidden(format!("At most {} email watchers; delete one first.", rules::MAX_RULES)));
    }
    let Some(mailbox) = &rule.mailbox else {
        let row = rules::insert(&mut conn, owner, rule.reminder, rule.conditions, &rule.action).await?;
        let generation = generations::of(&mut conn, owner).await?;
        return Ok(view(state, row, generation, None));
    };
    let (key, now, table) = (mailboxes::key(&state.config), state.clock.now(), &state.config.tier_limits);
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // The check locks the owner's subscription row until the insert commits: the count is exact.
            limits::check(conn, table, owner, Limit::MailboxWatchers).await?;
            Ok(mailboxes::insert(conn, &key, owner, &rule, mailbox, now).await?)
        })
        .await?;
    tracing::info!(user.id = %owner, watcher.id = %row.id, "IMAP watcher created");
    let found = mailboxes_of(&mut conn, owner, std::slice::from_ref(&row)).await?;
    Ok(view(state, row, 0, found.values().next()))
}

/// The owner's watchers, newest first.
pub async fn list(state: &AppState, owner: UserId) -> Result<Vec<WatcherView>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = rules::list_for(&mut conn, owner, None).await?;
    let generation = generations::of(&mut conn, owner).await?;
    let found = mailboxes_of(&mut conn, owner, &rows).await?;
    Ok(rows.into_iter().map(|row| view(state, row.clone(), generation, found.get(&row.id))).collect())
}

pub async fn get(state: &AppState, owner: UserId, id: Uuid) -> Result<WatcherView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = rules::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    let generation = generations::of(&mut conn, owner).await?;
    let found = mailboxes_of(&mut conn, owner, std::slice::from_ref(&row)).await?;
    Ok(view(state, row, generation, found.values().next()))
}

/// Deletes the watcher; a deleted IMAP watcher's slot lets the oldest one paused for the tier limit be
/// polled again.
pub async fn delete(state: &AppState, owner: UserId, id: Uuid) -> Result<(), ApiError> {
    use crate::billing::service::{Freed, delete_freeing_a_slot};
    delete_freeing_a_slot(state, owner, Freed::MailboxWatcher, not_found, move |conn| {
        Box::pin(rules::delete_for(conn, owner, id))
    })
    .await
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
