//! Account notices: emails to an account's owner that belong to no escalation (a payment failed, a
//! webhook endpoint answered 410 and was disabled). They are never lost: until a mailer is configured
//! they go to the outbox folder and the log, like every other email.

use anyhow::Context;
use uuid::Uuid;

use crate::state::AppState;
use crate::users::store as users;

/// One notice for the owner of an account.
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    pub text: String,
}

/// Sends `notice` to the email address of `user`. A deleted user gets nothing.
pub async fn email_owner(state: &AppState, user: Uuid, notice: Notice) -> anyhow::Result<()> {
    let mut conn = state.db.get().await.context("database pool")?;
    let Some(owner) = users::find_live(&mut conn, user).await? else {
        return Ok(());
    };
    drop(conn);
    email_to(state, &owner.email, notice).await
}

/// Sends `notice` to `address`, someone outside the account (a trusted contact's invitation).
pub async fn email_to(state: &AppState, address: &str, notice: Notice) -> anyhow::Result<()> {
    let id = Uuid::now_v7();
    let message = format!(
        "From: {}\r\nTo: {}\r\nMessage-ID: <notice-{id}@escalating-reminders>\r\nSubject: {}\r\n\r\n{}\r\n",
        state.config.email_from, address, notice.subject, notice.text
    );
    let dir = &state.config.email_outbox_dir;
    tokio::fs::create_dir_all(dir).await.context("outbox folder")?;
    let path = dir.join(format!("notice-{id}.eml"));
    tokio::fs::write(&path, message).await.context("outbox write")?;
    tracing::info!(path = %path.display(), "notice written to the outbox");
    Ok(())
}
