//! `admin create`: creates an admin user from the command line, or promotes an existing account when the
//! operator says so.
//!
//! Registration is open and addresses are not verified, so an account with the admin's address may belong to
//! anyone who guessed it. It is never promoted silently: without `--promote-existing` the command refuses;
//! with it, the account's password becomes the operator's and every session and API key it had is revoked,
//! so whoever registered it first keeps nothing.

use std::sync::Arc;

use base64::Engine;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use reminder_core::ids::UserId;

use super::permissions::Role;
use crate::accounts::auth::password;
use crate::accounts::users::model::NewUser;
use crate::accounts::users::service::Revoked;
use crate::accounts::users::{service as users_service, store as users_store};
use crate::config::Config;
use crate::db;

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct AdminRequest {
    pub email: String,
    pub role: String,
    /// Read from stdin; generated and printed once when `None`.
    pub password: Option<String>,
    /// Take over an account that already has this address (`--promote-existing`).
    pub promote_existing: bool,
}

/// Creates (or, when asked, takes over) the admin. Prints a generated password once when none was given.
pub async fn create(config: Arc<Config>, request: AdminRequest) -> anyhow::Result<()> {
    let names = || Role::ALL.map(Role::as_str).join(", ");
    let role = Role::parse(&request.role).ok_or_else(|| anyhow::anyhow!("--admin-role must be one of {}", names()))?;
    let email = request.email.trim().to_ascii_lowercase();
    anyhow::ensure!(email.contains('@') && email.len() <= 254, "--email must be an email address");
    let (password, generated) = match request.password {
        Some(p) => (p, false),
        None => {
            let mut bytes = [0u8; 18];
            rand::rng().fill_bytes(&mut bytes);
            (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes), true)
        }
    };
    anyhow::ensure!((10..=128).contains(&password.chars().count()), "the password must be 10 to 128 characters");
    let mut conn = db::establish(&config, &config.database, "escalating-reminders-admin").await?;
    // Refused before any hashing or writing, so a refusal changes nothing.
    if !request.promote_existing && users_store::find_live_by_email(&mut conn, &email).await?.is_some() {
        anyhow::bail!(
            "an account with the email {email} already exists; it may have been registered by anyone, so it is not \
             promoted. Re-run with --promote-existing to take it over: its password is replaced, and all its \
             sessions and API keys are revoked"
        );
    }
    let hash = password::hash(password.clone()).await?;
    let tier = config.default_tier.as_str();
    let promote = request.promote_existing;
    let address = email.clone();
    let revoked = conn
        .transaction::<_, anyhow::Error, _>(async move |conn| {
            let (user, revoked) = match users_store::find_live_by_email(conn, &address).await? {
                Some(user) if promote => {
                    let now = chrono::Utc::now();
                    (user.id, Some(users_service::reset_password(conn, user.id, hash, "promoted to admin", now).await?))
                }
                // Registered between the check above and this transaction.
                Some(_) => anyhow::bail!("an account with the email {address} was just registered; re-run the command"),
                None => (insert_user(conn, &address, &hash).await?, None),
            };
            users_store::insert_subscription(conn, user, tier).await?;
            super::store::grant_role(conn, user, role).await?;
            Ok(revoked)
        })
        .await?;
    if let Some(Revoked { sessions, api_keys }) = revoked {
        println!(
            "existing account {email} taken over: password replaced, {sessions} session(s) and {api_keys} API key(s) revoked"
        );
    }
    println!("admin {email} has role {}", role.as_str());
    if generated {
        println!("generated password (shown once): {password}");
    }
    Ok(())
}

async fn insert_user(conn: &mut AsyncPgConnection, email: &str, hash: &str) -> anyhow::Result<UserId> {
    // The operator typed the address on the server itself: there is nobody to send a link to.
    let verified = Some(chrono::Utc::now());
    let new = NewUser {
        email,
        password_hash: hash,
        display_name: "Administrator",
        timezone: "UTC",
        email_verified_at: verified,
    };
    Ok(users_store::insert(conn, new).await?.id)
}
