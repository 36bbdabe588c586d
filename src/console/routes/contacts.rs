//! Trusted contacts: the list with each one's consent, the invite form, a contact's own time zone and quiet
//! hours, and removal behind a confirm page. Every change goes through the API's service functions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::account::TokenOnly;
use super::settings::ZONES;
use super::{ItemPage, Posted, PostedTo, page, redirect_with, tokened};
use crate::console::error::{ConsoleError, placed};
use crate::console::forms::{Errors, blank_is_none, quiet_field, quiet_hours};
use crate::console::session::Viewer;
use crate::contacts::ensure_enabled;
use crate::contacts::service::{self, ContactInput, ContactPatch};
use crate::contacts::store::ContactView;
use crate::state::AppState;

/// The invite form, as typed (kept to fill the form again after an error).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InviteForm {
    csrf: String,
    name: String,
    email: String,
    phone: String,
    relationship: String,
    timezone: String,
    quiet_start: String,
    quiet_end: String,
}
tokened!(InviteForm);

/// A contact's own zone and quiet hours; blank fields mean "the same as mine".
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HoursForm {
    csrf: String,
    timezone: String,
    quiet_start: String,
    quiet_end: String,
}
tokened!(HoursForm);

/// The form field that shows an API field error.
fn field_for(api_field: &str) -> &'static str {
    match api_field {
        "name" => "name",
        "email" => "email",
        "phone" => "phone",
        "relationship" => "relationship",
        "timezone" => "timezone",
        other => quiet_field(other),
    }
}

/// How a contact's consent reads on the page.
fn status_of(contact: &ContactView) -> (&'static str, &'static str) {
    match contact.consent_status.as_str() {
        "pending" => ("invited", "Invited, has not answered yet"),
        "accepted" => ("accepted", "Accepted: reached when a reminder escalates to contacts"),
        "declined" => ("declined", "Declined the invitation"),
        "opted_out" => ("opted out", "Opted out of all messages"),
        _ => ("unknown", ""),
    }
}

fn row(contact: &ContactView) -> Value {
    let (status, explained) = status_of(contact);
    json!({
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "relationship": contact.relationship,
        "status": status,
        "statusClass": contact.consent_status,
        "explained": explained,
        "paused": contact.paused_reason.is_some(),
        "timezone": contact.timezone,
        "quietHours": contact.quiet_hours,
        "invitedAt": contact.invited_at,
    })
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    form: &InviteForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let contacts = service::list(state, viewer.user_id).await?;
    let me = crate::accounts::users::service::me(state, viewer.user_id).await?;
    let rows: Vec<Value> = contacts.iter().map(row).collect();
    let context = json!({
        "rows": rows,
        "form": form,
        "errors": errors,
        "zones": &*ZONES,
        "mine": {"timezone": me.timezone, "quietHours": me.quiet_hours},
    });
    Ok(page(req, &state.config, viewer, "contacts", "contacts.html", status, context))
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    list_page(&req, &state, &viewer, &InviteForm::default(), &Errors::new(), StatusCode::OK).await
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    let mut errors = Errors::new();
    let hours = quiet_hours(&form.quiet_start, &form.quiet_end, &mut errors);
    if errors.is_empty() {
        let input = ContactInput {
            name: form.name.clone(),
            email: blank_is_none(&form.email),
            phone: blank_is_none(&form.phone),
            relationship: blank_is_none(&form.relationship),
            timezone: blank_is_none(&form.timezone),
            quiet_hours: hours,
        };
        match service::create(&state, viewer.user_id, input).await {
            Ok(created) => {
                let message = format!("{} is invited. They are reached only after they accept.", created.name);
                return Ok(redirect_with(&state.config, "/contacts", &message));
            }
            Err(err) => {
                let status = placed(err, &mut errors, field_for)?;
                return list_page(&req, &state, &viewer, &form, &errors, status).await;
            }
        }
    }
    list_page(&req, &state, &viewer, &form, &errors, StatusCode::BAD_REQUEST).await
}

async fn edit_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    contact: &ContactView,
    form: &HoursForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let me = crate::accounts::users::service::me(state, viewer.user_id).await?;
    let context = json!({
        "contact": row(contact),
        "form": form,
        "errors": errors,
        "zones": &*ZONES,
        "mine": {"timezone": me.timezone, "quietHours": me.quiet_hours},
    });
    Ok(page(req, &state.config, viewer, "contacts", "contact_edit.html", status, context))
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    let contact = service::get(&state, viewer.user_id, id.into()).await?;
    let (start, end) = contact.quiet_hours.clone().map(|q| (q.start, q.end)).unwrap_or_default();
    let form = HoursForm {
        csrf: String::new(),
        timezone: contact.timezone.clone().unwrap_or_default(),
        quiet_start: start,
        quiet_end: end,
    };
    edit_page(&req, &state, &viewer, &contact, &form, &Errors::new(), StatusCode::OK).await
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<HoursForm>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    let mut errors = Errors::new();
    let hours = quiet_hours(&form.quiet_start, &form.quiet_end, &mut errors);
    if errors.is_empty() {
        let patch = ContactPatch {
            name: None,
            email: None,
            phone: None,
            relationship: None,
            timezone: Some(blank_is_none(&form.timezone)),
            quiet_hours: Some(hours),
        };
        match service::update(&state, viewer.user_id, id.into(), patch).await {
            Ok(updated) => {
                let message = format!("Saved {}'s time zone and quiet hours.", updated.name);
                return Ok(redirect_with(&state.config, "/contacts", &message));
            }
            Err(err) => {
                let status = placed(err, &mut errors, field_for)?;
                let contact = service::get(&state, viewer.user_id, id.into()).await?;
                return edit_page(&req, &state, &viewer, &contact, &form, &errors, status).await;
            }
        }
    }
    let contact = service::get(&state, viewer.user_id, id.into()).await?;
    edit_page(&req, &state, &viewer, &contact, &form, &errors, StatusCode::BAD_REQUEST).await
}

/// The confirm step before a removal (a page of its own, so it works without a script).
pub async fn remove_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    let contact = service::get(&state, viewer.user_id, id.into()).await?;
    let context = json!({"contact": row(&contact)});
    Ok(page(&req, &state.config, &viewer, "contacts", "contact_remove.html", StatusCode::OK, context))
}

pub async fn remove(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    ensure_enabled(&state)?;
    service::delete(&state, viewer.user_id, id.into()).await?;
    Ok(redirect_with(&state.config, "/contacts", "Contact removed. They will not be reached again."))
}
