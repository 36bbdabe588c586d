//! Tier limits enforced where things are created. A create runs `check` inside its write transaction:
//! the check locks the owner's subscription row, so concurrent creates of one user queue up and the
//! count is exact. A refusal is a 403 naming the limit and the tier that lifts it.

use diesel_async::AsyncPgConnection;
use reminder_core::ids::UserId;
use reminder_core::tiers::{Tier, TierLimits, TierTable};

use super::store;
use crate::http::ApiError;

/// The things a tier limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Active (not completed, not archived) reminders.
    Reminders,
    /// Channel subscriptions.
    Channels,
    TrustedContacts,
    /// Connected calendars.
    Calendars,
    /// IMAP mailbox watchers.
    MailboxWatchers,
}

impl Limit {
    /// The tier's allowance (`None` = unlimited).
    pub fn of(self, limits: &TierLimits) -> Option<u64> {
        match self {
            Limit::Reminders => limits.reminders.map(u64::from),
            Limit::Channels => limits.channels.map(u64::from),
            Limit::TrustedContacts => Some(u64::from(limits.trusted_contacts)),
            Limit::Calendars => Some(u64::from(limits.calendars)),
            Limit::MailboxWatchers => Some(u64::from(limits.mailbox_watchers)),
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Limit::Reminders => "active reminders",
            Limit::Channels => "channel subscriptions",
            Limit::TrustedContacts => "trusted contacts",
            Limit::Calendars => "connected calendars",
            Limit::MailboxWatchers => "mailbox watchers",
        }
    }

    /// What the owner has now that counts against the limit.
    async fn count(self, conn: &mut AsyncPgConnection, owner: UserId) -> diesel::QueryResult<i64> {
        match self {
            Limit::Reminders => store::count_reminders(conn, owner).await,
            Limit::Channels => store::count_channels(conn, owner).await,
            Limit::TrustedContacts => store::count_contacts(conn, owner).await,
            Limit::Calendars => store::count_calendars(conn, owner).await,
            Limit::MailboxWatchers => store::count_mailbox_watchers(conn, owner).await,
        }
    }
}

/// The refusal when `tier` allows `allowed` of `limit` and the owner has them all.
pub fn refusal(table: &TierTable, tier: Tier, limit: Limit, allowed: u64) -> ApiError {
    let lift = match table.lifting(tier, |l| limit.of(l)) {
        Some(up) => {
            let amount = limit.of(table.get(up)).map_or("unlimited".to_owned(), |n| n.to_string());
            format!("Upgrade to {} ({amount} {}) to add more.", up.as_str(), limit.noun())
        }
        None => "No tier allows more.".to_owned(),
    };
    ApiError::forbidden(format!(
        "Tier limit reached: the {} tier allows {allowed} {}. {lift}",
        tier.as_str(),
        limit.noun()
    ))
}

/// Refuses (403) when the owner has no free slot of `limit` on their tier. Must run inside the
/// transaction that then inserts the new item; the subscription row stays locked until it ends.
pub async fn check(
    conn: &mut AsyncPgConnection,
    table: &TierTable,
    owner: UserId,
    limit: Limit,
) -> Result<(), ApiError> {
    let tier = store::lock(conn, owner).await?.effective_tier();
    let Some(allowed) = limit.of(table.get(tier)) else { return Ok(()) };
    let used = u64::try_from(limit.count(conn, owner).await?).unwrap_or(0);
    if used >= allowed {
        return Err(refusal(table, tier, limit, allowed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_limit_and_the_tier_that_lifts_it() {
        let table = TierTable::default();
        let message = |tier, limit| {
            let allowed = limit_of(&table, tier, limit);
            match refusal(&table, tier, limit, allowed) {
                ApiError::Client { message, .. } => message,
                other => panic!("unexpected {other:?}"),
            }
        };
        let free = message(Tier::Free, Limit::Reminders);
        assert!(free.contains("FREE tier allows 3 active reminders"), "{free}");
        assert!(free.contains("PERSONAL (20 active reminders)"), "{free}");
        let personal = message(Tier::Personal, Limit::Channels);
        assert!(personal.contains("PRO (unlimited channel subscriptions)"), "{personal}");
        let family = message(Tier::Family, Limit::TrustedContacts);
        assert!(family.contains("No tier allows more"), "{family}");
        let mailboxes = message(Tier::Free, Limit::MailboxWatchers);
        assert!(mailboxes.contains("FREE tier allows 0 mailbox watchers"), "{mailboxes}");
        assert!(mailboxes.contains("PERSONAL (3 mailbox watchers)"), "{mailboxes}");
    }

    fn limit_of(table: &TierTable, tier: Tier, limit: Limit) -> u64 {
        limit.of(table.get(tier)).unwrap_or(0)
    }
}
