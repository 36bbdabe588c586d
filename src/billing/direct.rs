//! Delivery controls for a message sent outside the engine: a test send, a verification code, a contact's
//! invitation. They pass through the engine's own [`controls::apply`] as a one-row batch, so a
//! delivery-disabled account sends nothing and an SMS needs budget left, and then ask [`controls::allowance`]
//! for one send, as the worker does just before sending, so a usage suspension's allowance counts them. An admitted SMS is counted at once, under the owner's lock, so parallel requests cannot
//! overdraw the budget; [`refund`] gives it back when nothing was sent after all.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Date, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ChannelKind;
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::{EpisodeId, ReminderId, UserId};
use reminder_core::machine::{Target, TargetKind};
use reminder_core::status::DeliveryStatus;
use uuid::Uuid;

use super::controls::{self, Settings};
use super::store::{self, month_start};
use crate::http::ApiError;
use crate::state::AppState;

/// Whether the controls let one message through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Nothing may be sent, and why (in the owner's words, as the delivery log has it).
    Suppressed(String),
}

/// Checks and counts one message of `user` on `channel`, now.
pub async fn admit(state: &AppState, user: UserId, channel: ChannelKind) -> Result<Admission, ApiError> {
    let now = state.clock.now();
    let settings = Settings::from_config(&state.config);
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        store::lock(conn, user).await?;
        // A contact target with no id: the budget's email fallback has nothing to fall back to, which is
        // right for a message that exists only on this channel.
        let mut row = [NewDelivery {
            escalation_id: EpisodeId(Uuid::nil()),
            reminder_id: ReminderId(Uuid::nil()),
            user_id: user,
            tier: 0,
            loop_index: 0,
            target: Target { kind: TargetKind::Contact, id: Uuid::nil(), channel },
            status: DeliveryStatus::Pending,
            next_attempt_at: now,
            deferred_reason: None,
            cancel_reason: None,
            payload: serde_json::Value::Null,
        }];
        controls::apply(conn, settings, &mut row, now).await?;
        let [row] = row;
        let suppressed = |reason: Option<String>| {
            Admission::Suppressed(reason.unwrap_or_else(|| "stopped by the account's delivery controls".to_owned()))
        };
        if row.status != DeliveryStatus::Pending || row.target.channel != channel {
            return Ok(suppressed(row.cancel_reason));
        }
        let allowed = controls::allowance(conn, settings, &[(user, 1)], now).await?.remove(&user);
        if let Some(controls::Allowed { sends: 0, held_reason }) = allowed {
            return Ok(suppressed(held_reason));
        }
        if channel == ChannelKind::Sms {
            count_sms(conn, user, now, 1).await?;
        }
        Ok(Admission::Admitted)
    })
    .await
}

/// Gives back the SMS counted by [`admit`] when the message was not sent after all.
pub async fn refund(state: &AppState, user: UserId, channel: ChannelKind) {
    if channel != ChannelKind::Sms {
        return;
    }
    let result = async {
        let mut conn = state.db.get().await?;
        count_sms(&mut conn, user, state.clock.now(), -1).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(user.id = %user, error = ?err, "could not give back an unsent SMS to the budget");
    }
}

async fn count_sms(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
    n: i32,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO usage_windows (user_id, metric, period_start, used) VALUES ($1, 'sms', $2, GREATEST($3, 0))
         ON CONFLICT (user_id, metric, period_start) DO UPDATE SET used = GREATEST(usage_windows.used + $3, 0)",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Date, _>(month_start(now))
    .bind::<Integer, _>(n)
    .execute(conn)
    .await
}
