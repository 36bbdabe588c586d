//! What the owner's deliveries came to: per day and outcome for the dashboard's chart, and whom each open
//! episode has reached so far.

use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{EpisodeId, UserId};

use crate::db::Prepare;
use crate::http::ApiError;

/// The outcomes the chart tells apart, in the order it stacks them.
pub const OUTCOMES: [&str; 4] = ["reached", "failed", "cancelled", "waiting"];

/// How many of the owner's deliveries made on one local day came to one outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOutcome {
    pub day: NaiveDate,
    /// One of [`OUTCOMES`]: sent or delivered is "reached"; pending or sending is "waiting".
    pub outcome: String,
    pub count: i64,
}

#[derive(diesel::QueryableByName)]
struct BucketCount {
    #[diesel(sql_type = Integer)]
    bucket: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The chart's outcome of a delivery status.
fn outcome_of(status: &str) -> &'static str {
    match status {
        "sent" | "delivered" => "reached",
        "failed" => "failed",
        "cancelled" => "cancelled",
        _ => "waiting",
    }
}

/// The owner's deliveries made on the local days that start at `midnights` (each day's start as an instant,
/// ascending, with the end of the last day after them; computed by the caller in the owner's zone, so a
/// day of 23 or 25 hours is right), counted by day and outcome; `first` is the date of the first day.
///
/// Each row is put in its day by comparing its time with those instants (`width_bucket`) rather than by
/// converting it to local time: on 5 000 rows the conversion and the grouping by text were most of the
/// home page's time (measured with benches/console_render.rs).
pub async fn by_day(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    first: NaiveDate,
    midnights: &[DateTime<Utc>],
) -> Result<Vec<DayOutcome>, ApiError> {
    let (Some(start), Some(end)) = (midnights.first(), midnights.last()) else { return Ok(Vec::new()) };
    let rows: Vec<BucketCount> = diesel::sql_query(
        "SELECT width_bucket(created_at, $2) AS bucket, status, count(*) AS count
         FROM deliveries WHERE user_id = $1 AND created_at >= $3 AND created_at < $4 GROUP BY 1, 2",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Array<Timestamptz>, _>(midnights)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .prepared()
    .load(conn)
    .await?;
    let mut counts: Vec<DayOutcome> = Vec::new();
    for row in rows {
        // Bucket 1 is the first day; the range above keeps every row within the days given.
        let Some(day) = u64::try_from(row.bucket - 1).ok().and_then(|i| first.checked_add_days(Days::new(i))) else {
            continue;
        };
        let outcome = outcome_of(&row.status);
        match counts.iter_mut().find(|c| c.day == day && c.outcome == outcome) {
            Some(existing) => existing.count += row.count,
            None => counts.push(DayOutcome { day, outcome: outcome.to_owned(), count: row.count }),
        }
    }
    Ok(counts)
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
    .prepared()
    .load(conn)
    .await?)
}
