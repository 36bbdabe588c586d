//! Typed ids: a `ReminderId` cannot be passed where a `DeliveryId` is expected. Each is a UUID underneath,
//! serialised as one (JSON and SQL), so the wire format and the schema are unchanged.
//!
//! Episode and delivery ids are derived from what the row is, not drawn at random when it is written
//! ([`EpisodeId::of_occurrence`], [`DeliveryId::of`]): the same occurrence of the same reminder is the same
//! episode, and the same step of that episode to the same target is the same delivery, whichever process
//! writes it and however often. A delivery's id is its `webhook-id`, so a reminder that fires again after a
//! database restore (docs/operations.md) is re-sent with the id the receiver has already seen.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "diesel", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The UUID underneath, for APIs that take one.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            /// Parses a UUID in any of the forms [`Uuid::parse_str`] reads.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                <Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes).map(Self)
            }
        }

        /// In the OpenAPI document an id is what it is on the wire: a UUID string.
        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))).into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}
    )+};
}

typed_id! {
    /// An account.
    UserId;
    /// A reminder.
    ReminderId;
    /// One escalation episode: a reminder's firing and the tiers that follow it.
    EpisodeId;
    /// One owed notification to one target.
    DeliveryId;
    /// One of a user's channel subscriptions (an email address, a phone, a webhook, a pull inbox).
    SubscriptionId;
    /// A trusted contact.
    ContactId;
    /// An escalation profile.
    ProfileId;
    /// A connected calendar.
    CalendarId;
    /// A rule of a calendar.
    CalendarRuleId;
}

/// The namespace of every derived id. Changing it changes every id derived from now on, so never do.
const NAMESPACE: Uuid = Uuid::from_u128(0x5b0e_2c1a_8f3d_4e6b_9a71_c4d2_e8f0_1a37);

/// A UUIDv8: the first 48 bits are `prefix` (milliseconds since 1970, as in UUIDv7, so ids derived around
/// the same time sit together at the right edge of a B-tree index instead of on random pages), the other
/// 74 free bits are the SHA-1 of `name` (UUIDv5's hash). Two names collide only if their prefixes are equal
/// and 74 bits of their hashes are too.
fn derive(prefix: [u8; 6], name: &[u8]) -> Uuid {
    let mut bytes = Uuid::new_v5(&NAMESPACE, name).into_bytes();
    bytes[..6].copy_from_slice(&prefix);
    Uuid::new_v8(bytes)
}

impl EpisodeId {
    /// The episode of `reminder`'s occurrence due at `occurrence_at`: the key `escalations` is unique on
    /// (`UNIQUE (reminder_id, occurrence_at)`), so two episodes that may both exist never share an id. A snooze
    /// fires a new episode at the snooze's end, a later occurrence at its own time: other keys, other ids.
    /// Time counts to the microsecond, as Postgres stores it, so an occurrence read back from the database
    /// derives the id it was written with.
    pub fn of_occurrence(reminder: ReminderId, occurrence_at: DateTime<Utc>) -> EpisodeId {
        let millis = occurrence_at.timestamp_millis().clamp(0, (1 << 48) - 1);
        let mut prefix = [0; 6];
        prefix.copy_from_slice(&millis.to_be_bytes()[2..]);
        let mut name = Vec::with_capacity(32);
        name.extend_from_slice(b"episode\0");
        name.extend_from_slice(reminder.0.as_bytes());
        name.extend_from_slice(&occurrence_at.timestamp_micros().to_be_bytes());
        EpisodeId(derive(prefix, &name))
    }
}

impl DeliveryId {
    /// The delivery of `episode`'s tier `tier`, loop `loop_index` (a lifecycle event: tier 0 and the event's
    /// code) to one target on one channel: every column of the key `deliveries` is unique on, so two deliveries
    /// that may both exist never share an id. It starts with its episode's time, so an episode's deliveries
    /// sit together in the index.
    pub fn of(
        episode: EpisodeId,
        tier: i16,
        loop_index: i16,
        target_kind: &str,
        target_id: Uuid,
        channel: &str,
    ) -> DeliveryId {
        let mut prefix = [0; 6];
        prefix.copy_from_slice(&episode.0.as_bytes()[..6]);
        let mut name = Vec::with_capacity(64);
        name.extend_from_slice(b"delivery\0");
        name.extend_from_slice(episode.0.as_bytes());
        name.extend_from_slice(&tier.to_be_bytes());
        name.extend_from_slice(&loop_index.to_be_bytes());
        // Kinds and channels are short words without NUL; the separator keeps "ab"+"c" apart from "a"+"bc".
        name.extend_from_slice(target_kind.as_bytes());
        name.push(0);
        name.extend_from_slice(target_id.as_bytes());
        name.extend_from_slice(channel.as_bytes());
        DeliveryId(derive(prefix, &name))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + seconds, 0).single().unwrap()
    }

    #[test]
    fn an_episode_id_is_the_same_for_the_same_occurrence_and_only_for_it() {
        let reminder = ReminderId(Uuid::from_u128(7));
        let id = EpisodeId::of_occurrence(reminder, at(0));
        assert_eq!(id, EpisodeId::of_occurrence(reminder, at(0)), "the same occurrence, written again");
        assert_eq!(id.0.get_version_num(), 8);
        assert_ne!(id, EpisodeId::of_occurrence(reminder, at(3600)), "a snooze's re-fire or the next occurrence");
        assert_ne!(id, EpisodeId::of_occurrence(reminder, at(0) + chrono::Duration::microseconds(1)));
        assert_ne!(id, EpisodeId::of_occurrence(ReminderId(Uuid::from_u128(8)), at(0)), "another reminder");
        // Below Postgres' precision the time is the same one.
        let read_back = at(0) + chrono::Duration::nanoseconds(999);
        assert_eq!(id, EpisodeId::of_occurrence(reminder, read_back));
    }

    #[test]
    fn episode_ids_sort_by_occurrence_like_uuid_v7() {
        let reminders: Vec<ReminderId> = (0..50).map(|n| ReminderId(Uuid::from_u128(n * 7919))).collect();
        let ids: Vec<EpisodeId> =
            reminders.iter().enumerate().map(|(i, r)| EpisodeId::of_occurrence(*r, at(i as i64))).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "later occurrences, larger ids");
        // Before 1970 or past year 10889 the prefix is clamped, the id still exists.
        let _ = EpisodeId::of_occurrence(reminders[0], DateTime::<Utc>::MIN_UTC);
        let _ = EpisodeId::of_occurrence(reminders[0], DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn a_delivery_id_differs_in_every_column_of_its_key() {
        let episode = EpisodeId::of_occurrence(ReminderId(Uuid::from_u128(1)), at(0));
        let other = EpisodeId::of_occurrence(ReminderId(Uuid::from_u128(1)), at(60));
        let targets = [Uuid::from_u128(10), Uuid::from_u128(11)];
        let mut seen = HashSet::new();
        for episode in [episode, other] {
            for tier in 0..4 {
                for loop_index in 0..4 {
                    for kind in ["subscription", "contact"] {
                        for target in targets {
                            for channel in ["email", "sms", "webhook", "pull"] {
                                let id = DeliveryId::of(episode, tier, loop_index, kind, target, channel);
                                assert_eq!(id, DeliveryId::of(episode, tier, loop_index, kind, target, channel));
                                assert!(seen.insert(id), "two keys, one id");
                                assert_eq!(id.0.as_bytes()[..6], episode.0.as_bytes()[..6], "its episode's time");
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen.len(), 2 * 4 * 4 * 2 * 2 * 4);
    }

    #[test]
    fn an_id_is_a_bare_uuid_on_the_wire() {
        let id = ReminderId(Uuid::nil());
        assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!("00000000-0000-0000-0000-000000000000"));
        assert_eq!(serde_json::from_value::<ReminderId>(serde_json::json!(Uuid::nil())).unwrap(), id);
        assert_eq!(id.to_string(), Uuid::nil().to_string());
    }
}
