//! `idempotency_keys` queries. Each is its own short statement: no transaction is held while the
//! handler runs.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

/// How long a key is remembered (API contract: 24 h).
pub const RETENTION: Duration = Duration::hours(24);

/// The request a key was first used for.
pub struct Claim<'a> {
    pub user: Uuid,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a [u8],
    pub locked_until: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Bool)]
    #[expect(dead_code, reason = "only the presence of a row matters")]
    claimed: bool,
}

/// Takes the key for this request: a new key, one older than 24 h, or one whose first request died
/// holding the lock for the same body. False means someone else holds or finished it.
pub async fn claim(conn: &mut AsyncPgConnection, claim: &Claim<'_>) -> QueryResult<bool> {
    let row: Option<Claimed> = diesel::sql_query(
        "INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, locked_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id, key) DO UPDATE SET
           method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
           response_status = NULL, response_body = NULL,
           locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $8
            OR (idempotency_keys.response_status IS NULL AND idempotency_keys.locked_until < $7
                AND idempotency_keys.request_hash = EXCLUDED.request_hash)
         RETURNING true AS claimed",
    )
    .bind::<SqlUuid, _>(claim.user)
    .bind::<Text, _>(claim.key)
    .bind::<Text, _>(claim.method)
    .bind::<Text, _>(claim.path)
    .bind::<Bytea, _>(claim.request_hash)
    .bind::<Timestamptz, _>(claim.locked_until)
    .bind::<Timestamptz, _>(claim.now)
    .bind::<Timestamptz, _>(claim.now - RETENTION)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.is_some())
}

/// A key held by an earlier request.
#[derive(Debug, Queryable)]
pub struct Existing {
    pub request_hash: Vec<u8>,
    pub response_status: Option<i16>,
    pub response_body: Option<Vec<u8>>,
}

pub async fn find(conn: &mut AsyncPgConnection, user: Uuid, key: &str) -> QueryResult<Option<Existing>> {
    idempotency_keys::table
        .find((user, key))
        .select((idempotency_keys::request_hash, idempotency_keys::response_status, idempotency_keys::response_body))
        .first(conn)
        .await
        .optional()
}

/// Stores the response and releases the lock.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    key: &str,
    status: i16,
    sealed_body: &[u8],
) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((user, key)))
        .set((
            idempotency_keys::response_status.eq(status),
            idempotency_keys::response_body.eq(sealed_body),
            idempotency_keys::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
}

/// Forgets an unfinished key, so the client may retry after a server error.
pub async fn release(conn: &mut AsyncPgConnection, user: Uuid, key: &str) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find((user, key)).filter(idempotency_keys::response_status.is_null()))
        .execute(conn)
        .await
}

/// Deletes keys older than the retention (run by upkeep).
pub async fn prune(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(now - RETENTION))).execute(conn).await
}
