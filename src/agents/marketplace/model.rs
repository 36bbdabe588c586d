//! Marketplace agent rows, manifests and views.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::marketplace_agents;

/// What an agent type may do.
pub const CAPABILITIES: [&str; 4] = ["receive", "commands", "pull", "custom_actions"];

/// How many failed sends in a row suspend an agent type.
pub const SUSPEND_AFTER_FAILURES: i32 = 10;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = marketplace_agents)]
pub struct AgentRow {
    pub id: Uuid,
    pub developer_id: UserId,
    pub agent_type: String,
    pub name: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub config_schema: serde_json::Value,
    pub callback_url: Option<String>,
    pub secret_ciphertext: Vec<u8>,
    pub status: String,
    pub status_reason: Option<String>,
    pub timeout_ms: i32,
    pub max_payload_bytes: i32,
    pub requests_per_minute: i32,
    pub allowed_hosts: Vec<String>,
    pub consecutive_failures: i32,
    pub last_failure: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A developer's manifest.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// `x-` and 2 to 39 lowercase letters, digits or dashes: the type's name in the catalogue and in URLs.
    pub agent_type: String,
    pub name: String,
    pub description: String,
    /// Any of `receive` (deliveries are POSTed to `callbackUrl`), `commands` (it may acknowledge, snooze and
    /// complete), `pull` (it polls instead) and `custom_actions`.
    pub capabilities: Vec<String>,
    /// A JSON Schema (an object schema) each user's config must satisfy. A top-level property marked
    /// `"writeOnly": true` (an API token for your own service, say) is stored encrypted, sent to you with each
    /// delivery and never shown to anyone again; a change to a subscription keeps it unless given anew.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    /// Where deliveries go (HTTPS; needed with `receive`).
    pub callback_url: Option<String>,
    #[serde(default)]
    pub limits: LimitsInput,
    /// Hosts the callback URL may name (empty: only the callback URL's own host).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// Per-type limits; each defaults and is bounded.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsInput {
    /// 500 to 10 000 ms (default 5 000).
    pub timeout_ms: Option<i32>,
    /// 1 024 to 65 536 bytes (default 16 384).
    pub max_payload_bytes: Option<i32>,
    /// 1 to 6 000 (default 600), across all its users.
    pub requests_per_minute: Option<i32>,
}

/// A developer's changes; a changed callback or schema sends the type back for review.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub callback_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub config_schema: Option<serde_json::Value>,
    pub limits: Option<LimitsInput>,
    /// Issue a new signing secret (shown once; the old one stops at once).
    pub rotate_secret: Option<bool>,
    /// A suspended type asks to be active again (its failure count starts over).
    pub reactivate: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    pub id: Uuid,
    pub agent_type: String,
    pub name: String,
    pub description: String,
    pub capabilities: Vec<String>,
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    pub callback_url: Option<String>,
    /// `pending` (waiting for review), `approved`, `rejected` or `suspended`.
    pub status: String,
    /// Why it was rejected or suspended.
    pub status_reason: Option<String>,
    pub limits: Limits,
    pub allowed_hosts: Vec<String>,
    /// Failed sends in a row; at [`SUSPEND_AFTER_FAILURES`] the type is suspended.
    pub consecutive_failures: i32,
    pub last_failure: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub timeout_ms: i32,
    pub max_payload_bytes: i32,
    pub requests_per_minute: i32,
}

impl From<AgentRow> for AgentView {
    fn from(row: AgentRow) -> Self {
        AgentView {
            id: row.id,
            agent_type: row.agent_type,
            name: row.name,
            description: row.description,
            capabilities: row.capabilities,
            config_schema: row.config_schema,
            callback_url: row.callback_url,
            status: row.status,
            status_reason: row.status_reason,
            limits: Limits {
                timeout_ms: row.timeout_ms,
                max_payload_bytes: row.max_payload_bytes,
                requests_per_minute: row.requests_per_minute,
            },
            allowed_hosts: row.allowed_hosts,
            consecutive_failures: row.consecutive_failures,
            last_failure: row.last_failure,
            approved_at: row.approved_at,
            created_at: row.created_at,
        }
    }
}

/// A type as registered or rotated: the signing secret is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentWithSecret {
    #[serde(flatten)]
    pub agent: AgentView,
    /// `whsec_…`: signs deliveries to the agent and its commands to us. Never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// An admin's review decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewInput {
    /// `approve`, `reject` or `suspend`.
    pub decision: String,
    /// Shown to the developer (required to reject or suspend).
    pub reason: Option<String>,
}
