//! Proof that an account's address is its owner's: a link mailed at sign-up, when this server sends email.
//! It is a [`super::links`] link, as a forgotten password's is (`email_verifications`): only its SHA-256 is
//! stored, it works once and for [`LINK_LIFETIME`], and a new one ends the older ones. A random token we
//! look up, rather than a signature we check, can be used once and ended early.
//!
//! Until the address is confirmed the account may add email channels only to that address
//! ([`check_may_email`]): otherwise a stranger's sign-up could make us mail any address it types. A server
//! that sends no email cannot deliver a link, so there accounts are created confirmed ([`required`]), as are
//! accounts that existed before verification (their migration says why).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};

use super::links::{self, Purpose};
use super::reset::dead_link;
use crate::accounts::users::model::User;
use crate::accounts::users::notice::{self, Notice};
use crate::accounts::users::store as user_store;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// How long a link works.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::hours(48);
/// Links an account may ask for per hour (before `RATE_LIMIT_MULTIPLIER`).
const RESENDS_PER_HOUR: f64 = 3.0;
/// Where the mailed link opens: a console page that confirms with one press.
pub const PAGE_PATH: &str = "/verify-email";

/// `POST /v1/auth/verify-email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyEmailInput {
    /// The token at the end of the mailed link (`…/verify-email/erev_…`).
    #[schema(max_length = 100, example = "erev_3q2+7w…")]
    pub token: String,
}

/// The address a link confirmed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailVerifiedView {
    pub email: String,
    pub email_verified: bool,
    pub email_verified_at: DateTime<Utc>,
}

/// Whether new accounts must confirm their address: only when this server sends email, since otherwise no
/// link could reach them.
pub fn required(state: &AppState) -> bool {
    state.mailer.sends_email()
}

/// Stores a new link for `user` (ending the older ones) inside the caller's transaction; returns the token
/// to mail.
pub async fn issue(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> QueryResult<String> {
    links::issue(conn, Purpose::EmailVerification, user, now + LINK_LIFETIME).await
}

/// Mails the link with `token` to the account's address, after the answer: the mail's time is not the
/// request's, and a failed send is logged (the owner can ask again).
pub fn mail_link(state: &AppState, user: &User, token: &str) {
    let link = format!("{}{PAGE_PATH}/{token}", state.config.api_url.as_str().trim_end_matches('/'));
    let text = format!(
        "Hello {},\n\nplease confirm that this address is yours, so your Escalating Reminders account can \
         send reminders to other addresses too:\n{link}\n\nThe link works once, within {} hours. If you did \
         not sign up, ignore this email.\n",
        user.display_name,
        LINK_LIFETIME.num_hours()
    );
    let notice = Notice { subject: "Confirm your email address".to_owned(), text };
    let (state, address) = (state.clone(), user.email.clone());
    tokio::spawn(async move {
        if let Err(err) = notice::email_to(&state, &address, notice).await {
            tracing::warn!(error = format!("{err:#}"), "the email verification link was not sent");
        }
    });
}

/// `POST /v1/auth/verify-email/resend`: a new link for an unconfirmed account; 409 once confirmed, 429
/// beyond [`RESENDS_PER_HOUR`].
pub async fn resend(state: &AppState, user: UserId) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let row = user_store::find_live(&mut conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    if row.email_verified_at.is_some() {
        return Err(ApiError::conflict("Your email address is already confirmed."));
    }
    let limit = (RESENDS_PER_HOUR * state.config.rate_limit_multiplier).round().max(1.0) as u64;
    let key = format!("rl:verify-email:{}", user.0.simple());
    state.limiter.hit(&state.redis, &key, limit, Duration::from_secs(3600)).await.into_result()?;
    let token = issue(&mut conn, user, state.clock.now()).await?;
    drop(conn);
    mail_link(state, &row, &token);
    Ok(())
}

/// Confirms the address through the link `token` (once). A link that does not work (unknown, used, expired
/// or superseded alike) is 422.
pub async fn confirm(state: &AppState, token: &str) -> Result<EmailVerifiedView, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let user = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let link = links::live(conn, Purpose::EmailVerification, token, now).await?.ok_or_else(dead_link)?;
            links::use_up(conn, Purpose::EmailVerification, link.id, now).await?;
            user_store::mark_email_verified(conn, link.user_id, now).await?;
            user_store::find_live(conn, link.user_id).await?.ok_or_else(dead_link)
        })
        .await?;
    tracing::info!(user.id = %user.id, "email address confirmed through the mailed link");
    let email_verified_at = user.email_verified_at.unwrap_or(now);
    Ok(EmailVerifiedView { email: user.email, email_verified: true, email_verified_at })
}

/// Whether the live link `token` still works (the console page asks before showing its button).
pub async fn check(state: &AppState, token: &str) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let live = links::live(&mut conn, Purpose::EmailVerification, token, state.clock.now()).await?;
    live.map(drop).ok_or_else(dead_link)
}

/// The rule for email channels: an account whose address is not confirmed may send email only to that
/// address (`address` already normalised). 403 `EMAIL_NOT_VERIFIED` otherwise.
pub async fn check_may_email(conn: &mut AsyncPgConnection, user: UserId, address: &str) -> Result<(), ApiError> {
    let row = user_store::find_live(conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    if row.email_verified_at.is_some() || row.email.eq_ignore_ascii_case(address) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::EmailNotVerified,
        format!(
            "Confirm your own email address first: we sent a link to {}. Until then email channels can only go \
             to that address.",
            row.email
        ),
    ))
}
