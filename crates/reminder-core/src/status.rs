//! Where a reminder, an episode and a delivery stand: enums, stored as the lowercase text the database's
//! CHECK constraints list, mapped to SQL once (with the `diesel` feature).

use serde::{Deserialize, Serialize};

pub use crate::machine::EpisodeStatus;

macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal,)+ }) => {
        impl $name {
            /// Every value, in the order the schema lists them.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The name used in the API and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }

            /// Parses the stored name.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == name)
            }
        }

        text_sql!($name);
    };
}

/// The SQL mapping of a status stored as text: written as its `as_str`, read with its `parse` (a name the
/// enum does not know is an error, never a default).
macro_rules! text_sql {
    ($name:ident) => {
        #[cfg(feature = "diesel")]
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| format!("unknown {} {text:?}", stringify!($name)).into())
            }
        }
    };
}

// The machine's own status keeps its definition there (the machine is the spec); only its SQL mapping is here.
text_sql!(EpisodeStatus);

/// Where a reminder stands (`reminders.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "diesel", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "lowercase")]
pub enum ReminderStatus {
    Active,
    Snoozed,
    Completed,
    Archived,
}

impl ReminderStatus {
    /// The statuses of a reminder that still counts: against the tier's limit, and as one that may fire.
    pub const LIVE: [ReminderStatus; 2] = [Self::Active, Self::Snoozed];
}

text_enum!(ReminderStatus {
    Active => "active",
    Snoozed => "snoozed",
    Completed => "completed",
    Archived => "archived",
});

/// Where one delivery stands (`deliveries.status`). `Sent` and `Delivered` differ for channels that confirm
/// receipt (Twilio's status callback); `Cancelled` covers closed episodes, disabled accounts and gone targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "diesel", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Sending,
    Sent,
    Delivered,
    Failed,
    Cancelled,
}

text_enum!(DeliveryStatus {
    Pending => "pending",
    Sending => "sending",
    Sent => "sent",
    Delivered => "delivered",
    Failed => "failed",
    Cancelled => "cancelled",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_name() {
        for status in ReminderStatus::ALL {
            assert_eq!(ReminderStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(DeliveryStatus::parse("sending "), None);
        for name in ["active", "acknowledged", "completed", "expired", "cancelled"] {
            assert_eq!(EpisodeStatus::parse(name).map(EpisodeStatus::as_str), Some(name));
        }
    }
}
