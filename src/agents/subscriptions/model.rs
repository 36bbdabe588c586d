//! Subscription rows, inputs and views.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use reminder_core::ids::{DeliveryId, SubscriptionId, UserId};
use serde::{Deserialize, Serialize};

use crate::db::schema::user_agent_subscriptions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_agent_subscriptions)]
pub struct SubscriptionRow {
    pub id: SubscriptionId,
    pub user_id: UserId,
    pub agent_type: String,
    pub name: Option<String>,
    pub config: serde_json::Value,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub paused_reason: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribeInput {
    /// Channel settings: email `{address}`, sms `{phoneNumber}` (E.164), webhook `{url}`, pull `{}`, push the
    /// browser's `PushSubscription.toJSON()` (`{endpoint, expirationTime, keys: {p256dh, auth}}`; stored
    /// sealed, shown afterwards only as `{service, endpointId}`); a marketplace type's as its schema says
    /// (the settings it marks `writeOnly` are stored sealed and never shown).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionPatch {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    pub enabled: Option<bool>,
    /// Webhooks only: issue a new signing secret; the old one keeps signing too for 24 hours.
    pub rotate_secret: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    #[schema(value_type = uuid::Uuid)]
    pub id: SubscriptionId,
    pub agent_type: String,
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Set while the owner's tier allows fewer channels than they have: this one, among the newest, is not
    /// used until a slot frees or the tier rises.
    pub paused_reason: Option<String>,
    /// Until when the previous webhook secret still signs (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// False for an email or SMS channel whose code has not come back yet: it receives nothing else.
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for SubscriptionView {
    fn from(row: SubscriptionRow) -> Self {
        SubscriptionView {
            verified: super::verification::verified(&row),
            verified_at: row.verified_at,
            id: row.id,
            agent_type: row.agent_type,
            name: row.name,
            config: row.config,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            paused_reason: row.paused_reason,
            previous_secret_expires_at: row.previous_secret_expires_at,
            last_used_at: row.last_used_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A subscription as created or rotated: the signing secret is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// `whsec_…` for webhooks; never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    /// The code sent to a new or changed email address or phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<super::verification::VerificationView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentTypeView {
    pub agent_type: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    /// The lowest billing tier that may subscribe.
    pub min_tier: String,
    /// Whether the caller's tier may use it.
    pub available: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    #[schema(value_type = Uuid)]
    pub delivery_id: DeliveryId,
    /// `sent`, `suppressed` (a delivery control or the SMS budget; nothing was sent), `retry`, `failed`,
    /// `gone` or `unknown`.
    pub outcome: String,
    pub error: Option<String>,
    /// Why a `suppressed` send was stopped.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushKeyView {
    /// The uncompressed P-256 public key, base64url: pass it to `pushManager.subscribe` as
    /// `applicationServerKey`.
    pub public_key: String,
}
