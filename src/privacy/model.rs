//! What the export answers.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Every row the caller owns, table by table, as stored: column names are the database's, times are RFC 3339.
/// Credentials and secrets (password hash, key and token hashes, encrypted channel secrets) are left out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    /// Table name → its rows (objects keyed by column name); every owned table is present, empty or not.
    #[schema(value_type = Object)]
    pub tables: serde_json::Value,
}
