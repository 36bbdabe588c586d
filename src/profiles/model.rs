//! Profile rows, the stored tier shape, and the API's input, patch and output types.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use reminder_core::ChannelKind;
use reminder_core::ids::{ProfileId, UserId};
use reminder_core::plan::{ProfileSettings, TierSpec};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::escalation_profiles;

/// An `escalation_profiles` row. `user_id` is `None` for presets.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = escalation_profiles)]
pub struct ProfileRow {
    pub id: ProfileId,
    pub user_id: Option<UserId>,
    pub name: String,
    pub description: Option<String>,
    pub tiers: serde_json::Value,
    pub repeat_count: i16,
    pub ack_window_minutes: i32,
    pub loop_gap_minutes: Option<i32>,
    pub is_preset: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProfileRow {
    /// The stored tiers (see [`parse_tiers`]).
    pub fn parsed_tiers(&self) -> anyhow::Result<Vec<Tier>> {
        parse_tiers(&self.tiers)
    }
}

/// The one decoder of `escalation_profiles.tiers`. The column is only ever written from validated [`Tier`]s
/// (or by the preset migration in the same shape), so a parse failure is a server fault, not bad input, and
/// never an empty ladder.
pub fn parse_tiers(stored: &serde_json::Value) -> anyhow::Result<Vec<Tier>> {
    Ok(Vec::<Tier>::deserialize(stored)?)
}

/// The columns of a profile the engine plans with, embedded in the fire step's rows.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = escalation_profiles)]
pub struct PlanColumns {
    pub tiers: serde_json::Value,
    pub repeat_count: i16,
    pub ack_window_minutes: i32,
    pub loop_gap_minutes: Option<i32>,
}

impl PlanColumns {
    /// The tiers and settings a plan is resolved from; an error says which column does not read.
    pub fn decode(&self) -> anyhow::Result<(Vec<TierSpec>, ProfileSettings)> {
        let tiers = parse_tiers(&self.tiers)?.iter().map(Tier::spec).collect::<anyhow::Result<_>>()?;
        let settings = ProfileSettings {
            repeat: u8::try_from(self.repeat_count)?,
            ack_window_minutes: u32::try_from(self.ack_window_minutes)?,
            loop_gap_minutes: self.loop_gap_minutes.map(u32::try_from).transpose()?,
        };
        Ok((tiers, settings))
    }
}

/// One tier as stored in `escalation_profiles.tiers` and shown by the API (camelCase, the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    /// 1-based; tiers run 1..n without gaps.
    pub tier_number: u16,
    /// Minutes after the moment the reminder fired (not after the previous tier) at which this tier is sent.
    pub delay_minutes: u32,
    /// The user's own channel subscriptions to notify.
    #[serde(default)]
    pub agent_subscription_ids: Vec<Uuid>,
    /// Channel types resolved to every subscription of that type the user has when the reminder fires.
    #[serde(default)]
    pub channel_types: Vec<String>,
    /// Trusted contacts to notify (used only once they have accepted).
    #[serde(default)]
    pub trusted_contact_ids: Vec<Uuid>,
    /// Notify every accepted trusted contact.
    #[serde(default)]
    pub include_trusted_contacts: bool,
    /// Members of the owner's family group (user ids) to notify at their account's address, for the reminders
    /// shared with them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family_member_ids: Vec<Uuid>,
    /// Optional text added to this tier's notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Tier {
    /// The tier as the planner reads it: channel type names become channel kinds (an unknown name is an error).
    pub fn spec(&self) -> anyhow::Result<TierSpec> {
        let channel_types = self
            .channel_types
            .iter()
            .map(|name| ChannelKind::parse(name).ok_or_else(|| anyhow::anyhow!("unknown channel type {name:?}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(TierSpec {
            tier_number: self.tier_number,
            delay_minutes: self.delay_minutes,
            agent_subscription_ids: self.agent_subscription_ids.clone(),
            channel_types,
            trusted_contact_ids: self.trusted_contact_ids.clone(),
            include_trusted_contacts: self.include_trusted_contacts,
            family_member_ids: self.family_member_ids.clone(),
        })
    }
}

/// A tier in a request body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierInput {
    pub tier_number: u16,
    /// Minutes after the moment the reminder fired (tier 1 is normally 0); non-decreasing across tiers.
    pub delay_minutes: u32,
    #[serde(default)]
    pub agent_subscription_ids: Vec<Uuid>,
    /// Any of `email`, `sms`, `webhook`, `pull`.
    #[serde(default)]
    pub channel_types: Vec<String>,
    #[serde(default)]
    pub trusted_contact_ids: Vec<Uuid>,
    #[serde(default)]
    pub include_trusted_contacts: bool,
    /// Members of the caller's family group (their user ids).
    #[serde(default)]
    pub family_member_ids: Vec<Uuid>,
    pub message: Option<String>,
}

/// `POST /v1/escalation-profiles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    pub name: String,
    pub description: Option<String>,
    /// Tiers 1..n; each tier's `delayMinutes` counts from the moment the reminder fired.
    pub tiers: Vec<TierInput>,
    /// How many more times the whole ladder runs after the first pass (0–10, default 0).
    pub repeat: Option<u8>,
    /// How long an acknowledgement pauses escalation (0–10080 minutes, default 60; 0 = an ack ends it).
    pub ack_window_minutes: Option<u32>,
    /// Wait between the last tier and the next loop (1–10080 minutes; default derived from the tiers).
    pub loop_gap_minutes: Option<u32>,
}

/// `PATCH /v1/escalation-profiles/{id}`: absent fields stay; `description: null` and `loopGapMinutes: null`
/// clear.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Replaces the whole ladder; each tier's `delayMinutes` counts from the moment the reminder fired.
    pub tiers: Option<Vec<TierInput>>,
    pub repeat: Option<u8>,
    pub ack_window_minutes: Option<u32>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<u32>)]
    pub loop_gap_minutes: Option<Option<u32>>,
    /// The version last read; a stale one → 409.
    pub version: Option<i32>,
}

/// A profile as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ProfileId,
    pub name: String,
    pub description: Option<String>,
    /// Each tier's `delayMinutes` counts from the moment the reminder fired.
    pub tiers: Vec<Tier>,
    pub repeat: u8,
    pub ack_window_minutes: u32,
    pub loop_gap_minutes: Option<u32>,
    /// Presets are shared by everyone and cannot be changed.
    pub is_preset: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProfileView {
    pub fn from_row(row: ProfileRow) -> anyhow::Result<ProfileView> {
        let tiers = row.parsed_tiers()?;
        Ok(ProfileView {
            id: row.id,
            name: row.name,
            description: row.description,
            tiers,
            repeat: u8::try_from(row.repeat_count)?,
            ack_window_minutes: u32::try_from(row.ack_window_minutes)?,
            loop_gap_minutes: row.loop_gap_minutes.map(u32::try_from).transpose()?,
            is_preset: row.is_preset,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn columns(tiers: serde_json::Value) -> PlanColumns {
        PlanColumns { tiers, repeat_count: 1, ack_window_minutes: 30, loop_gap_minutes: None }
    }

    #[test]
    fn stored_tiers_decode_to_the_planners_tiers() {
        let stored = json!([{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["email", "sms"], "message": "hi"}]);
        let (tiers, settings) = columns(stored).decode().unwrap();
        assert_eq!(tiers[0].channel_types, vec![ChannelKind::Email, ChannelKind::Sms]);
        assert_eq!((settings.repeat, settings.ack_window_minutes, settings.loop_gap_minutes), (1, 30, None));
    }

    #[test]
    fn a_ladder_that_does_not_read_is_an_error_never_an_empty_plan() {
        let unknown_channel = json!([{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["pigeon"]}]);
        assert!(columns(unknown_channel).decode().is_err());
        assert!(columns(json!({"tierNumber": 1})).decode().is_err());
        assert!(columns(json!([{"delayMinutes": 0}])).decode().is_err());
        let negative = PlanColumns { repeat_count: -1, ..columns(json!([])) };
        assert!(negative.decode().is_err());
    }
}
