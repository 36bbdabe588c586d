//! User rules: input cleaning shared with registration, profile updates, password change, deletion.

use chrono::{DateTime, NaiveTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::model::{PasswordChange, QuietHours, UserPatch, UserView};
use super::store::{self, UserChanges};
use crate::accounts::auth::password;
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 128;
const DISPLAY_NAME_MAX: usize = 100;
const PREFERENCES_MAX_BYTES: usize = 16 * 1024;

/// Trims and lowercases an email; records an error when it is not a plausible address.
pub fn normalise_email(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let email = raw.trim().to_ascii_lowercase();
    let plausible = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && email.matches('@').count() == 1;
    if !plausible {
        errors.push(FieldError::new("email", "must be an email address such as name@example.com"));
    }
    email
}

/// Length is counted in characters, not bytes, so non-ASCII passwords are measured as people count them.
pub fn check_password(field: &str, password: &str, errors: &mut Vec<FieldError>) {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        errors.push(FieldError::new(field, format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")));
    }
}

pub fn clean_display_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX || name.chars().any(char::is_control) {
        errors.push(FieldError::new("displayName", format!("must be 1 to {DISPLAY_NAME_MAX} characters")));
    }
    name
}

/// Returns the canonical zone name, or records an error.
pub fn check_timezone(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    match reminder_core::timezone::parse_zone(raw.trim()) {
        Some(zone) => zone.name().to_owned(),
        None => {
            errors.push(FieldError::new(field, "must be an IANA time zone such as Europe/Berlin"));
            raw.to_owned()
        }
    }
}

fn parse_clock(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveTime> {
    let parsed = NaiveTime::parse_from_str(raw.trim(), "%H:%M").ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, "must be a time as HH:MM (24-hour)"));
    }
    parsed
}

/// Checks quiet hours given as `HH:MM` (`field.start`, `field.end`, distinct) and returns the start and end
/// to store; a user's and a trusted contact's are read by the same rules.
pub fn check_quiet_hours(
    field: &str,
    hours: &QuietHours,
    errors: &mut Vec<FieldError>,
) -> (Option<NaiveTime>, Option<NaiveTime>) {
    let start = parse_clock(&format!("{field}.start"), &hours.start, errors);
    let end = parse_clock(&format!("{field}.end"), &hours.end, errors);
    if start.is_some() && start == end {
        errors.push(FieldError::new(field, "start and end must differ"));
    }
    (start, end)
}

pub async fn me(state: &AppState, user: UserId) -> Result<UserView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find_live(&mut conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    let tier = store::tier_of(&mut conn, user).await?;
    Ok(UserView::from_row(row, &tier))
}

pub async fn update_me(state: &AppState, user: UserId, patch: UserPatch) -> Result<UserView, ApiError> {
    let mut errors = Vec::new();
    let mut changes = UserChanges::default();
    if let Some(name) = &patch.display_name {
        changes.display_name = Some(clean_display_name(name, &mut errors));
    }
    if let Some(zone) = &patch.timezone {
        changes.timezone = Some(check_timezone("timezone", zone, &mut errors));
    }
    match &patch.quiet_hours {
        None => {}
        Some(None) => {
            changes.quiet_hours_start = Some(None);
            changes.quiet_hours_end = Some(None);
        }
        Some(Some(hours)) => {
            let (start, end) = check_quiet_hours("quietHours", hours, &mut errors);
            changes.quiet_hours_start = Some(start);
            changes.quiet_hours_end = Some(end);
        }
    }
    if let Some(preferences) = patch.preferences {
        if !preferences.is_object() || preferences.to_string().len() > PREFERENCES_MAX_BYTES {
            errors.push(FieldError::new("preferences", "must be a JSON object of at most 16 KiB"));
        }
        changes.preferences = Some(preferences);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.db.get().await?;
    let row = store::update(&mut conn, user, &changes).await?;
    let tier = store::tier_of(&mut conn, user).await?;
    Ok(UserView::from_row(row, &tier))
}

/// Changes the password and revokes every other session, and every API key when the caller asks
/// (`revokeApiKeys`: a key made by whoever knew the old password outlives a session otherwise).
pub async fn change_password(
    state: &AppState,
    user: UserId,
    current_session: Option<Uuid>,
    input: PasswordChange,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    check_password("newPassword", &input.new_password, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.db.get().await?;
    let row = store::find_live(&mut conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    if !password::verify(input.current_password, row.password_hash).await? {
        return Err(ApiError::unauthorized("The current password is wrong."));
    }
    let hash = password::hash(input.new_password).await?;
    let now = state.clock.now();
    let revoke_api_keys = input.revoke_api_keys;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        replace_password(conn, user, hash, current_session, revoke_api_keys, "password changed", now).await.map(drop)
    })
    .await
}

/// What a password replacement revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: usize,
    pub api_keys: usize,
}

/// Sets a new password hash and revokes every session but `keep`, and the API keys when `revoke_api_keys`
/// (inside the caller's transaction).
pub async fn replace_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: String,
    keep: Option<Uuid>,
    revoke_api_keys: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Revoked, ApiError> {
    store::update(conn, user, &UserChanges { password_hash: Some(hash), ..Default::default() }).await?;
    let sessions = crate::accounts::auth::service::revoke_other_sessions(conn, user, keep, reason, now).await?;
    let api_keys =
        if revoke_api_keys { crate::accounts::auth::api_keys::revoke_all(conn, user, now).await? } else { 0 };
    Ok(Revoked { sessions, api_keys })
}

/// A password reset by anyone but the signed-in holder (today only `admin create --promote-existing`): the old
/// password may be in someone else's hands, so every session and every API key goes with it.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: String,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Revoked, ApiError> {
    replace_password(conn, user, hash, None, true, reason, now).await
}

/// Soft-deletes the account and revokes its sessions and API keys in the same transaction.
pub async fn delete_me(state: &AppState, user: UserId) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| delete_account(conn, user, now).await).await
}

/// What deleting an account does, inside the caller's transaction (the user's own deletion, or an admin's
/// with its log row): the soft delete, and every session and API key revoked.
pub async fn delete_account(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> Result<(), ApiError> {
    store::soft_delete(conn, user, now).await?;
    crate::accounts::auth::service::revoke_other_sessions(conn, user, None, "account deleted", now).await?;
    crate::accounts::auth::api_keys::revoke_all(conn, user, now).await?;
    Ok(())
}
