//! `admin create`: creates (or promotes) an admin user from the command line.

use std::sync::Arc;

use base64::Engine;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use rand::RngCore;

use super::permissions::Role;
use crate::auth::password;
use crate::config::Config;
use crate::db;

/// Creates the admin. Prints a generated password once when none was given on stdin.
pub async fn create(config: Arc<Config>, email: &str, role: &str, password: Option<String>) -> anyhow::Result<()> {
    let names = || Role::ALL.map(Role::as_str).join(", ");
    let role = Role::parse(role).ok_or_else(|| anyhow::anyhow!("--admin-role must be one of {}", names()))?.as_str();
    let email = email.trim().to_ascii_lowercase();
    anyhow::ensure!(email.contains('@') && email.len() <= 254, "--email must be an email address");
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => {
            let mut bytes = [0u8; 18];
            rand::rng().fill_bytes(&mut bytes);
            (base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes), true)
        }
    };
    anyhow::ensure!((10..=128).contains(&password.chars().count()), "the password must be 10 to 128 characters");
    let hash = password::hash(password.clone()).await?;
    let mut conn = db::establish(&config, &config.database, "escalating-reminders-admin").await?;
    let conn = &mut conn;
    let tier = config.default_tier.as_str();
    diesel::sql_query(
        "WITH existing AS (SELECT id FROM users WHERE lower(email) = $1 AND deleted_at IS NULL),
              created AS (
                INSERT INTO users (email, password_hash, display_name)
                SELECT $1, $2, 'Administrator' WHERE NOT EXISTS (SELECT 1 FROM existing)
                RETURNING id),
              account AS (SELECT id FROM existing UNION ALL SELECT id FROM created),
              sub AS (INSERT INTO subscriptions (user_id, tier) SELECT id, $4 FROM account ON CONFLICT (user_id) DO NOTHING)
         INSERT INTO admin_users (user_id, role) SELECT id, $3 FROM account
         ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind::<Text, _>(&email)
    .bind::<Text, _>(&hash)
    .bind::<Text, _>(role)
    .bind::<Text, _>(tier)
    .execute(conn)
    .await?;
    println!("admin {email} has role {role}");
    if generated {
        println!("generated password (shown once): {password}");
    }
    Ok(())
}
