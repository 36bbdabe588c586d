//! Single-use links mailed to an account's owner: a forgotten password ([`super::reset`]) and the
//! confirmation of the address ([`super::email_verification`]). A link carries 256 random bits; only their
//! SHA-256 is stored, it works once and until it expires, and a new link ends the owner's older ones. Each
//! purpose has its own table with the same columns (`id`, `user_id`, `token_hash`, `expires_at`, `used_at`).

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Bytea, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::tokens;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    /// Its table; a constant of ours, never input.
    fn table(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_resets",
            Purpose::EmailVerification => "email_verifications",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "erpw_",
            Purpose::EmailVerification => "erev_",
        }
    }

    /// Whether `token` could be one of these links (anything else is not looked up).
    fn looks_like(self, token: &str) -> bool {
        token.starts_with(self.prefix()) && token.len() <= 100
    }
}

/// One live link: its row and the account it is for.
#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
pub struct Link {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
}

/// Stores a new link for `user` working until `expires_at`, ending the older ones; returns its token.
/// Run it inside a transaction: the delete and the insert belong together.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    user: UserId,
    expires_at: DateTime<Utc>,
) -> diesel::QueryResult<String> {
    let token = tokens::random_token(purpose.prefix());
    diesel::sql_query(format!("DELETE FROM {} WHERE user_id = $1", purpose.table()))
        .bind::<SqlUuid, _>(user)
        .execute(conn)
        .await?;
    diesel::sql_query(format!("INSERT INTO {} (user_id, token_hash, expires_at) VALUES ($1, $2, $3)", purpose.table()))
        .bind::<SqlUuid, _>(user)
        .bind::<Bytea, _>(tokens::hash_token(&token))
        .bind::<Timestamptz, _>(expires_at)
        .execute(conn)
        .await?;
    Ok(token)
}

/// The live (unused, unexpired) link `token` is, locked until the transaction ends; none for anything else.
pub async fn live(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<Link>> {
    if !purpose.looks_like(token) {
        return Ok(None);
    }
    diesel::sql_query(format!(
        "SELECT id, user_id FROM {} WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 FOR UPDATE",
        purpose.table()
    ))
    .bind::<Bytea, _>(tokens::hash_token(token))
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()
}

/// Marks `link` used: it works once.
pub async fn use_up(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    link: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(format!("UPDATE {} SET used_at = $2 WHERE id = $1", purpose.table()))
        .bind::<SqlUuid, _>(link)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_tokens_are_looked_up() {
        for purpose in [Purpose::PasswordReset, Purpose::EmailVerification] {
            assert!(purpose.looks_like(&tokens::random_token(purpose.prefix())));
            assert!(!purpose.looks_like("erh_abc"));
            assert!(!purpose.looks_like(&format!("{}{}", purpose.prefix(), "x".repeat(200))));
        }
        assert!(!Purpose::PasswordReset.looks_like(&tokens::random_token(Purpose::EmailVerification.prefix())));
    }
}
