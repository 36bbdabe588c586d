//! The one writer of `system_settings`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Knob;
use crate::db::schema::system_settings;

/// Every stored value, by key.
pub async fn overrides(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, i64)>> {
    system_settings::table.select((system_settings::key, system_settings::value)).load(conn).await
}

/// Holds the table against other writers until the transaction ends, so two admins' changes are logged in
/// the order they were made, each with the other's as its "before".
pub async fn lock(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("LOCK TABLE system_settings IN SHARE ROW EXCLUSIVE MODE").execute(conn).await
}

/// Stores `knob`'s value, or (with `None`) goes back to the environment's.
pub async fn put(
    conn: &mut AsyncPgConnection,
    knob: Knob,
    value: Option<i64>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    match value {
        Some(value) => {
            diesel::insert_into(system_settings::table)
                .values((system_settings::key.eq(knob.key()), system_settings::value.eq(value)))
                .on_conflict(system_settings::key)
                .do_update()
                .set((system_settings::value.eq(value), system_settings::updated_at.eq(now)))
                .execute(conn)
                .await
        }
        None => diesel::delete(system_settings::table.find(knob.key())).execute(conn).await,
    }
}
