//! The admin console at `/admin` (issue #22): the pages of the people's console for admins, each a thin
//! handler over the admin API's own functions. A write asks `AdminUser::require` first and goes through the
//! same service function as its REST route, so it writes the same `admin_actions` row with its reason.
//!
//! Anyone who is not an admin (signed out, or signed in without a role) gets the console's 404 page at every
//! `/admin` address, whatever the method: nothing hints that the area exists. An admin whose role lacks a
//! permission is not shown its form, and a forged POST gets the 403 page.

mod audit;
mod dashboard;
mod notes;
mod system;
mod users;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Tokened, page};
use crate::admin::AdminUser;
use crate::admin::permissions::{Permission, Role, allows};
use crate::console::error::ConsoleError;
use crate::console::forms::Errors;
use crate::console::session::Viewer;
use crate::http::client_ip::client_ip;
use crate::http::{ApiError, Caller, CallerKind, ErrorCode};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The admin API's layer: the same rate-limit bucket for an admin's pages as for their API calls.
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(crate::admin::routes::layer))
            .service(resource("").get(dashboard::show))
            .service(resource("/users").get(users::search))
            .service(resource("/users/{id}").get(users::detail))
            .service(resource("/users/{id}/delivery-state").post(users::delivery_state))
            .service(resource("/users/{id}/tier").post(users::tier))
            .service(resource("/users/{id}/role").post(users::role))
            .service(resource("/users/{id}/delete").post(users::delete))
            .service(resource("/users/{id}/notes").post(notes::add))
            .service(resource("/users/{id}/notes/{note}/edit").post(notes::edit))
            .service(resource("/users/{id}/notes/{note}/pin").post(notes::pin))
            .service(resource("/users/{id}/notes/{note}/delete").post(notes::delete))
            .service(resource("/audit").get(audit::show))
            .service(resource("/health").get(system::health))
            .service(resource("/settings").get(system::settings).post(system::change_settings))
            .service(resource("/admins").get(system::admins)),
    );
}

/// A resource whose other methods get the 404 page too (not actix's bare 405, which would tell a
/// non-admin the address exists).
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async { crate::console::render::not_found() }))
}

/// The signed-in admin a page is for: the console's viewer and the admin API's caller.
pub(super) struct AdminViewer {
    viewer: Viewer,
    admin: AdminUser,
}

impl AdminViewer {
    /// The 403 page unless the role grants `permission` (the admin API's own check).
    fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        self.admin.require(permission).map_err(ConsoleError::from)
    }
}

impl FromRequest for AdminViewer {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let viewer = Viewer::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            // Signed out is the same 404 as signed in without a role: no sign-in page that names the area.
            let viewer = viewer.await.map_err(|err| match err {
                ConsoleError::SignIn { .. } => ConsoleError::NotFound,
                err => err,
            })?;
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let mut conn = state.db.get().await?;
            let found = crate::admin::store::admin_role(&mut conn, viewer.user_id).await?;
            drop(conn);
            let (admin_id, role) = found.ok_or(ConsoleError::NotFound)?;
            let ip = client_ip(&req, &state.config.trusted_proxies).map(|ip| ip.to_string());
            // The audit trail records the request as an admin's, as the admin API's extractor does.
            req.extensions_mut().insert(Caller { user_id: viewer.user_id.uuid(), kind: CallerKind::Admin });
            let admin = AdminUser { admin_id, user_id: viewer.user_id, role, ip };
            Ok(AdminViewer { viewer, admin })
        })
    }
}

/// A form an admin posted: the admin known first (a non-admin's POST is the 404 page whatever it carries),
/// then the session's form token (403 otherwise). The permission is the handler's first line.
pub(super) struct AdminPosted<T> {
    who: AdminViewer,
    form: T,
}

impl<T: DeserializeOwned + Tokened + 'static> FromRequest for AdminPosted<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let config = req.app_data::<web::Data<AppState>>().map(|state| state.config.clone());
        let who = AdminViewer::from_request(req, payload);
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let who = who.await?;
            let form = form.await?.into_inner();
            let config = config.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            who.viewer.check_csrf(&config, form.csrf())?;
            Ok(AdminPosted { who, form })
        })
    }
}

/// What each write of the pages needs, by the role table: the templates show a form only when its flag is set.
fn abilities(role: Role) -> Value {
    json!({
        "notes": allows(role, Permission::WriteSupportNotes),
        "delivery": allows(role, Permission::SetDeliveryState),
        "tier": allows(role, Permission::OverrideSubscription),
        "settings": allows(role, Permission::ChangeSettings),
        "admins": allows(role, Permission::ManageAdmins),
        "delete": allows(role, Permission::DeleteUsers),
    })
}

/// An admin page: `context` plus the console's frame and the admin's role, section and abilities.
fn admin_page(
    req: &HttpRequest,
    state: &AppState,
    who: &AdminViewer,
    section: &str,
    name: &str,
    status: StatusCode,
    mut context: Value,
) -> HttpResponse {
    if let Value::Object(map) = &mut context {
        map.insert(
            "admin".to_owned(),
            json!({"role": who.admin.role.as_str(), "section": section, "can": abilities(who.admin.role)}),
        );
    }
    page(req, &state.config, &who.viewer, "admin", name, status, context)
}

/// Midnight UTC at the start of the day `raw` (`YYYY-MM-DD`, as a date field sends it), `days_after` days
/// later; none when blank, and an error on `field` when it does not read.
fn utc_day(raw: &str, days_after: u64, field: &str, errors: &mut Errors) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = crate::console::forms::blank_is_none(raw)?;
    let day = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_add_days(chrono::Days::new(days_after)));
    if day.is_none() {
        errors.insert(field.to_owned(), "Give a day as YYYY-MM-DD.".to_owned());
    }
    day.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// The field errors of a refused write under the form's field names (`prefix` + the API's field), or the
/// error itself when it is not about the input (then it is the error page).
fn refused(err: ApiError, prefix: &str) -> Result<Errors, ConsoleError> {
    refusal(err, prefix).map(|(_, errors)| errors)
}

/// As [`refused`], with the status of the page that shows them: 400 for bad input, 409 for a conflict with
/// the current state (the last SUPER_ADMIN, an admin's account), whose message is shown in the form.
fn refusal(err: ApiError, prefix: &str) -> Result<(StatusCode, Errors), ConsoleError> {
    if let ApiError::Client { code: ErrorCode::Conflict, message, .. } = &err {
        return Ok((StatusCode::CONFLICT, Errors::from([(format!("{prefix}form"), message.clone())])));
    }
    let Some(found) = crate::console::error::field_errors(&err) else { return Err(err.into()) };
    let mut errors = Errors::new();
    crate::console::forms::place(&mut errors, found, |field| {
        if field.is_empty() { format!("{prefix}form") } else { format!("{prefix}{field}") }
    });
    Ok((StatusCode::BAD_REQUEST, errors))
}
