//! Who is calling, as the shared layers see it. The domain that authenticates puts a [`Caller`] in the
//! request extensions and implements [`Identify`]; the layers (idempotency, the audit trail) know nothing
//! of tokens, keys or admin roles.

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::ApiError;

/// The authenticated caller of this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub kind: CallerKind,
}

/// How the caller authenticated, as the audit trail records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// A signed-in session.
    User,
    ApiKey,
    /// A signed-in session whose admin role was checked for this request.
    Admin,
}

impl CallerKind {
    /// The `audit_trails.actor_kind` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::User => "user",
            CallerKind::ApiKey => "api_key",
            CallerKind::Admin => "admin",
        }
    }
}

/// Authenticates the caller of a request for a layer that needs them before the handler does (and counts
/// the rate limit once: the result is cached in the request).
pub trait Identify: 'static {
    fn identify(req: &HttpRequest) -> LocalBoxFuture<'static, Result<Caller, ApiError>>;
}

/// Set in the request extensions by a route group that accepts no API key: the layers then leave such a
/// caller to the handler's 401 rather than act on their behalf first.
#[derive(Clone, Copy, Debug)]
pub struct SessionOnly;
