//! Changes that stop a reminder escalating, each composed in one transaction with the end of the open
//! episodes it stops: changing or archiving a reminder, and applying the tier limits after a change of tier
//! (a Square subscription event, an admin override). The reminder's rules live in `reminders`, the limits in
//! `billing`, the episodes in `escalation`; this module sits above the three, so none of them imports
//! another against the order of ARCHITECTURE.md, and "a state change and the work it creates commit
//! together" still holds.

pub mod routes;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::BoxFuture;
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::machine::EpisodeStatus;
use reminder_core::tiers::{Tier, TierTable};

use crate::billing::limits::Limit;
use crate::billing::service::{self as billing, ALL_LIMITS, Paused};
use crate::escalation::actions::{self, Actor};
use crate::escalation::episodes::{self, Ending};
use crate::http::ApiError;
use crate::reminders::service::{self as reminders, ReminderEdit};
use crate::reminders::views::ReminderView;
use crate::state::AppState;

/// Applies the edit to the owner's reminder; archiving it ends its open episode and frees its quota slot.
pub async fn update_reminder(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    edit: ReminderEdit,
) -> Result<ReminderView, ApiError> {
    let (owner, id, now) = (edit.owner, edit.id, edit.now);
    let reminder = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let updated = reminders::update(conn, tiers, edit).await?;
            if updated.archived {
                actions::cancel_open_episode(conn, id, Actor::User(owner), now).await?;
                // The freed slot lets the oldest reminder paused for the tier limit escalate again.
                apply_tier_limits(conn, tiers, owner).await?;
            }
            Ok(updated.reminder)
        })
        .await?;
    reminders::full_view(conn, reminder).await
}

/// Archives the owner's reminder (idempotent), ends its open episode and frees its quota slot.
pub async fn archive_reminder(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    owner: UserId,
    id: ReminderId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async move |conn| {
        if reminders::archive(conn, owner, id, now).await? {
            actions::cancel_open_episode(conn, id, Actor::User(owner), now).await?;
            apply_tier_limits(conn, tiers, owner).await?;
        }
        Ok(())
    })
    .await
}

/// Applies every limit of the owner's tier (`billing::service::apply_limits`) and ends the open episodes
/// of the reminders it paused: "stop escalating" means now. Returns what it paused. Of the shape
/// `billing::service::ApplyTierLimits`, so billing's Square events apply limits through it.
pub fn apply_tier_limits<'c>(
    conn: &'c mut AsyncPgConnection,
    tiers: &'c TierTable,
    user: UserId,
) -> BoxFuture<'c, QueryResult<Vec<Paused>>> {
    Box::pin(async move {
        let paused = billing::apply_limits(conn, tiers, user, &ALL_LIMITS).await?;
        let reminders: Vec<ReminderId> =
            paused.iter().filter(|p| p.limit == Limit::Reminders).map(|p| ReminderId(p.id)).collect();
        let ending = Ending {
            status: EpisodeStatus::Cancelled,
            end_reason: "cancelled",
            cancel_reason: "the reminder is over the tier limit",
        };
        episodes::end_open(conn, &reminders, ending).await?;
        Ok(paused)
    })
}

/// Sets (or clears, with `None`) the admin tier override and applies the new limits, inside the caller's
/// transaction (so an admin route can write its audit row alongside). Returns what it paused; pass it to
/// `billing::service::notify_paused` after the commit. 404 for an unknown user.
pub async fn apply_tier_override(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    user: UserId,
    tier: Option<Tier>,
) -> Result<Vec<Paused>, ApiError> {
    billing::set_override(conn, user, tier).await?;
    Ok(apply_tier_limits(conn, tiers, user).await?)
}

/// [`apply_tier_override`] in its own transaction, then tells the owner what stopped escalating.
pub async fn set_tier_override(state: &AppState, user: UserId, tier: Option<Tier>) -> Result<(), ApiError> {
    let tiers = &state.config.tier_limits;
    let mut conn = state.db.get().await?;
    let paused = conn
        .transaction::<_, ApiError, _>(async move |conn| apply_tier_override(conn, tiers, user, tier).await)
        .await?;
    drop(conn);
    billing::notify_paused(state, user, &paused).await;
    Ok(())
}
