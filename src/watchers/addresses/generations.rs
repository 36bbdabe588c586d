//! `watch_addresses`: the generation each user's watcher address is signed for. Rotating bumps it, which
//! voids every address of an older generation; a user without a row is on generation 0.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use crate::db::schema::watch_addresses;

/// The current generation of `user`'s address.
pub async fn of(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i32> {
    let found = watch_addresses::table.find(user).select(watch_addresses::generation).first(conn).await.optional()?;
    Ok(found.unwrap_or(0))
}

/// The current generations of `users` (those on generation 0 are absent).
pub async fn of_all(conn: &mut AsyncPgConnection, users: &[UserId]) -> QueryResult<HashMap<UserId, i32>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(UserId, i32)> = watch_addresses::table
        .filter(watch_addresses::user_id.eq_any(users))
        .select((watch_addresses::user_id, watch_addresses::generation))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Moves `user` to the next generation and returns it.
pub async fn rotate(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> QueryResult<i32> {
    diesel::insert_into(watch_addresses::table)
        .values((
            watch_addresses::user_id.eq(user),
            watch_addresses::generation.eq(1),
            watch_addresses::rotated_at.eq(now),
        ))
        .on_conflict(watch_addresses::user_id)
        .do_update()
        .set((
            watch_addresses::generation.eq(watch_addresses::generation + 1),
            watch_addresses::rotated_at.eq(excluded(watch_addresses::rotated_at)),
        ))
        .returning(watch_addresses::generation)
        .get_result(conn)
        .await
}
