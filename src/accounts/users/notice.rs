//! Account notices: emails to an account's owner that belong to no escalation (a payment failed, a
//! webhook endpoint answered 410 and was disabled). They go through the same mailer as notifications:
//! SMTP when configured, otherwise the outbox folder and the log, never lost silently.

use anyhow::Context;
use lettre::Message;
use lettre::message::header::ContentType;
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::store as users;
use crate::state::AppState;

/// One notice for the owner of an account.
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    pub text: String,
}

/// Sends `notice` to the email address of `user`. A deleted user gets nothing.
pub async fn email_owner(state: &AppState, user: UserId, notice: Notice) -> anyhow::Result<()> {
    let mut conn = state.db.get().await.context("database pool")?;
    let Some(owner) = users::find_live(&mut conn, user).await? else {
        return Ok(());
    };
    drop(conn);
    email_to(state, &owner.email, notice).await
}

/// Sends `notice` to `address`, someone outside the account (a trusted contact's invitation).
pub async fn email_to(state: &AppState, address: &str, notice: Notice) -> anyhow::Result<()> {
    let name = format!("notice-{}", Uuid::now_v7());
    let message = Message::builder()
        .from(state.mailer.from().clone())
        .to(address.parse().context("the recipient's email address")?)
        .subject(notice.subject)
        .message_id(Some(state.mailer.message_id(&name)))
        .header(ContentType::TEXT_PLAIN)
        .body(notice.text)
        .context("building the notice")?;
    state.mailer.send(&message, &name).await.context("sending the notice")?;
    tracing::info!(notice = %name, "notice sent");
    Ok(())
}
