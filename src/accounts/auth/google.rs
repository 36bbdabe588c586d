//! Sign in with Google: OpenID Connect's authorization code flow with PKCE (issue 22 item 1).
//!
//! [`begin`] stores a flow (hashes of its `state` and of a random value kept in the browser's cookie, the
//! nonce and the PKCE verifier) and answers where to send the browser. [`finish`] takes the flow back once
//! (a state works once, for ten minutes, in the browser that began it: a callback link sent to someone else
//! signs nobody in), trades the code, checks the ID token ([`provider::redeem`]) and signs the person in:
//!
//! - a Google account linked before signs in to its account, whatever its address is now;
//! - otherwise a Google-verified address that matches an account links to it. If that account had never
//!   confirmed its address, whoever created it may not be its owner (an account made in advance to catch
//!   the owner's later Google sign-in): its password stops working and its sessions and API keys end;
//! - otherwise a new account is created with that address, confirmed, and with no usable password (the owner
//!   can set one through "forgot password").
//!
//! An address Google has not verified never links or creates anything.

mod provider;
mod store;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use subtle::ConstantTimeEq;

pub use self::provider::CALLBACK_PATH;
use self::provider::{Discovery, Identity, ProviderError, ProviderHttp, Unverified};
use super::model::AuthResult;
use super::service::{ClientInfo, open_session, pair};
use super::{api_keys, password, tokens};
use crate::accounts::users::model::{NewUser, User, UserView};
use crate::accounts::users::{service as users_service, store as users_store};
use crate::config::GoogleConfig;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// The cookie that ties a flow to the browser that began it.
pub const BROWSER_COOKIE: &str = "er_oidc";
/// How long a begun sign-in may take.
pub const FLOW_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// What every refused callback says; the reason is logged, not told.
const REFUSED: &str = "Signing in with Google did not work. Please start again.";

/// Whether this server offers Google sign-in.
pub fn enabled(state: &AppState) -> bool {
    state.config.google.is_some()
}

fn configured(state: &AppState) -> Result<&GoogleConfig, ApiError> {
    state.config.google.as_ref().ok_or_else(|| ApiError::not_found("Sign in with Google"))
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.config.api_url.as_str().trim_end_matches('/'))
}

fn provider_error(err: ProviderError) -> ApiError {
    match err {
        ProviderError::Unreachable(why) => {
            tracing::warn!(reason = %why, "google sign-in: provider unreachable");
            ApiError::new(ErrorCode::ServiceUnavailable, "Google could not be reached. Please try again shortly.")
        }
        ProviderError::Refused(why) => refused(&why),
    }
}

fn refused(why: &str) -> ApiError {
    tracing::warn!(reason = %why, "google sign-in refused");
    ApiError::unauthorized(REFUSED)
}

/// A begun sign-in: send the browser to `authorize_url` with `browser` in [`BROWSER_COOKIE`].
#[derive(Debug)]
pub struct Begun {
    pub authorize_url: String,
    pub browser: String,
}

/// Starts a sign-in. `next` is where the console goes afterwards (a checked local path); without it the
/// callback answers with tokens as `POST /v1/auth/login` does.
pub async fn begin(state: &AppState, next: Option<&str>) -> Result<Begun, ApiError> {
    let google = configured(state)?;
    let http = ProviderHttp::new()?;
    let client =
        provider::client(google, &http, &redirect_uri(state), Discovery::Cached).await.map_err(provider_error)?;
    let authorization = provider::authorize(&client);
    let browser = tokens::random_token("");
    let now = state.clock.now();
    let flow = store::NewFlow {
        state_hash: &tokens::hash_token(&authorization.state),
        browser_hash: &tokens::hash_token(&browser),
        nonce: &authorization.nonce,
        pkce_verifier: &authorization.pkce_verifier,
        next,
        expires_at: now + FLOW_LIFETIME,
    };
    let mut conn = state.db.get().await?;
    store::insert_flow(&mut conn, flow, now).await?;
    Ok(Begun { authorize_url: authorization.url, browser })
}

/// What the provider's redirect carries.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The flow's state, as sent to the provider.
    pub state: Option<String>,
    /// Set by the provider instead of a code when the person declined or something failed.
    pub error: Option<String>,
}

/// A finished sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub result: AuthResult,
    /// Where the console goes now; `None` for an API client's flow.
    pub next: Option<String>,
    /// True when this sign-in created the account.
    pub created: bool,
}

/// Finishes a sign-in begun in the browser holding `browser` (the cookie's value).
pub async fn finish(
    state: &AppState,
    query: CallbackQuery,
    browser: Option<&str>,
    client_info: ClientInfo,
) -> Result<SignedIn, ApiError> {
    let google = configured(state)?;
    let returned_state = query.state.filter(|s| !s.is_empty() && s.len() <= 200).ok_or_else(|| refused("no state"))?;
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let flow = store::take_flow(&mut conn, &tokens::hash_token(&returned_state))
        .await?
        .ok_or_else(|| refused("unknown, used or forgotten state"))?;
    if flow.expires_at <= now {
        return Err(refused("the flow ran out"));
    }
    let same_browser =
        browser.is_some_and(|value| bool::from(tokens::hash_token(value).ct_eq(flow.browser_hash.as_slice())));
    if !same_browser {
        return Err(refused("the callback came to another browser than the one that began"));
    }
    if let Some(error) = query.error {
        return Err(refused(&format!("the provider answered {}", error.chars().take(100).collect::<String>())));
    }
    let code = query.code.filter(|code| !code.is_empty() && code.len() <= 2048).ok_or_else(|| refused("no code"))?;
    drop(conn);

    let http = ProviderHttp::new()?;
    let redirect = redirect_uri(state);
    let client = provider::client(google, &http, &redirect, Discovery::Cached).await.map_err(provider_error)?;
    let id_token = provider::redeem(&client, &http, code, flow.pkce_verifier).await.map_err(provider_error)?;
    let verified = match provider::verify(&client, &id_token, &flow.nonce) {
        // Signed by a key published since the keys were read: read them again, once.
        Err(Unverified::UnknownKey) => {
            let fresh = provider::client(google, &http, &redirect, Discovery::Fresh).await.map_err(provider_error)?;
            provider::verify(&fresh, &id_token, &flow.nonce)
        }
        verified => verified,
    };
    let identity = verified.map_err(|unverified| match unverified {
        Unverified::UnknownKey => refused("the ID token is signed by a key the provider does not publish"),
        Unverified::Refused(err) => provider_error(err),
    })?;
    let (result, created) = sign_in(state, identity, client_info).await?;
    Ok(SignedIn { result, next: flow.next, created })
}

/// How a Google identity became an account of ours.
enum Resolved {
    Linked(User),
    Existing(User),
    Created(User),
}

/// Finds, links or creates the account and opens a session, in one transaction.
async fn sign_in(state: &AppState, identity: Identity, client: ClientInfo) -> Result<(AuthResult, bool), ApiError> {
    let email = identity.email.as_deref().map(|raw| {
        let mut errors = Vec::new();
        let email = users_service::normalise_email(raw, &mut errors);
        errors.is_empty().then_some(email)
    });
    let verified_email = email.flatten().filter(|_| identity.email_verified);
    let display_name = new_display_name(&identity, verified_email.as_deref());
    let tier = state.config.default_tier.as_str();
    let now = state.clock.now();
    let refresh = tokens::random_token("ert_");
    let mut conn = state.db.get().await?;
    let (resolved, session) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let resolved = resolve(conn, &identity, verified_email.as_deref(), &display_name, tier, now).await?;
            let user = match &resolved {
                Resolved::Linked(user) | Resolved::Existing(user) | Resolved::Created(user) => user,
            };
            let session = open_session(conn, user.id, &client, &refresh, now).await?;
            Ok((resolved, session))
        })
        .await?;
    let (user, created) = match resolved {
        Resolved::Linked(user) | Resolved::Existing(user) => (user, false),
        Resolved::Created(user) => (user, true),
    };
    tracing::info!(user.id = %user.id, created, "signed in with google");
    let tier = users_store::tier_of(&mut conn, user.id).await?;
    let tokens = pair(state, user.id, session, refresh, now)?;
    Ok((AuthResult { user: UserView::from_row(user, &tier), tokens }, created))
}

async fn resolve(
    conn: &mut AsyncPgConnection,
    identity: &Identity,
    verified_email: Option<&str>,
    display_name: &str,
    tier: &str,
    now: DateTime<Utc>,
) -> Result<Resolved, ApiError> {
    if let Some(user) = store::linked_user(conn, &identity.subject).await? {
        let user = users_store::find_live(conn, user).await?.ok_or_else(|| refused("linked account vanished"))?;
        let noted = verified_email.or(identity.email.as_deref()).unwrap_or(&user.email).to_owned();
        store::link(conn, &identity.subject, user.id, &noted, now).await?;
        return Ok(Resolved::Linked(user));
    }
    let Some(email) = verified_email else {
        return Err(ApiError::forbidden(
            "Google has not verified this account's email address, so it cannot sign in here yet.",
        ));
    };
    if let Some(user) = users_store::find_live_by_email(conn, email).await? {
        if user.email_verified_at.is_none() {
            take_over(conn, user.id, now).await?;
        }
        store::link(conn, &identity.subject, user.id, email, now).await?;
        let user = users_store::find_live(conn, user.id).await?.ok_or_else(|| refused("account vanished"))?;
        return Ok(Resolved::Existing(user));
    }
    let unusable = unusable_password().await?;
    let new = NewUser { email, password_hash: &unusable, display_name, timezone: "UTC", email_verified_at: Some(now) };
    let user = users_store::insert(conn, new).await?;
    users_store::insert_subscription(conn, user.id, tier).await?;
    store::link(conn, &identity.subject, user.id, email, now).await?;
    Ok(Resolved::Created(user))
}

/// An unconfirmed account whose address Google has just proved to be someone's: that someone is its owner,
/// and whoever made it may not be. Its password, sessions and keys stop working; the address is confirmed.
async fn take_over(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> Result<(), ApiError> {
    let changes = users_store::UserChanges { password_hash: Some(unusable_password().await?), ..Default::default() };
    users_store::update(conn, user, &changes).await?;
    users_store::mark_email_verified(conn, user, now).await?;
    super::service::revoke_other_sessions(conn, user, None, "address proved by Google sign-in", now).await?;
    api_keys::revoke_all(conn, user, now).await?;
    tracing::warn!(user.id = %user, "unconfirmed account taken over by the address's Google owner");
    Ok(())
}

/// The hash of a password nobody knows, for an account created or taken over here. Hashed only then (an
/// argon2 hash takes a while; most sign-ins are of a linked account and need none), inside the transaction.
async fn unusable_password() -> Result<String, ApiError> {
    Ok(password::hash(tokens::random_token("")).await?)
}

/// The name a new account starts with: Google's, else the address's local part.
fn new_display_name(identity: &Identity, email: Option<&str>) -> String {
    let candidate = identity
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .or_else(|| email.and_then(|email| email.split('@').next()))
        .unwrap_or("Google user");
    let mut errors = Vec::new();
    let name: String = candidate.chars().filter(|c| !c.is_control()).take(100).collect();
    let name = users_service::clean_display_name(&name, &mut errors);
    if errors.is_empty() { name } else { "Google user".to_owned() }
}
