//! Stopping the channel one notification came through, however the recipient asked: the one-click
//! `List-Unsubscribe` link (RFC 8058 POST), its confirm page, or a message to the `mailto:` address of that
//! header (a reply with the subject or first line `unsubscribe`). All of them end here, so they stop the
//! same thing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use crate::db::schema::{trusted_contacts, user_agent_subscriptions};

/// What was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The owner's subscription (that address or number) is disabled; the owner can turn it back on.
    Subscription,
    /// The trusted contact is opted out of every message about the owner's reminders.
    Contact,
    /// A family member: nothing is written here; the caller ends the member's shares with the owner
    /// (`family::store::unshare_all`, the family's table), so no shared reminder reaches them again.
    Member,
}

/// Stops the target of a delivery of `owner`'s (`target_kind` and `target_id` as on the delivery row). `how`
/// is kept as the subscription's disabled reason, so the owner sees why it went quiet.
pub async fn stop(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    target_kind: &str,
    target_id: Uuid,
    how: &str,
    now: DateTime<Utc>,
) -> QueryResult<Stopped> {
    if target_kind == "member" {
        return Ok(Stopped::Member);
    }
    if target_kind == "contact" {
        diesel::update(
            trusted_contacts::table
                .filter(trusted_contacts::id.eq(target_id))
                .filter(trusted_contacts::user_id.eq(owner)),
        )
        .set((trusted_contacts::consent_status.eq("opted_out"), trusted_contacts::opted_out_at.eq(now)))
        .execute(conn)
        .await?;
        return Ok(Stopped::Contact);
    }
    diesel::update(
        user_agent_subscriptions::table
            .filter(user_agent_subscriptions::id.eq(target_id))
            .filter(user_agent_subscriptions::user_id.eq(owner)),
    )
    .set((user_agent_subscriptions::enabled.eq(false), user_agent_subscriptions::disabled_reason.eq(how)))
    .execute(conn)
    .await?;
    Ok(Stopped::Subscription)
}
