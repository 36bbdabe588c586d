//! The tier table: what each billing tier costs and allows, in one place. The defaults are the product's
//! published plans; `TIER_LIMITS` (JSON) overrides single fields, e.g. `{"FREE": {"reminders": 5}}`, so a
//! self-hoster or a test can move a limit without a build.

use serde::{Deserialize, Serialize};

/// Subscription tiers (the billing module owns their limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = BillingTier))]
#[serde(rename_all = "UPPERCASE")]
pub enum Tier {
    Free,
    Personal,
    Pro,
    Family,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "FREE",
            Tier::Personal => "PERSONAL",
            Tier::Pro => "PRO",
            Tier::Family => "FAMILY",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        match text.to_ascii_uppercase().as_str() {
            "FREE" => Some(Tier::Free),
            "PERSONAL" => Some(Tier::Personal),
            "PRO" => Some(Tier::Pro),
            "FAMILY" => Some(Tier::Family),
            _ => None,
        }
    }
}

/// Every tier, cheapest first: the order upgrades go in.
pub const ALL: [Tier; 4] = [Tier::Free, Tier::Personal, Tier::Pro, Tier::Family];

/// What one tier costs and allows. `None` means unlimited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierLimits {
    /// Monthly price in cents (USD).
    pub price_cents: u32,
    /// Active (not completed, not archived) reminders.
    pub reminders: Option<u32>,
    /// Channel subscriptions (email, SMS, webhook, pull).
    pub channels: Option<u32>,
    pub trusted_contacts: u32,
    pub api_requests_per_hour: u64,
    /// SMS sent per calendar month (UTC); past it SMS tiers fall back to email.
    pub sms_per_month: u32,
    /// People in the owner's family group, who may be shared reminders (the FAMILY tier's `sharedReminders`).
    pub family_members: u32,
    /// Connected calendars (ICS or CalDAV); PERSONAL and above.
    pub calendars: u32,
    /// IMAP mailbox watchers, which the worker polls on the user's behalf.
    pub mailbox_watchers: u32,
}

/// A partial [`TierLimits`] as `TIER_LIMITS` spells it; a missing field keeps the default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitsOverride {
    price_cents: Option<u32>,
    #[serde(default, deserialize_with = "some_or_unlimited")]
    reminders: Option<Option<u32>>,
    #[serde(default, deserialize_with = "some_or_unlimited")]
    channels: Option<Option<u32>>,
    trusted_contacts: Option<u32>,
    api_requests_per_hour: Option<u64>,
    sms_per_month: Option<u32>,
    family_members: Option<u32>,
    calendars: Option<u32>,
    mailbox_watchers: Option<u32>,
}

/// `null` in the override means "unlimited", an absent field "keep the default".
fn some_or_unlimited<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// The limits of every tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierTable {
    limits: [TierLimits; 4],
}

fn index(tier: Tier) -> usize {
    ALL.iter().position(|t| *t == tier).unwrap_or(0)
}

impl Default for TierTable {
    fn default() -> Self {
        let tier =
            |price_cents, reminders, channels, trusted_contacts, api_requests_per_hour, sms_per_month| TierLimits {
                price_cents,
                reminders,
                channels,
                trusted_contacts,
                api_requests_per_hour,
                sms_per_month,
                family_members: 0,
                calendars: 10,
                mailbox_watchers: 10,
            };
        let family = TierLimits { family_members: 5, ..tier(2_500, None, None, 20, 10_000, 400) };
        TierTable {
            limits: [
                TierLimits { calendars: 0, mailbox_watchers: 0, ..tier(0, Some(3), Some(1), 0, 100, 5) },
                TierLimits { calendars: 3, mailbox_watchers: 3, ..tier(500, Some(20), Some(5), 2, 1_000, 50) },
                tier(1_500, None, None, 10, 10_000, 200),
                family,
            ],
        }
    }
}

impl TierTable {
    /// The defaults with `json` (the value of `TIER_LIMITS`) applied; the error says what is wrong.
    pub fn with_overrides(json: &str) -> Result<TierTable, String> {
        let overrides: std::collections::HashMap<Tier, LimitsOverride> =
            serde_json::from_str(json).map_err(|err| format!("must be a JSON object keyed by tier: {err}"))?;
        let mut table = TierTable::default();
        for (tier, o) in overrides {
            let limits = &mut table.limits[index(tier)];
            limits.price_cents = o.price_cents.unwrap_or(limits.price_cents);
            limits.reminders = o.reminders.unwrap_or(limits.reminders);
            limits.channels = o.channels.unwrap_or(limits.channels);
            limits.trusted_contacts = o.trusted_contacts.unwrap_or(limits.trusted_contacts);
            limits.api_requests_per_hour = o.api_requests_per_hour.unwrap_or(limits.api_requests_per_hour);
            limits.sms_per_month = o.sms_per_month.unwrap_or(limits.sms_per_month);
            limits.family_members = o.family_members.unwrap_or(limits.family_members);
            limits.calendars = o.calendars.unwrap_or(limits.calendars);
            limits.mailbox_watchers = o.mailbox_watchers.unwrap_or(limits.mailbox_watchers);
        }
        Ok(table)
    }

    pub fn get(&self, tier: Tier) -> &TierLimits {
        &self.limits[index(tier)]
    }

    /// The limits of a tier as stored in the database; an unknown name reads as FREE.
    pub fn named(&self, tier: &str) -> &TierLimits {
        self.get(Tier::parse(tier).unwrap_or(Tier::Free))
    }

    /// The cheapest tier above `current` whose `pick`ed limit is higher (`None` = unlimited counts as
    /// highest): the upgrade that lifts the limit, or `None` when no tier does.
    pub fn lifting(&self, current: Tier, pick: impl Fn(&TierLimits) -> Option<u64>) -> Option<Tier> {
        let now = pick(self.get(current));
        ALL.iter().skip(index(current) + 1).copied().find(|t| match (now, pick(self.get(*t))) {
            (Some(_), None) => true,
            (Some(a), Some(b)) => b > a,
            (None, _) => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_plans() {
        let table = TierTable::default();
        assert_eq!(table.get(Tier::Free).reminders, Some(3));
        assert_eq!(table.get(Tier::Personal).channels, Some(5));
        assert_eq!(table.get(Tier::Pro).reminders, None);
        assert_eq!(table.get(Tier::Family).trusted_contacts, 20);
        assert_eq!(table.get(Tier::Pro).price_cents, 1_500);
        let mailboxes: Vec<u32> = ALL.iter().map(|t| table.get(*t).mailbox_watchers).collect();
        assert_eq!(mailboxes, [0, 3, 10, 10]);
    }

    #[test]
    fn overrides_change_single_fields_and_null_means_unlimited() {
        let table = TierTable::with_overrides(
            r#"{"FREE": {"reminders": 5, "mailboxWatchers": 1}, "PERSONAL": {"channels": null}}"#,
        )
        .expect("valid overrides");
        assert_eq!(table.get(Tier::Free).mailbox_watchers, 1);
        assert_eq!(table.get(Tier::Free).reminders, Some(5));
        assert_eq!(table.get(Tier::Free).channels, Some(1));
        assert_eq!(table.get(Tier::Personal).channels, None);
    }

    #[test]
    fn bad_overrides_are_refused() {
        assert!(TierTable::with_overrides(r#"{"GOLD": {}}"#).is_err());
        assert!(TierTable::with_overrides(r#"{"FREE": {"remindrs": 5}}"#).is_err());
        assert!(TierTable::with_overrides(r#"{"FREE": {"reminders": -1}}"#).is_err());
        assert!(TierTable::with_overrides("[]").is_err());
    }

    #[test]
    fn the_lifting_tier_is_the_cheapest_higher_one() {
        let table = TierTable::default();
        let reminders = |l: &TierLimits| l.reminders.map(u64::from);
        assert_eq!(table.lifting(Tier::Free, reminders), Some(Tier::Personal));
        assert_eq!(table.lifting(Tier::Personal, reminders), Some(Tier::Pro));
        assert_eq!(table.lifting(Tier::Pro, reminders), None);
        let contacts = |l: &TierLimits| Some(u64::from(l.trusted_contacts));
        assert_eq!(table.lifting(Tier::Pro, contacts), Some(Tier::Family));
    }
}
