//! A marketplace subscriber's write-only settings (the ones its type's schema marks `writeOnly`, see
//! `marketplace::schema::write_only`): sealed with AES-256-GCM to the subscription row, in the row's
//! `secret_ciphertext` (which a marketplace subscription has no other use for). They are opened only to send,
//! never shown, and resealed when a type's new schema changes which settings are write-only.

use diesel_async::AsyncPgConnection;
use reminder_core::ids::SubscriptionId;
use serde_json::{Map, Value};

use super::store;
use crate::agents::marketplace::schema::{split_write_only, write_only};

/// The settings sealed to `row`; `None` when there are none.
pub fn seal(key: &[u8; 32], row: SubscriptionId, settings: &Map<String, Value>) -> anyhow::Result<Option<Vec<u8>>> {
    if settings.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::crypto::encrypt(key, row.0, &serde_json::to_vec(settings)?)?))
}

/// What [`seal`] sealed to `row` (nothing when nothing is sealed).
pub fn open(key: &[u8; 32], row: SubscriptionId, sealed: Option<&[u8]>) -> anyhow::Result<Map<String, Value>> {
    let Some(sealed) = sealed else { return Ok(Map::new()) };
    Ok(serde_json::from_slice(&crate::crypto::decrypt(key, row.0, sealed)?)?)
}

/// The whole config an agent is sent: the shown settings with the sealed ones put back.
pub fn whole(shown: &Value, sealed: Map<String, Value>) -> Value {
    let mut whole = shown.as_object().cloned().unwrap_or_default();
    whole.extend(sealed);
    Value::Object(whole)
}

/// Seals, in every subscription of `agent_type`, the settings `schema` now marks write-only (its developer
/// changed the schema). Nothing sealed is ever unsealed: a setting the schema no longer marks stays sealed,
/// still sent, still never shown. Each row is written only if nobody changed it since it was read. Returns how
/// many rows changed.
pub async fn reseal_type(
    conn: &mut AsyncPgConnection,
    key: &[u8; 32],
    agent_type: &str,
    schema: &Value,
) -> anyhow::Result<usize> {
    let mut changed = 0;
    for row in store::settings_of_type(conn, agent_type).await? {
        let (shown, newly) = split_write_only(write_only(schema), &row.config);
        if newly.is_empty() {
            continue;
        }
        let Ok(sealed_now) = open(key, row.id, row.sealed.as_deref()) else {
            // Sealed under another ENCRYPTION_KEY: its sends already fail saying so; left as it is.
            tracing::warn!(subscription = %row.id, "write-only settings do not open with this ENCRYPTION_KEY");
            continue;
        };
        // A setting in the open config was written after the one sealed under its name: it is the one kept.
        let mut merged = sealed_now;
        merged.extend(newly);
        let sealed = seal(key, row.id, &merged)?;
        changed += store::replace_settings(conn, &row, &shown, sealed.as_deref()).await?;
    }
    Ok(changed)
}
