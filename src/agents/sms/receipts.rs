//! Delivery receipts: Twilio calls the message's `StatusCallback` (which names our delivery id) as the
//! message moves on. `delivered` marks the row delivered; `failed`/`undelivered` mark it failed and, when
//! that leaves the tier with nobody reached, move the episode on (see channel health). Other statuses
//! (`queued`, `sent`, …) change nothing.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::escalation::engine::channel_health::{self, FailedDelivery};

/// What a receipt means for the delivery row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Failed { error: String },
}

impl Receipt {
    /// Reads Twilio's `MessageStatus` (and `ErrorCode`); None for statuses that change nothing.
    pub fn from_status(status: &str, error_code: Option<&str>) -> Option<Receipt> {
        match status {
            "delivered" => Some(Receipt::Delivered),
            "failed" | "undelivered" => {
                let code = error_code.filter(|c| !c.is_empty()).map(|c| format!(" (error {c})")).unwrap_or_default();
                Some(Receipt::Failed { error: format!("twilio reported the message {status}{code}") })
            }
            _ => None,
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Updated {
    #[diesel(sql_type = SqlUuid)]
    escalation_id: Uuid,
    #[diesel(sql_type = SmallInt)]
    tier: i16,
    #[diesel(sql_type = SmallInt)]
    loop_index: i16,
}

/// Applies a receipt to SMS delivery `delivery`, only while it is `sending` or `sent` (or failed with an
/// unknown outcome: the receipt is how we learn it) and, once the message id is known, only for that
/// message. Returns whether the row changed.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    delivery: Uuid,
    message_sid: Option<&str>,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let (status, error) = match receipt {
        Receipt::Delivered => ("delivered", None),
        Receipt::Failed { error } => ("failed", Some(error.clone())),
    };
    let message_sid = message_sid.map(str::to_owned);
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        // The episode before its deliveries, as everywhere else.
        let episode: Vec<Updated> = diesel::sql_query(
            "SELECT escalation_id, tier, loop_index FROM deliveries WHERE id = $1 AND channel = 'sms'",
        )
        .bind::<SqlUuid, _>(delivery)
        .load(conn)
        .await?;
        let failed: Vec<FailedDelivery> = episode
            .iter()
            .map(|row| FailedDelivery { escalation_id: row.escalation_id, tier: row.tier, loop_index: row.loop_index })
            .collect();
        channel_health::lock(conn, &failed).await?;
        let updated: Vec<Updated> = diesel::sql_query(
            "UPDATE deliveries SET status = $2, last_error = COALESCE($3, last_error),
                    delivered_at = CASE WHEN $2 = 'delivered' THEN $4 ELSE delivered_at END
             WHERE id = $1 AND channel = 'sms'
               AND (status IN ('sending', 'sent') OR (status = 'failed' AND last_error = 'unknown_outcome'))
               AND ($5::text IS NULL OR provider_message_id IS NULL OR provider_message_id = $5)
             RETURNING escalation_id, tier, loop_index",
        )
        .bind::<SqlUuid, _>(delivery)
        .bind::<Text, _>(status)
        .bind::<Nullable<Text>, _>(error)
        .bind::<Timestamptz, _>(now)
        .bind::<Nullable<Text>, _>(message_sid)
        .load(conn)
        .await?;
        if updated.is_empty() {
            return Ok(false);
        }
        if status == "failed" {
            channel_health::skip_failed_tiers(conn, &failed, now).await?;
        }
        Ok(true)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_receipts() {
        assert_eq!(Receipt::from_status("delivered", None), Some(Receipt::Delivered));
        assert_eq!(
            Receipt::from_status("undelivered", Some("30003")),
            Some(Receipt::Failed { error: "twilio reported the message undelivered (error 30003)".to_owned() })
        );
        assert!(matches!(Receipt::from_status("failed", None), Some(Receipt::Failed { .. })));
        assert_eq!(Receipt::from_status("sent", None), None);
        assert_eq!(Receipt::from_status("queued", None), None);
    }
}
