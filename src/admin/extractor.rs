//! `AdminUser`: the caller of an admin route, with their role and where they call from. A signed-in user
//! who is not an admin gets 403, and so does an API key: admin power needs an interactive session.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::permissions::{self, Permission, Role};
use super::store;
use crate::accounts::auth::AuthUser;
use crate::http::client_ip::client_ip;
use crate::http::{ApiError, Caller, CallerKind};
use crate::state::AppState;

/// An authenticated admin.
#[derive(Debug, Clone)]
pub struct AdminUser {
    /// The `admin_users` row.
    pub admin_id: Uuid,
    /// The admin's own user account.
    pub user_id: UserId,
    pub role: Role,
    /// The client address, for the admin action log.
    pub ip: Option<String>,
}

impl AdminUser {
    /// 403 unless the admin's role grants `permission`. Every admin handler calls this first.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if permissions::allows(self.role, permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("The {} role may not do this.", self.role.as_str())))
        }
    }
}

fn not_admin() -> ApiError {
    ApiError::forbidden("This needs an admin account.")
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            // 401, not 403: an API key is not a credential these routes accept at all (they document bearer
            // auth only), so the caller is unauthenticated here whoever owns the key.
            if !super::accepts(&user) {
                return Err(ApiError::unauthorized(
                    "Admin routes need a signed-in session; API keys are not accepted.",
                ));
            }
            let mut conn = state.db.get().await?;
            let (admin_id, role) = store::admin_role(&mut conn, user.id).await?.ok_or_else(not_admin)?;
            let ip = client_ip(&req, &state.config.trusted_proxies).map(|ip| ip.to_string());
            let admin = AdminUser { admin_id, user_id: user.id, role, ip };
            // The audit trail records the request as an admin's.
            req.extensions_mut().insert(Caller { user_id: user.id.uuid(), kind: CallerKind::Admin });
            Ok(admin)
        })
    }
}
