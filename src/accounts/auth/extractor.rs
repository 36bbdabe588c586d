//! `AuthUser`: the one way handlers learn who is calling (access JWT or API key). Handlers never parse
//! auth headers themselves.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::{api_keys, store, tokens};
use crate::http::{ApiError, Caller, CallerKind, Identify};
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    /// Effective billing tier (FREE, PERSONAL, PRO, FAMILY).
    pub tier: String,
    /// The login session, when authenticated with an access token.
    pub session_id: Option<Uuid>,
    /// The key, when authenticated with an API key.
    pub api_key_id: Option<Uuid>,
}

impl AuthUser {
    /// The caller as the shared layers (idempotency, the audit trail) see them.
    pub fn caller(&self) -> Caller {
        let kind = if self.api_key_id.is_some() { CallerKind::ApiKey } else { CallerKind::User };
        Caller { user_id: self.id.uuid(), kind }
    }

    /// Caches the caller in the request: a later extraction reuses it, and the audit trail names them.
    pub fn remember(&self, req: &HttpRequest) {
        let mut extensions = req.extensions_mut();
        extensions.insert(self.clone());
        extensions.insert(self.caller());
    }
}

/// How the idempotency layer authenticates: through the extractor, so the handler reuses the result.
impl Identify for AuthUser {
    fn identify(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
        let user = AuthUser::from_request(req, &mut Payload::None);
        Box::pin(async move { user.await.map(|user| user.caller()) })
    }
}

enum Credential {
    Bearer(String),
    ApiKey(String),
}

fn credential(req: &HttpRequest) -> Option<Credential> {
    if let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| Credential::Bearer(token.trim().to_owned()));
    }
    let key = req.headers().get("x-api-key")?.to_str().ok()?;
    Some(Credential::ApiKey(key.trim().to_owned()))
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Authenticated (and counted against the rate limit) once per request, even when a middleware such
        // as idempotency needed the caller before the handler did.
        if let Some(user) = req.extensions().get::<AuthUser>().cloned() {
            return Box::pin(async move { Ok(user) });
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = credential(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let rejected = || ApiError::unauthorized("The credentials are missing, invalid or expired.");
            let mut conn = state.db.get().await?;
            let context = match credential.ok_or_else(rejected)? {
                Credential::Bearer(token) => {
                    let claims = tokens::verify_access(&state.config, &token).ok_or_else(rejected)?;
                    store::context_for_session(&mut conn, claims.sub, claims.sid).await?.map(|c| (c, Some(claims.sid)))
                }
                Credential::ApiKey(key) => {
                    if !api_keys::looks_like_key(&key) {
                        return Err(rejected());
                    }
                    store::context_for_api_key(&mut conn, &tokens::hash_token(&key)).await?.map(|c| (c, None))
                }
            };
            let (context, session_id) = context.ok_or_else(rejected)?;
            drop(conn);
            let user = AuthUser { id: context.user_id, tier: context.tier, session_id, api_key_id: context.api_key_id };
            // Stored before the limit check so the audit trail names the caller of a 429 too.
            user.remember(&req);
            crate::http::rate_limit::check_user(&state, &req, user.id.uuid(), &user.tier).await?;
            Ok(user)
        })
    }
}
