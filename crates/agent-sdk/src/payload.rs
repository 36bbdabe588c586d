//! What a delivery says, as types.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// One delivery: `reminder.triggered`, `reminder.escalated` or `test`.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    pub data: DeliveryData,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryData {
    /// What a command names (and the `webhook-id` of the delivery: the same on a retry).
    pub delivery_id: Uuid,
    pub reminder_id: Option<Uuid>,
    pub title: String,
    #[serde(default)]
    pub importance: Option<String>,
    /// 1 for the first tier, higher as it escalates (0 for a test).
    #[serde(default)]
    pub tier: u32,
    #[serde(default, rename = "loop")]
    pub loop_index: u32,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// Your type's name.
    #[serde(default)]
    pub agent_type: Option<String>,
    /// The subscriber's config, as your schema accepted it.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Signed links a person can open instead (absent on a test).
    #[serde(default)]
    pub actions: Option<ActionLinks>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionLinks {
    pub acknowledge: String,
    pub complete: String,
    pub snooze: String,
}
