//! The one writer of `onboarding_progress`. Every query is the owner's row.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use crate::db::schema::onboarding_progress;

/// What the owner said; what the data says is read elsewhere.
#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = onboarding_progress)]
pub struct Progress {
    pub completed_steps: Vec<String>,
    pub dismissed_at: Option<DateTime<Utc>>,
}

/// The owner's progress; an account without a row has said nothing yet.
pub async fn find(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Progress> {
    let row = onboarding_progress::table.find(owner).select(Progress::as_select()).first(conn).await.optional()?;
    Ok(row.unwrap_or_default())
}

/// Takes the owner's row (making it when missing) until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<Progress> {
    diesel::insert_into(onboarding_progress::table)
        .values(onboarding_progress::user_id.eq(owner))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    onboarding_progress::table.find(owner).select(Progress::as_select()).for_update().first(conn).await
}

/// Adds `step` to the owner's completed steps (once).
pub async fn complete(conn: &mut AsyncPgConnection, owner: UserId, step: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO onboarding_progress (user_id, completed_steps) VALUES ($1, ARRAY[$2])
         ON CONFLICT (user_id) DO UPDATE SET completed_steps = onboarding_progress.completed_steps || $2
         WHERE NOT $2 = ANY (onboarding_progress.completed_steps)",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Text, _>(step)
    .execute(conn)
    .await
}

/// Hides onboarding for the owner; a second dismissal keeps the first time.
pub async fn dismiss(conn: &mut AsyncPgConnection, owner: UserId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO onboarding_progress (user_id, dismissed_at) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET dismissed_at = $2 WHERE onboarding_progress.dismissed_at IS NULL",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}
