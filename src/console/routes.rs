//! The console's routes and what its handlers share: the page frame, flash messages, form tokens.

mod account;
mod admin;
mod billing;
mod calendars;
mod channels;
mod contacts;
mod dashboard;
mod evidence;
mod family;
mod google;
mod notifications;
mod occurrences;
mod onboarding;
mod password_reset;
mod profiles;
mod reminder_edit;
mod reminders;
mod security;
mod settings;
mod verify_email;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use chrono::TimeDelta;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ConsoleError;
use super::render;
use super::session::{self, Viewer};
use crate::config::Config;
use crate::http::ApiError;
use crate::state::AppState;

/// The console's routes under `/v1`, in the API's registry and document: Google sign-in, whose callback
/// opens a console session for a page's sign-in.
pub fn api_routes(r: &mut crate::http::Routes) {
    google::configure(r);
}

fn calendar_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/calendars").get(calendars::show).post(calendars::connect))
        .service(web::resource("/calendars/{id}/sync").post(calendars::sync))
        .service(web::resource("/calendars/{id}/delete").post(calendars::disconnect))
        .service(web::resource("/calendars/{id}/rules").post(calendars::add_rule))
        .service(web::resource("/calendars/{id}/rules/delete").post(calendars::delete_rule));
}

fn family_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/family").get(family::show))
        .service(web::resource("/family/invite").post(family::invite))
        .service(web::resource("/family/leave").post(family::leave))
        .service(web::resource("/family/members/{id}/remove").post(family::remove))
        .service(web::resource("/family/shared/{id}/acknowledge").post(family::acknowledge))
        .service(web::resource("/family/shared/{id}/complete").post(family::complete))
        .service(web::resource("/family/join/{token}").get(family::join_form).post(family::join))
        .service(web::resource("/reminders/{id}/shares").post(family::set_shares));
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(dashboard::show))
        .service(web::resource("/login").get(account::login_form).post(account::login))
        .service(web::resource("/signup").get(account::signup_form).post(account::signup))
        .service(web::resource("/logout").post(account::logout))
        .service(web::resource("/password/forgot").get(password_reset::forgot_form).post(password_reset::forgot))
        .service(web::resource("/password/reset/{token}").get(password_reset::reset_form).post(password_reset::reset))
        .service(web::resource("/verify-email/resend").post(verify_email::resend))
        .service(web::resource("/verify-email/{token}").get(verify_email::confirm_form).post(verify_email::confirm))
        .service(web::resource("/onboarding").post(onboarding::post))
        .service(web::resource("/reminders").get(reminders::list).post(reminders::create))
        .service(web::resource("/reminders/new").get(reminders::new_form))
        .service(web::resource("/reminders/occurrences").get(occurrences::fragment))
        .service(web::resource("/reminders/{id}").get(reminders::detail))
        .service(web::resource("/reminders/{id}/snooze").post(reminders::snooze))
        .service(web::resource("/reminders/{id}/acknowledge").post(reminders::acknowledge))
        .service(web::resource("/reminders/{id}/complete").post(reminders::complete))
        .service(web::resource("/reminders/{id}/edit").get(reminder_edit::edit_form).post(reminder_edit::edit))
        .service(web::resource("/reminders/{id}/archive").post(reminder_edit::archive))
        .service(web::resource("/notifications").get(notifications::list))
        .service(web::resource("/billing").get(billing::show))
        .service(web::resource("/billing/checkout").post(billing::checkout))
        .service(web::resource("/billing/cancel").post(billing::cancel))
        .service(web::resource("/billing/reactivate").post(billing::reactivate))
        .service(web::resource(billing::RETURN_PATH).get(billing::returned))
        .configure(channels_routes)
        .configure(profiles_routes)
        .configure(evidence_routes)
        .configure(admin::configure)
        .service(web::resource("/settings").get(settings::show))
        .service(web::resource("/settings/name").post(settings::display_name))
        .service(web::resource("/settings/timezone").post(settings::timezone))
        .service(web::resource("/settings/quiet-hours").post(settings::quiet_hours))
        .service(web::resource("/settings/api-keys").post(settings::create_key))
        .service(web::resource("/settings/api-keys/{id}/revoke").post(settings::revoke_key))
        .service(web::resource("/settings/password").post(security::password))
        .service(web::resource("/settings/sessions/{id}/revoke").post(security::revoke_session))
        .service(web::resource("/settings/export").get(settings::export))
        .service(web::resource("/settings/delete").post(security::delete_account))
        .configure(calendar_routes)
        .configure(family_routes)
        .service(web::resource("/contacts").get(contacts::list).post(contacts::invite))
        .service(web::resource("/contacts/{id}/edit").get(contacts::edit_form).post(contacts::edit))
        .service(web::resource("/contacts/{id}/remove").get(contacts::remove_form).post(contacts::remove))
        .service(web::resource("/assets/{name}").get(asset))
        .service(web::resource("/sw.js").get(async || crate::http::assets::service_worker()))
        .service(web::resource("/manifest.webmanifest").get(async || crate::http::assets::manifest()));
}

fn channels_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/channels").get(channels::list).post(channels::create))
        .service(web::resource("/channels/{id}").get(channels::detail))
        .service(web::resource("/channels/{id}/verify").post(channels::verify))
        .service(web::resource("/channels/{id}/resend").post(channels::resend))
        .service(web::resource("/channels/{id}/test").post(channels::test))
        .service(web::resource("/channels/{id}/enabled").post(channels::enabled))
        .service(web::resource("/channels/{id}/delete").post(channels::delete));
}

fn profiles_routes(cfg: &mut web::ServiceConfig) {
    // The fixed paths before `{id}`, which would otherwise take them for an id.
    cfg.service(web::resource("/profiles").get(profiles::list).post(profiles::create))
        .service(web::resource("/profiles/new").get(profiles::new_form))
        .service(web::resource("/profiles/picture").get(profiles::picture_fragment))
        .service(web::resource("/profiles/{id}").get(profiles::detail).post(profiles::update))
        .service(web::resource("/profiles/{id}/delete").get(profiles::delete_form).post(profiles::delete));
}

fn evidence_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/evidence").get(evidence::show))
        .service(web::resource("/evidence/hooks").post(evidence::create_hook))
        .service(web::resource("/evidence/hooks/{reminder}/{hook}/revoke").post(evidence::revoke_hook))
        .service(web::resource("/evidence/watchers").post(evidence::create_watcher))
        .service(web::resource("/evidence/watchers/{id}/delete").post(evidence::delete_watcher))
        .service(web::resource("/evidence/address/rotate").post(evidence::rotate_address));
}

/// The id in a page's path. A malformed id is the same 404 as another user's, so neither hints at anything.
fn path_id<Id: From<Uuid>>(raw: &str) -> Result<Id, ConsoleError> {
    Uuid::parse_str(raw).map(Id::from).map_err(|_| ConsoleError::NotFound)
}

/// A form that carries the session's token in its `csrf` field.
pub(super) trait Tokened {
    fn csrf(&self) -> &str;
}

/// Marks forms as [`Tokened`].
macro_rules! tokened {
    ($($form:ty),* $(,)?) => {
        $(impl $crate::console::routes::Tokened for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}
pub(super) use tokened;

/// A form the signed-in viewer posted, its token checked (403 otherwise) before the handler runs, so no
/// handler can forget the check.
struct Posted<T> {
    viewer: Viewer,
    form: T,
}

/// A [`Posted`] form about one item (`/channels/{id}/…`): the `{id}` of the path parsed too, after the
/// token (a malformed id is a 404, like [`path_id`]).
struct PostedTo<T> {
    viewer: Viewer,
    id: Uuid,
    form: T,
}

impl<T: DeserializeOwned + Tokened + 'static> FromRequest for Posted<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let config = req.app_data::<web::Data<AppState>>().map(|state| state.config.clone());
        let viewer = Viewer::from_request(req, payload);
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let (viewer, form) = (viewer.await, form.await);
            let (viewer, form) = (viewer?, form?.into_inner());
            let config = config.ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            viewer.check_csrf(&config, form.csrf())?;
            Ok(Posted { viewer, form })
        })
    }
}

impl<T: DeserializeOwned + Tokened + 'static> FromRequest for PostedTo<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw_id = raw_path_id(req);
        let posted = Posted::<T>::from_request(req, payload);
        Box::pin(async move {
            let Posted { viewer, form } = posted.await?;
            Ok(PostedTo { viewer, id: path_id(&raw_id)?, form })
        })
    }
}

/// A page about one item (`/reminders/{id}`) as the signed-in viewer sees it: the `{id}` parsed once the
/// viewer is known, so a signed-out visitor is sent to sign in whatever the id.
struct ItemPage {
    viewer: Viewer,
    id: Uuid,
}

impl FromRequest for ItemPage {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw_id = raw_path_id(req);
        let viewer = Viewer::from_request(req, payload);
        Box::pin(async move { Ok(ItemPage { viewer: viewer.await?, id: path_id(&raw_id)? }) })
    }
}

fn raw_path_id(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_owned()
}

/// Cookie carrying a one-line message to the page after a redirect ("Snoozed until …").
const FLASH: &str = "er_flash";

fn take_flash(req: &HttpRequest) -> Option<String> {
    let raw = session::cookie(req, FLASH)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes).ok().map(|text| text.chars().take(300).collect())
}

fn append_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A 303 to `location` that shows `message` on the next page.
fn redirect_with(config: &Config, location: &str, message: &str) -> HttpResponse {
    let mut response = render::redirect(location);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message.as_bytes());
    append_cookie(&mut response, &session::set_cookie(config, FLASH, &encoded, TimeDelta::minutes(5)));
    response
}

/// To the sign-in page with `message`, the session cookie cleared (sign-out, account deleted).
fn signed_out(config: &Config, message: &str) -> HttpResponse {
    let mut response = redirect_with(config, "/login", message);
    append_cookie(&mut response, &session::set_cookie(config, session::COOKIE, "", TimeDelta::zero()));
    response
}

/// A page of the signed-in console: `context` plus the frame (who is signed in, the form token, the zone,
/// the current section, a flash message). A shown flash is cleared.
fn page(
    req: &HttpRequest,
    config: &Config,
    viewer: &Viewer,
    nav: &str,
    name: &str,
    status: StatusCode,
    mut context: Value,
) -> HttpResponse {
    let flash = take_flash(req);
    if let Value::Object(map) = &mut context {
        map.insert(
            "frame".to_owned(),
            json!({
                "name": viewer.display_name,
                "email": viewer.email,
                "csrf": viewer.csrf,
                "nav": nav,
                "flash": flash,
                "contacts": config.feature_social_escalation,
                "admin": viewer.is_admin,
            }),
        );
        map.insert("zone".to_owned(), json!(viewer.zone()));
    }
    let mut response = render::page(status, name, context);
    if flash.is_some() {
        append_cookie(&mut response, &session::set_cookie(config, FLASH, "", TimeDelta::zero()));
    }
    response
}

/// `GET /assets/{name}`: an embedded asset, or the console's 404 page.
async fn asset(name: web::Path<String>) -> HttpResponse {
    crate::http::assets::response(&name).unwrap_or_else(super::render::not_found)
}
