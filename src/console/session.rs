//! Cookie sessions of the console: a random token in an HttpOnly cookie, only its SHA-256 in
//! `console_sessions`, a new one at every sign-in, 12 hours idle and 30 days at most. Each belongs to the
//! login session (`refresh_sessions`) that sign-in opened, so revoking that ends this one too.

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::LocalBoxFuture;
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::csrf;
use super::error::ConsoleError;
use crate::accounts::auth::{AuthUser, tokens};
use crate::config::Config;
use crate::db::schema::{console_sessions, refresh_sessions};
use crate::http::ApiError;
use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "er_session";
/// A session unused this long is over.
pub const IDLE: TimeDelta = TimeDelta::hours(12);
/// A session is over this long after sign-in, used or not.
pub const ABSOLUTE: TimeDelta = TimeDelta::days(30);
/// `last_seen_at` is written at most this often.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// The signed-in person a page is for.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: UserId,
    pub session_id: Uuid,
    pub refresh_session_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub tz: Tz,
    /// Whether the user has confirmed their address (read with the session: the home page's card needs it).
    pub email_verified: bool,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Whether the person holds an admin role, read with the session: only the nav's "Admin" link uses it;
    /// the admin pages ask `admin::store::admin_role` themselves.
    pub is_admin: bool,
}

impl Viewer {
    /// 403 unless `given` is this session's form token. Call before changing anything.
    pub fn check_csrf(&self, config: &Config, given: &str) -> Result<(), ConsoleError> {
        if csrf::verify(config, &binding(self.session_id), given) { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }

    /// The zone's name, for the templates' time filters.
    pub fn zone(&self) -> &'static str {
        self.tz.name()
    }
}

fn binding(session: Uuid) -> String {
    format!("session:{session}")
}

/// The value of cookie `name` in the request's `Cookie` header.
pub fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure when the app is served over https.
pub fn set_cookie(config: &Config, name: &str, value: &str, max_age: TimeDelta) -> String {
    set_cookie_at(config, "/", name, value, max_age)
}

/// [`set_cookie`] for the paths under `path` only.
pub fn set_cookie_at(config: &Config, path: &str, name: &str, value: &str, max_age: TimeDelta) -> String {
    let secure = if config.api_url.scheme() == "https" { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.num_seconds())
}

/// Opens a console session inside the login session `refresh_session` and returns the cookie value.
pub async fn start(state: &AppState, user: UserId, refresh_session: Uuid) -> Result<String, ApiError> {
    let now = state.clock.now();
    let token = tokens::random_token("ercs_");
    let mut conn = state.db.get().await?;
    // The user's sessions that are over are forgotten here, so the table holds live ones plus a few.
    diesel::delete(
        console_sessions::table
            .filter(console_sessions::user_id.eq(user))
            .filter(console_sessions::expires_at.le(now).or(console_sessions::last_seen_at.le(now - IDLE))),
    )
    .execute(&mut conn)
    .await?;
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::refresh_session_id.eq(refresh_session),
            console_sessions::user_id.eq(user),
            console_sessions::token_hash.eq(tokens::hash_token(&token)),
            console_sessions::last_seen_at.eq(now),
            console_sessions::expires_at.eq(now + ABSOLUTE),
        ))
        .execute(&mut conn)
        .await?;
    // The login session lives as long as the console session, so the user's session list shows it.
    diesel::update(refresh_sessions::table.find(refresh_session))
        .set(refresh_sessions::expires_at.eq(now + ABSOLUTE))
        .execute(&mut conn)
        .await?;
    Ok(token)
}

/// Ends the session: the row is deleted and its login session revoked.
pub async fn end(state: &AppState, viewer: &Viewer) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    diesel::delete(console_sessions::table.find(viewer.session_id)).execute(&mut conn).await?;
    drop(conn);
    // Already revoked elsewhere is fine: the session is over either way.
    match crate::accounts::auth::service::revoke_session(state, viewer.user_id, viewer.refresh_session_id).await {
        Ok(()) => Ok(()),
        Err(err) if err.code() == crate::http::ErrorCode::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

#[derive(Debug, QueryableByName)]
struct Found {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    refresh_session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Timestamptz)]
    last_seen_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    tier: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    email_verified: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_admin: bool,
}

/// The live session of a cookie: not expired (idle or absolute), its login session not revoked, its user
/// not deleted. Times are the app's clock, so tests can let a session go stale.
async fn find(conn: &mut AsyncPgConnection, token: &str, now: DateTime<Utc>) -> QueryResult<Option<Found>> {
    diesel::sql_query(
        "SELECT cs.id, cs.refresh_session_id, cs.user_id, cs.last_seen_at,
                COALESCE(sub.tier_override, sub.tier, 'FREE') AS tier, u.display_name, u.email, u.timezone,
                u.email_verified_at IS NOT NULL AS email_verified,
                EXISTS (SELECT 1 FROM admin_users a WHERE a.user_id = u.id AND a.revoked_at IS NULL) AS is_admin
         FROM console_sessions cs
         JOIN refresh_sessions rs ON rs.id = cs.refresh_session_id AND rs.revoked_at IS NULL
         JOIN users u ON u.id = cs.user_id AND u.deleted_at IS NULL
         LEFT JOIN subscriptions sub ON sub.user_id = u.id
         WHERE cs.token_hash = $1 AND cs.expires_at > $2 AND cs.last_seen_at > $3",
    )
    .bind::<Bytea, _>(tokens::hash_token(token))
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now - IDLE)
    .get_result(conn)
    .await
    .optional()
}

/// Where to come back to after signing in: this page for a GET, the home page otherwise.
fn next_of(req: &HttpRequest) -> String {
    if req.method() != Method::GET {
        return "/".to_owned();
    }
    match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    }
}

impl FromRequest for Viewer {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = cookie(req, COOKIE).map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let sign_in = || ConsoleError::SignIn { next: next_of(&req) };
            let token = token.ok_or_else(sign_in)?;
            let now = state.clock.now();
            let mut conn = state.db.get().await?;
            let found = find(&mut conn, &token, now).await.map_err(ApiError::from)?.ok_or_else(sign_in)?;
            if now - found.last_seen_at > TOUCH_EVERY {
                diesel::update(console_sessions::table.find(found.id))
                    .set(console_sessions::last_seen_at.eq(now))
                    .execute(&mut conn)
                    .await
                    .map_err(ApiError::from)?;
            }
            drop(conn);
            let user = AuthUser {
                id: found.user_id,
                tier: found.tier.clone(),
                session_id: Some(found.refresh_session_id),
                api_key_id: None,
            };
            // The audit trail names the caller; changes count against the same hourly limit as the API.
            user.remember(&req);
            if req.method() == Method::POST {
                crate::http::rate_limit::check_user(&state, &req, found.user_id.uuid(), &found.tier).await?;
            }
            Ok(Viewer {
                user_id: found.user_id,
                session_id: found.id,
                refresh_session_id: found.refresh_session_id,
                display_name: found.display_name,
                email: found.email,
                tz: reminder_core::timezone::parse_zone(&found.timezone).unwrap_or(chrono_tz::UTC),
                email_verified: found.email_verified,
                csrf: csrf::token(&state.config, &binding(found.id)),
                is_admin: found.is_admin,
            })
        })
    }
}

/// The local path to return to after sign-in; anything else (another site, `//host`, a backslash trick)
/// becomes the home page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c == '\\' || c.is_control())
                && path.len() <= 2000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/reminders/1?x=2")), "/reminders/1?x=2");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil.example", "evil", "/a\\b", "/\n"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
