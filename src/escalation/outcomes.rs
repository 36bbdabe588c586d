//! What the owner's deliveries came to: per day and outcome for the dashboard's chart, and whom each open
//! episode has reached so far.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{EpisodeId, UserId};

use crate::http::ApiError;

/// The outcomes the chart tells apart, in the order it stacks them.
pub const OUTCOMES: [&str; 4] = ["reached", "failed", "cancelled", "waiting"];

/// How many of the owner's deliveries made on one local day came to one outcome.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct DayOutcome {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    /// One of [`OUTCOMES`]: sent or delivered is "reached"; pending or sending is "waiting".
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

/// The owner's deliveries made since `since`, counted by day on the clock of `zone` and by outcome.
pub async fn by_day(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    zone: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DayOutcome>, ApiError> {
    Ok(diesel::sql_query(
        "SELECT (created_at AT TIME ZONE $2)::date AS day,
                CASE WHEN status IN ('sent', 'delivered') THEN 'reached'
                     WHEN status IN ('failed', 'cancelled') THEN status ELSE 'waiting' END AS outcome,
                count(*) AS count
         FROM deliveries WHERE user_id = $1 AND created_at >= $3 GROUP BY 1, 2",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Text, _>(zone)
    .bind::<Timestamptz, _>(since)
    .load(conn)
    .await?)
}

/// Someone or something an open episode has reached: a channel kind, and a trusted contact's name when the
/// delivery went to one.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct Reached {
    #[diesel(sql_type = SqlUuid)]
    pub escalation_id: EpisodeId,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub contact: Option<String>,
}

/// Whom the owner's episodes `episodes` have reached (sent or delivered), each once, in the order first reached.
pub async fn reached(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    episodes: &[EpisodeId],
) -> Result<Vec<Reached>, ApiError> {
    if episodes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT d.escalation_id, d.channel, c.name AS contact
         FROM deliveries d
         LEFT JOIN trusted_contacts c ON d.target_kind = 'contact' AND c.id = d.target_id AND c.user_id = d.user_id
         WHERE d.user_id = $1 AND d.escalation_id = ANY($2) AND d.status IN ('sent', 'delivered')
         GROUP BY 1, 2, 3 ORDER BY min(d.created_at)",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Array<SqlUuid>, _>(episodes)
    .load(conn)
    .await?)
}
