//! `oidc_flows` and `user_identities`: the sign-ins under way and the Google accounts linked to ours.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use crate::db::schema::{oidc_flows, user_identities, users};

pub const PROVIDER: &str = "google";

#[derive(Debug, Insertable)]
#[diesel(table_name = oidc_flows)]
pub struct NewFlow<'a> {
    pub state_hash: &'a [u8],
    pub browser_hash: &'a [u8],
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub next: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = oidc_flows)]
pub struct Flow {
    pub browser_hash: Vec<u8>,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a new flow, and forgets the ones that ran out (few: a flow lives ten minutes).
pub async fn insert_flow(conn: &mut AsyncPgConnection, flow: NewFlow<'_>, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::delete(oidc_flows::table.filter(oidc_flows::expires_at.lt(now))).execute(conn).await?;
    diesel::insert_into(oidc_flows::table).values(flow).execute(conn).await?;
    Ok(())
}

/// Reads and deletes the flow of `state_hash` in one statement: of two callbacks with one state, one gets it.
pub async fn take_flow(conn: &mut AsyncPgConnection, state_hash: &[u8]) -> QueryResult<Option<Flow>> {
    diesel::delete(oidc_flows::table.find(state_hash)).returning(Flow::as_returning()).get_result(conn).await.optional()
}

/// The live account a Google subject is linked to.
pub async fn linked_user(conn: &mut AsyncPgConnection, subject: &str) -> QueryResult<Option<UserId>> {
    user_identities::table
        .inner_join(users::table)
        .filter(user_identities::provider.eq(PROVIDER))
        .filter(user_identities::subject.eq(subject))
        .filter(users::deleted_at.is_null())
        .select(user_identities::user_id)
        .first(conn)
        .await
        .optional()
}

/// Links `subject` to `user` (a link to a deleted account is moved), noting the address and the time.
pub async fn link(
    conn: &mut AsyncPgConnection,
    subject: &str,
    user: UserId,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(user_identities::table)
        .values((
            user_identities::provider.eq(PROVIDER),
            user_identities::subject.eq(subject),
            user_identities::user_id.eq(user),
            user_identities::email.eq(email),
            user_identities::created_at.eq(now),
            user_identities::last_used_at.eq(now),
        ))
        .on_conflict((user_identities::provider, user_identities::subject))
        .do_update()
        .set((
            user_identities::user_id.eq(user),
            user_identities::email.eq(email),
            user_identities::last_used_at.eq(now),
        ))
        .execute(conn)
        .await
}
