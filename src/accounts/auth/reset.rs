//! Forgotten passwords, when this server sends email (`SMTP_URL` or `SENDGRID_API_KEY`): a link to set a
//! new password, mailed to the account's address. The link carries 256 random bits; only their SHA-256 is
//! stored, it works once and for [`LINK_LIFETIME`], and asking again ends the older links. Setting the new
//! password revokes every session and refresh token, as a password change does.
//!
//! Whether an address has an account is never told: a request is answered the same either way, and the
//! mail is sent after the answer, so its time does not tell either.

use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::{password, tokens};
use crate::accounts::users::notice::{self, Notice};
use crate::accounts::users::{service as users, store as user_store};
use crate::db::schema::password_resets;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// How long a link works.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::hours(1);
const TOKEN_PREFIX: &str = "erpw_";
/// Links mailed to one address per hour; further requests are answered alike and send nothing.
const PER_ADDRESS_PER_HOUR: f64 = 3.0;
/// Requests from one network per hour (before `RATE_LIMIT_MULTIPLIER`).
const PER_NETWORK_PER_HOUR: f64 = 20.0;

/// True when this server can mail a link; otherwise there is no forgotten-password page.
pub fn available(state: &AppState) -> bool {
    state.mailer.sends_email()
}

fn unavailable() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route.")
}

/// The answer to a link that does not work (unknown, used, expired or superseded alike): 422.
pub fn dead_link() -> ApiError {
    ApiError::new(ErrorCode::UnprocessableEntity, "This link has expired or was already used. Ask for a new one.")
}

/// True for [`dead_link`]'s error.
pub fn is_dead_link(err: &ApiError) -> bool {
    err.code() == ErrorCode::UnprocessableEntity
}

async fn within(state: &AppState, key: String, per_hour: f64) -> bool {
    let limit = (per_hour * state.config.rate_limit_multiplier).round().max(1.0) as u64;
    state.limiter.hit(&state.redis, &key, limit, Duration::from_secs(3600)).await.into_result().is_ok()
}

/// Mails a link to `email` if it belongs to a live account. The answer is the same whether it does or
/// not; only too many requests from one `network` (the caller's [`crate::http::client_ip::network_key`])
/// are refused (429).
pub async fn request(state: &AppState, email: &str, network: &str) -> Result<(), ApiError> {
    if !available(state) {
        return Err(unavailable());
    }
    if !within(state, format!("rl:pwreset:net:{network}"), PER_NETWORK_PER_HOUR).await {
        return Err(ApiError::RateLimited { retry_after_secs: 3600 });
    }
    let mut errors = Vec::new();
    let email = users::normalise_email(email, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let address_key = format!("rl:pwreset:addr:{}", hex::encode(tokens::hash_token(&email)));
    if !within(state, address_key, PER_ADDRESS_PER_HOUR).await {
        return Ok(());
    }
    let mut conn = state.db.get().await?;
    let Some(user) = user_store::find_live_by_email(&mut conn, &email).await? else { return Ok(()) };
    let token = tokens::random_token(TOKEN_PREFIX);
    let now = state.clock.now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        // One open link at a time: the newest mail is the one that works.
        diesel::delete(password_resets::table.filter(password_resets::user_id.eq(user.id))).execute(conn).await?;
        diesel::insert_into(password_resets::table)
            .values((
                password_resets::user_id.eq(user.id),
                password_resets::token_hash.eq(tokens::hash_token(&token)),
                password_resets::expires_at.eq(now + LINK_LIFETIME),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    drop(conn);
    let link = format!("{}/password/reset/{token}", state.config.api_url.as_str().trim_end_matches('/'));
    let text = format!(
        "Hello {},\n\nsomeone (we hope you) asked to set a new password for your Escalating Reminders account.\n\n\
         Set a new password here (the link works once, within {} minutes):\n{link}\n\n\
         Setting it signs out every browser and app that is signed in to your account. If you did not ask, \
         ignore this email: your password stays as it is.\n",
        user.display_name,
        LINK_LIFETIME.num_minutes()
    );
    let notice = Notice { subject: "Set a new password".to_owned(), text };
    let (state, address) = (state.clone(), user.email);
    tokio::spawn(async move {
        if let Err(err) = notice::email_to(&state, &address, notice).await {
            tracing::warn!(error = format!("{err:#}"), "the password reset email was not sent");
        }
    });
    Ok(())
}

/// The live link with `token_hash`, locked for this transaction.
async fn live_link(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Option<(Uuid, UserId)>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select((password_resets::id, password_resets::user_id))
        .for_update()
        .first(conn)
        .await
        .optional()
}

fn looks_like_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX) && token.len() <= 100
}

/// Whether `token` is a link that still works (the page asks before showing the form).
pub async fn check(state: &AppState, token: &str) -> Result<(), ApiError> {
    if !available(state) {
        return Err(unavailable());
    }
    if !looks_like_token(token) {
        return Err(dead_link());
    }
    let mut conn = state.db.get().await?;
    live_link(&mut conn, &tokens::hash_token(token), state.clock.now()).await?.map(drop).ok_or_else(dead_link)
}

/// Sets `new_password` through the link `token` (once) and ends every session and refresh token of the
/// account. API keys stay: the holder of the mailbox is the owner, who may have handed keys to devices.
pub async fn complete(state: &AppState, token: &str, new_password: String) -> Result<(), ApiError> {
    if !available(state) {
        return Err(unavailable());
    }
    let mut errors = Vec::new();
    users::check_password("password", &new_password, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if !looks_like_token(token) {
        return Err(dead_link());
    }
    let hash = password::hash(new_password).await?;
    let token_hash = tokens::hash_token(token);
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let (link, user) = live_link(conn, &token_hash, now).await?.ok_or_else(dead_link)?;
        if user_store::find_live(conn, user).await?.is_none() {
            return Err(dead_link());
        }
        diesel::update(password_resets::table.find(link)).set(password_resets::used_at.eq(now)).execute(conn).await?;
        let revoked = users::replace_password(conn, user, hash, None, false, "password reset by email", now).await?;
        tracing::info!(user.id = %user, sessions = revoked.sessions, "password reset through an emailed link");
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_our_tokens_are_looked_up() {
        let token = super::tokens::random_token(super::TOKEN_PREFIX);
        assert!(super::looks_like_token(&token));
        assert!(!super::looks_like_token("erh_abc"));
        assert!(!super::looks_like_token(&format!("erpw_{}", "x".repeat(200))));
    }
}
