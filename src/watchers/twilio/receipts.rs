//! Delivery receipts: Twilio calls the message's `StatusCallback` (which names our delivery id) as the
//! message moves on. `delivered` marks the row delivered; `failed`/`undelivered` mark it failed and, when
//! that leaves the tier with nobody reached, move the episode on (see channel health). Other statuses
//! (`queued`, `sent`, …) change nothing.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::DeliveryId;
use reminder_core::status::DeliveryStatus;

use crate::escalation::engine::channel_health::{self, FailedDelivery};
use crate::escalation::engine::deliveries;

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

/// Applies a receipt to SMS delivery `delivery`, only while it is `sending` or `sent` (or failed with an
/// unknown outcome: the receipt is how we learn it) and, once the message id is known, only for that
/// message. Returns whether the row changed.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    delivery: DeliveryId,
    message_sid: Option<&str>,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let (status, error) = match receipt {
        Receipt::Delivered => (DeliveryStatus::Delivered, None),
        Receipt::Failed { error } => (DeliveryStatus::Failed, Some(error.clone())),
    };
    let message_sid = message_sid.map(str::to_owned);
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        // The episode before its deliveries, as everywhere else.
        let failed: Vec<FailedDelivery> = deliveries::sms_step(conn, delivery).await?.into_iter().collect();
        channel_health::lock(conn, &failed).await?;
        if !deliveries::apply_sms_receipt(conn, delivery, status, error, message_sid, now).await? {
            return Ok(false);
        }
        if status == DeliveryStatus::Failed {
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
