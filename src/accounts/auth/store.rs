//! Session, refresh-token and access-context queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use crate::db::schema::{refresh_sessions, refresh_tokens};

/// Starts a session (a refresh family) and stores its first refresh token's hash.
pub async fn create_session(
    conn: &mut AsyncPgConnection,
    user: UserId,
    user_agent: Option<&str>,
    ip: Option<&str>,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let session: Uuid = diesel::insert_into(refresh_sessions::table)
        .values((
            refresh_sessions::user_id.eq(user),
            refresh_sessions::user_agent.eq(user_agent),
            refresh_sessions::ip.eq(ip),
            refresh_sessions::expires_at.eq(expires_at),
        ))
        .returning(refresh_sessions::id)
        .get_result(conn)
        .await?;
    insert_token(conn, session, token_hash, expires_at).await?;
    Ok(session)
}

pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    session: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

/// A presented refresh token with the state of its session.
#[derive(Debug, QueryableByName)]
pub struct PresentedToken {
    #[diesel(sql_type = SqlUuid)]
    pub token_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub rotated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub session_revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub user_deleted_at: Option<DateTime<Utc>>,
}

pub async fn find_token(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<Option<PresentedToken>> {
    diesel::sql_query(
        "SELECT t.id AS token_id, t.session_id, s.user_id, t.rotated_at, t.expires_at,
                s.revoked_at AS session_revoked_at, u.deleted_at AS user_deleted_at
         FROM refresh_tokens t
         JOIN refresh_sessions s ON s.id = t.session_id
         JOIN users u ON u.id = s.user_id
         WHERE t.token_hash = $1",
    )
    .bind::<Bytea, _>(token_hash)
    .get_result(conn)
    .await
    .optional()
}

/// Marks a token rotated if nobody did first. False means a concurrent refresh won the race.
pub async fn mark_rotated(conn: &mut AsyncPgConnection, token: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    let updated = diesel::update(refresh_tokens::table.find(token).filter(refresh_tokens::rotated_at.is_null()))
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

pub async fn touch_session(
    conn: &mut AsyncPgConnection,
    session: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(refresh_sessions::table.find(session))
        .set((refresh_sessions::last_used_at.eq(now), refresh_sessions::expires_at.eq(expires_at)))
        .execute(conn)
        .await
}

/// Revokes one session of `user`; false when it is not theirs or already revoked.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    user: UserId,
    session: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        refresh_sessions::table
            .find(session)
            .filter(refresh_sessions::user_id.eq(user))
            .filter(refresh_sessions::revoked_at.is_null()),
    )
    .set((refresh_sessions::revoked_at.eq(now), refresh_sessions::revoked_reason.eq(reason)))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Revokes every live session of `user` except `keep`.
pub async fn revoke_all_sessions(
    conn: &mut AsyncPgConnection,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE refresh_sessions SET revoked_at = $3, revoked_reason = $4
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Nullable<SqlUuid>, _>(keep)
    .bind::<Timestamptz, _>(now)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await
}

#[derive(Debug, Queryable)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn live_sessions(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<SessionRow>> {
    refresh_sessions::table
        .filter(refresh_sessions::user_id.eq(user))
        .filter(refresh_sessions::revoked_at.is_null())
        .filter(refresh_sessions::expires_at.gt(now))
        .order(refresh_sessions::created_at.desc())
        .select((
            refresh_sessions::id,
            refresh_sessions::user_agent,
            refresh_sessions::ip,
            refresh_sessions::created_at,
            refresh_sessions::last_used_at,
            refresh_sessions::expires_at,
        ))
        .load(conn)
        .await
}

/// Who a request acts as, loaded once per request by the extractor.
#[derive(Debug, QueryableByName)]
pub struct AccessContext {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Text)]
    pub tier: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub api_key_id: Option<Uuid>,
}

/// Context for an access token: the user is live and the session not revoked (so logout and password
/// change cut access at once, not after 15 minutes).
pub async fn context_for_session(
    conn: &mut AsyncPgConnection,
    user: UserId,
    session: Uuid,
) -> QueryResult<Option<AccessContext>> {
    diesel::sql_query(
        "SELECT u.id AS user_id, COALESCE(sub.tier_override, sub.tier, 'FREE') AS tier, NULL::uuid AS api_key_id
         FROM users u
         JOIN refresh_sessions s ON s.user_id = u.id AND s.id = $2 AND s.revoked_at IS NULL
         LEFT JOIN subscriptions sub ON sub.user_id = u.id
         WHERE u.id = $1 AND u.deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(session)
    .get_result(conn)
    .await
    .optional()
}

/// Context for an API key; also records `last_used_at`, at most once a minute.
pub async fn context_for_api_key(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<Option<AccessContext>> {
    diesel::sql_query(
        "WITH key AS (
            SELECT k.id, k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.deleted_at IS NULL),
          touched AS (
            UPDATE api_keys SET last_used_at = now()
            WHERE id = (SELECT id FROM key) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
         SELECT key.user_id, COALESCE(sub.tier_override, sub.tier, 'FREE') AS tier, key.id AS api_key_id
         FROM key LEFT JOIN subscriptions sub ON sub.user_id = key.user_id",
    )
    .bind::<Bytea, _>(key_hash)
    .get_result(conn)
    .await
    .optional()
}
