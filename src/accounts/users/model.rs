//! User rows and their API views.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};

use crate::db::schema::users;

/// A `users` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub timezone: String,
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
    pub preferences: serde_json::Value,
    /// When the owner proved the address is theirs (`accounts::auth::email_verification`); none until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub timezone: &'a str,
    /// Set at creation when no link is needed (see `accounts::auth::email_verification::required`).
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// Quiet hours as `HH:MM` strings in the user's zone.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuietHours {
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start: String,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "07:00")]
    pub end: String,
}

impl QuietHours {
    /// The stored pair as `HH:MM`; none unless both are set.
    pub fn from_times(start: Option<NaiveTime>, end: Option<NaiveTime>) -> Option<QuietHours> {
        match (start, end) {
            (Some(start), Some(end)) => {
                Some(QuietHours { start: start.format("%H:%M").to_string(), end: end.format("%H:%M").to_string() })
            }
            _ => None,
        }
    }
}

/// What the API shows of a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub email: String,
    /// Whether the owner confirmed the address through the link mailed at sign-up. Until then email channels
    /// may only go to this address.
    pub email_verified: bool,
    pub display_name: String,
    pub timezone: String,
    pub quiet_hours: Option<QuietHours>,
    #[schema(value_type = Object)]
    pub preferences: serde_json::Value,
    pub tier: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserView {
    pub fn from_row(user: User, tier: &str) -> UserView {
        let quiet_hours = QuietHours::from_times(user.quiet_hours_start, user.quiet_hours_end);
        UserView {
            id: user.id,
            email: user.email,
            email_verified: user.email_verified_at.is_some(),
            display_name: user.display_name,
            timezone: user.timezone,
            quiet_hours,
            preferences: user.preferences,
            tier: tier.to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// `PATCH /v1/users/me`. Absent fields stay as they are; `quietHours: null` clears them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    /// Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*\\S[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub display_name: Option<String>,
    /// An IANA time zone such as `Europe/Berlin`.
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 128)]
    pub current_password: String,
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
    /// Also revoke every API key of the account, in the same transaction (default false). Use it when the
    /// old password may have been known to someone else: a key they made outlives the sessions.
    #[serde(default)]
    pub revoke_api_keys: bool,
}

/// Distinguishes an absent field (None) from an explicit null (Some(None)).
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
