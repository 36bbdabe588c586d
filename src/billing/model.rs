//! Billing rows and the API's views of them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use reminder_core::ids::UserId;
use reminder_core::tiers::{Tier, TierLimits};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::{payment_history, subscriptions};

/// Whether an account's deliveries go out (set by admins and by billing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryState {
    /// Deliveries go out.
    Active,
    /// Nothing goes out; every delivery is recorded cancelled with the reason.
    DeliveryDisabled,
    /// A few deliveries per window go out; the rest are recorded cancelled with the window's reset time.
    UsageSuspended,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::DeliveryDisabled => "DELIVERY_DISABLED",
            Self::UsageSuspended => "USAGE_SUSPENDED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::DeliveryDisabled, Self::UsageSuspended].into_iter().find(|s| s.as_str() == text)
    }
}

/// A `subscriptions` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub tier: String,
    pub status: String,
    pub tier_override: Option<String>,
    pub square_subscription_id: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub delivery_state: String,
    pub delivery_state_reason: Option<String>,
    pub usage_suspended_until: Option<DateTime<Utc>>,
}

impl SubscriptionRow {
    /// The tier in force: an admin override wins over what was paid for.
    pub fn effective_tier(&self) -> Tier {
        Tier::parse(self.tier_override.as_deref().unwrap_or(&self.tier)).unwrap_or(Tier::Free)
    }
}

/// A `payment_history` row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = payment_history)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: Uuid,
    pub square_invoice_id: Option<String>,
    pub square_payment_id: Option<String>,
    pub amount_cents: i64,
    pub currency: String,
    /// PAID, FAILED, REFUNDED or PENDING.
    pub status: String,
    pub description: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How much of a limit is used.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub used: i64,
    /// `null` means unlimited.
    pub limit: Option<u64>,
}

/// Usage against every quota of the tier.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    pub reminders: Usage,
    pub channels: Usage,
    pub trusted_contacts: Usage,
    /// SMS sent this calendar month (UTC).
    pub sms_this_month: Usage,
}

/// The account's delivery controls.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryControlsView {
    pub state: DeliveryState,
    pub reason: Option<String>,
    /// When a usage suspension lifts itself.
    pub usage_suspended_until: Option<DateTime<Utc>>,
}

/// `GET /v1/billing/subscription`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingSubscriptionView {
    /// The tier in force (an admin override wins).
    pub tier: Tier,
    /// ACTIVE, PAST_DUE, CANCELED or PENDING.
    pub status: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub limits: TierLimits,
    pub usage: UsageView,
    pub delivery: DeliveryControlsView,
}

/// `POST /v1/billing/checkout` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutInput {
    /// PERSONAL, PRO or FAMILY.
    pub tier: String,
}

/// `POST /v1/billing/checkout` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutView {
    /// The Square payment link to send the user to.
    pub checkout_url: String,
}
