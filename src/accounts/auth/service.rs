//! Account rules: registration, login, refresh rotation with reuse detection, logout.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::model::{AuthResult, LoginInput, RefreshInput, RegisterInput, SessionView, TokenPair};
use super::{email_verification, login_limits, password, store, tokens};
use crate::accounts::users::model::{NewUser, UserView};
use crate::accounts::users::{service as users_service, store as users_store};
use crate::http::ApiError;
use crate::state::AppState;

/// Where a login came from (kept on the session for the user's session list).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The client's network as rate limits count it (`http::client_ip::network_key`).
    pub network: String,
}

const INVALID_LOGIN: &str = "Invalid email or password.";

/// Creates the account, its subscription row and a first session in one transaction.
pub async fn register(state: &AppState, input: RegisterInput, client: ClientInfo) -> Result<AuthResult, ApiError> {
    let mut errors = Vec::new();
    let email = users_service::normalise_email(&input.email, &mut errors);
    users_service::check_password("password", &input.password, &mut errors);
    let display_name = users_service::clean_display_name(&input.display_name, &mut errors);
    let timezone = match input.timezone.as_deref() {
        None => "UTC".to_owned(),
        Some(zone) => users_service::check_timezone("timezone", zone, &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let hash = password::hash(input.password).await?;
    let tier = state.config.default_tier.as_str();
    let now = state.clock.now();
    let refresh = tokens::random_token("ert_");
    let refresh_hash_source = refresh.clone();
    // Without outgoing mail no link could arrive: the account starts confirmed (see email_verification).
    let verify = email_verification::required(state);
    let email_verified_at = (!verify).then_some(now);
    let mut conn = state.db.get().await?;
    let (user, session, link) = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            if users_store::find_live_by_email(conn, &email).await?.is_some() {
                return Err(ApiError::conflict("An account with this email already exists."));
            }
            let new = NewUser {
                email: &email,
                password_hash: &hash,
                display_name: &display_name,
                timezone: &timezone,
                email_verified_at,
            };
            let user = users_store::insert(conn, new).await?;
            users_store::insert_subscription(conn, user.id, tier).await?;
            let session = open_session(conn, user.id, &client, &refresh_hash_source, now).await?;
            let link = if verify { Some(email_verification::issue(conn, user.id, now).await?) } else { None };
            Ok((user, session, link))
        })
        .await
        // Two registrations racing for one address: the unique index decides, the loser gets the same 409.
        .map_err(|err| match err.code() {
            crate::http::ErrorCode::Conflict => ApiError::conflict("An account with this email already exists."),
            _ => err,
        })?;
    tracing::info!(user.id = %user.id, "account registered");
    if let Some(token) = link {
        email_verification::mail_link(state, &user, &token);
    }
    let tokens = pair(state, user.id, session, refresh, now)?;
    Ok(AuthResult { user: UserView::from_row(user, tier), tokens })
}

/// Checks the password; a missing account costs the same hashing time as a wrong password.
pub async fn login(state: &AppState, input: LoginInput, client: ClientInfo) -> Result<AuthResult, ApiError> {
    let email = input.email.trim().to_ascii_lowercase();
    if email.is_empty() || email.len() > 254 || input.password.is_empty() || input.password.chars().count() > 128 {
        return Err(ApiError::unauthorized(INVALID_LOGIN));
    }
    login_limits::check(state, &email, &client.network).await?;
    let mut conn = state.db.get().await?;
    let user = users_store::find_live_by_email(&mut conn, &email).await?;
    let stored = user.as_ref().map_or_else(|| password::dummy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = password::verify(input.password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(ApiError::unauthorized(INVALID_LOGIN));
    };
    login_limits::succeeded(state, &email, &client.network).await;
    let now = state.clock.now();
    let refresh = tokens::random_token("ert_");
    let session = open_session(&mut conn, user.id, &client, &refresh, now).await?;
    let tier = users_store::tier_of(&mut conn, user.id).await?;
    let tokens = pair(state, user.id, session, refresh, now)?;
    Ok(AuthResult { user: UserView::from_row(user, &tier), tokens })
}

/// Rotates a refresh token. A token that was already rotated is a sign of theft: the whole family is
/// revoked. Of two concurrent refreshes of one token exactly one wins; the other gets 401.
pub async fn refresh(state: &AppState, input: RefreshInput) -> Result<TokenPair, ApiError> {
    let invalid = || ApiError::unauthorized("The refresh token is invalid or expired.");
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let Some(found) = store::find_token(&mut conn, &tokens::hash_token(&input.refresh_token)).await? else {
        return Err(invalid());
    };
    if found.session_revoked_at.is_some() || found.user_deleted_at.is_some() || found.expires_at <= now {
        return Err(invalid());
    }
    if found.rotated_at.is_some() {
        store::revoke_session(&mut conn, found.user_id, found.session_id, "refresh token reused", now).await?;
        tracing::warn!(user.id = %found.user_id, session.id = %found.session_id, "refresh token reuse; session revoked");
        return Err(invalid());
    }
    let next = tokens::random_token("ert_");
    let expires = now + Duration::seconds(tokens::REFRESH_TTL_SECS);
    let won = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if !store::mark_rotated(conn, found.token_id, now).await? {
                return Ok(false);
            }
            store::insert_token(conn, found.session_id, &tokens::hash_token(&next), expires).await?;
            store::touch_session(conn, found.session_id, now, expires).await?;
            Ok(true)
        })
        .await?;
    if !won {
        return Err(invalid());
    }
    pair(state, found.user_id, found.session_id, next, now)
}

/// Revokes the session of a refresh token. Answers the same whether or not the token was valid.
pub async fn logout(state: &AppState, input: RefreshInput) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    if let Some(found) = store::find_token(&mut conn, &tokens::hash_token(&input.refresh_token)).await? {
        store::revoke_session(&mut conn, found.user_id, found.session_id, "logout", state.clock.now()).await?;
    }
    Ok(())
}

pub async fn sessions(state: &AppState, user: UserId, current: Option<Uuid>) -> Result<Vec<SessionView>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = store::live_sessions(&mut conn, user, state.clock.now()).await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionView {
            id: row.id,
            user_agent: row.user_agent,
            ip: row.ip,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            current: Some(row.id) == current,
        })
        .collect())
}

pub async fn revoke_session(state: &AppState, user: UserId, session: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    if store::revoke_session(&mut conn, user, session, "revoked by user", state.clock.now()).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("Session"))
    }
}

pub(super) async fn open_session(
    conn: &mut AsyncPgConnection,
    user: UserId,
    client: &ClientInfo,
    refresh: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, ApiError> {
    let expires = now + Duration::seconds(tokens::REFRESH_TTL_SECS);
    let user_agent = client.user_agent.as_deref().map(|ua| truncate(ua, 256));
    Ok(store::create_session(
        conn,
        user,
        user_agent.as_deref(),
        client.ip.as_deref(),
        &tokens::hash_token(refresh),
        expires,
    )
    .await?)
}

pub(super) fn pair(
    state: &AppState,
    user: UserId,
    session: Uuid,
    refresh: String,
    now: DateTime<Utc>,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: tokens::issue_access(&state.config, user, session, now)?,
        refresh_token: refresh,
        expires_in: tokens::ACCESS_TTL_SECS,
    })
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Revokes every session of `user` but `keep` (inside the caller's transaction).
pub async fn revoke_other_sessions(
    conn: &mut AsyncPgConnection,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    Ok(store::revoke_all_sessions(conn, user, keep, reason, now).await?)
}
