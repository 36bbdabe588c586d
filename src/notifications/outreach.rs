//! Limits on messages to addresses that have not agreed to hear from us yet: verification codes and
//! trusted-contact invitations. Counted per account and address in `outreach_sends`, not on the channel
//! or contact row, so deleting and re-creating one (or changing its address back and forth) does not
//! reset them. The check and the record happen under the owner's subscription row lock.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use crate::db::schema::outreach_sends;
use crate::http::ApiError;
use crate::state::AppState;

/// What is limited, and how much.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `outreach_sends.kind`.
    pub kind: &'static str,
    /// Per address and account in 24 hours.
    pub per_address_daily: usize,
    /// Per account in 24 hours, all addresses together.
    pub per_account_daily: usize,
    /// Between two messages to the same address.
    pub min_gap: Duration,
}

/// Verification codes: enough for typos and slow inboxes, too few to annoy anyone.
pub const VERIFICATION: Limits =
    Limits { kind: "verification", per_address_daily: 5, per_account_daily: 10, min_gap: Duration::seconds(60) };

/// Contact invitations: a changed address is invited again, but not in a loop.
pub const INVITATION: Limits =
    Limits { kind: "invitation", per_address_daily: 3, per_account_daily: 20, min_gap: Duration::zero() };

/// Records one message to `address` if the limits allow it; otherwise 429 with the seconds until they do.
pub async fn take(state: &AppState, user: UserId, address: &str, limits: Limits) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        crate::billing::store::lock(conn, user).await?;
        if let Some(wait) = wait(conn, user, address, limits, now).await? {
            let retry_after_secs = u64::try_from(wait.num_seconds().max(1)).unwrap_or(1);
            return Err(ApiError::RateLimited { retry_after_secs });
        }
        diesel::insert_into(outreach_sends::table)
            .values((
                outreach_sends::user_id.eq(user),
                outreach_sends::kind.eq(limits.kind),
                outreach_sends::address.eq(address),
                outreach_sends::sent_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// How long until one more message is allowed; `None` when it is now.
async fn wait(
    conn: &mut AsyncPgConnection,
    user: UserId,
    address: &str,
    limits: Limits,
    now: DateTime<Utc>,
) -> QueryResult<Option<Duration>> {
    let day = Duration::days(1);
    let recent: Vec<(String, DateTime<Utc>)> = outreach_sends::table
        .filter(outreach_sends::user_id.eq(user))
        .filter(outreach_sends::kind.eq(limits.kind))
        .filter(outreach_sends::sent_at.gt(now - day))
        .order(outreach_sends::sent_at.asc())
        .select((outreach_sends::address, outreach_sends::sent_at))
        .load(conn)
        .await?;
    let to_address: Vec<DateTime<Utc>> = recent.iter().filter(|(a, _)| a == address).map(|(_, at)| *at).collect();
    let mut waits = Vec::new();
    // The oldest message in a full day's count leaves the window first.
    if recent.len() >= limits.per_account_daily {
        waits.push(recent[recent.len() - limits.per_account_daily].1 + day - now);
    }
    if to_address.len() >= limits.per_address_daily {
        waits.push(to_address[to_address.len() - limits.per_address_daily] + day - now);
    }
    if let Some(last) = to_address.last()
        && *last + limits.min_gap > now
    {
        waits.push(*last + limits.min_gap - now);
    }
    Ok(waits.into_iter().max())
}
