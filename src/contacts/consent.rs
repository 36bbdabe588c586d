//! Consent pages for the contact (no account): the invitation link (accept or decline, valid 14 days from
//! the invitation) and the opt-out link (in every message, never expires). GET shows a page with a button;
//! only POST changes anything, so mail scanners that prefetch links cannot accept or opt out for anyone.
//!
//! Tokens are [`crate::crypto::seal_id`] tokens. The invitation's purpose includes the invitation time, so a
//! new invitation (after a change of address) voids the links of the old one.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use reminder_core::ids::ContactId;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::ensure_enabled;
use super::store::{self, ContactChanges, ContactRow};
use crate::http::{ApiError, Routes, routes};
use crate::state::AppState;

const INVITATION_DAYS: i64 = 14;

pub fn configure(r: &mut Routes) {
    routes!(r => invitation_page, decide, opt_out_page, opt_out);
}

fn invitation_purpose(invited_at: Option<DateTime<Utc>>) -> String {
    format!("contact-invitation:{}", invited_at.map_or(0, |at| at.timestamp_micros()))
}

fn key(state: &AppState) -> &[u8] {
    state.config.encryption_key.expose_secret()
}

fn base(state: &AppState) -> &str {
    state.config.api_url.as_str().trim_end_matches('/')
}

pub fn invitation_link(state: &AppState, contact: &ContactRow) -> String {
    let token = crate::crypto::seal_id(key(state), &invitation_purpose(contact.invited_at), contact.id.0);
    format!("{}/contacts/invitation/{token}", base(state))
}

pub fn opt_out_link(state: &AppState, contact: ContactId) -> String {
    format!("{}/contacts/opt-out/{}", base(state), crate::crypto::seal_id(key(state), "contact-opt-out", contact.0))
}

fn invalid() -> ApiError {
    ApiError::not_found("Link")
}

/// The contact behind a genuine, unexpired invitation token.
async fn invited(state: &AppState, token: &str) -> Result<ContactRow, ApiError> {
    let id = crate::crypto::sealed_id(token).ok_or_else(invalid)?;
    let mut conn = state.db.get().await?;
    let contact = store::find_by_id(&mut conn, ContactId(id)).await?.ok_or_else(invalid)?;
    crate::crypto::open_id(key(state), &invitation_purpose(contact.invited_at), token).ok_or_else(invalid)?;
    let expired = contact.invited_at.is_none_or(|at| at + chrono::Duration::days(INVITATION_DAYS) < state.clock.now());
    if expired {
        Err(ApiError::new(crate::http::ErrorCode::NotFound, "This invitation has expired."))
    } else {
        Ok(contact)
    }
}

/// The contact behind a genuine opt-out token.
async fn opting_out(state: &AppState, token: &str) -> Result<ContactRow, ApiError> {
    let id = crate::crypto::open_id(key(state), "contact-opt-out", token).ok_or_else(invalid)?;
    let mut conn = state.db.get().await?;
    store::find_by_id(&mut conn, ContactId(id)).await?.ok_or_else(invalid)
}

async fn owner_name(state: &AppState, contact: &ContactRow) -> Result<String, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(crate::accounts::users::store::find_live(&mut conn, contact.user_id)
        .await?
        .map_or_else(|| "Someone".to_owned(), |owner| super::inviter::name(&owner.display_name)))
}

/// HTML-escapes text for the consent pages.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A small HTML page in the console's look, with its stylesheet and no script (`title` is escaped here,
/// `body` must already be).
pub fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ))
        .insert_header(("x-robots-tag", "noindex"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"robots\" content=\"noindex\"><title>{title} · Escalating Reminders</title>\
             <link rel=\"stylesheet\" href=\"{css}\"><link rel=\"icon\" href=\"{icon}\" type=\"image/svg+xml\"></head>\
             <body><header class=\"top\"><div class=\"wrap bar\"><span class=\"brand\"><img src=\"{icon}\" alt=\"\" \
             width=\"22\" height=\"22\"> Escalating Reminders</span></div></header>\
             <main class=\"wrap\"><h1>{title}</h1><section class=\"card public\">{body}</section></main></body></html>",
            title = escape(title),
            css = crate::http::assets::css_url(),
            icon = crate::http::assets::icon_url(),
        ))
}

#[utoipa::path(get, path = "/contacts/invitation/{token}", tag = "contacts", operation_id = "contacts_invitation_page",
    params(("token" = String, Path, description = "The signed invitation token")),
    description = "The invitation page with accept and decline buttons (HTML). Changes nothing.",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn invitation_page(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let contact = invited(&state, &token).await?;
    let owner = escape(&owner_name(&state, &contact).await?);
    let body = format!(
        "<p>{owner} would like you as a trusted contact. When one of their reminders goes unanswered, you may get a \
         short message with its title and how long it has waited.</p><p>Currently: {status}.</p>\
         <form class=\"actions\" method=\"post\"><button class=\"primary\" name=\"decision\" value=\"accept\">Accept</button> \
         <button name=\"decision\" value=\"decline\">Decline</button></form>",
        status = escape(&contact.consent_status)
    );
    Ok(page("Be a trusted contact?", &body))
}

/// The invitation form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// `accept` or `decline`.
    pub decision: String,
}

#[utoipa::path(post, path = "/contacts/invitation/{token}", tag = "contacts", operation_id = "contacts_invitation_decide",
    params(("token" = String, Path, description = "The signed invitation token")),
    request_body(content = Decision, content_type = "application/x-www-form-urlencoded"),
    description = "Accepts or declines (HTML). A contact who opted out is not reinstated by an old invitation.",
    responses((status = 200, content_type = "text/html", body = String), (status = 400), (status = 404), (status = 415)))]
pub async fn decide(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<Decision>,
) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let contact = invited(&state, &token).await?;
    let now = state.clock.now();
    let (changes, message) = match (form.decision.as_str(), contact.consent_status.as_str()) {
        (_, "opted_out") => (None, "You opted out of these messages; nothing was changed."),
        ("accept", "accepted") => (None, "You had already accepted. Thank you."),
        ("accept", _) => (
            Some(ContactChanges {
                consent_status: Some("accepted".to_owned()),
                accepted_at: Some(Some(now)),
                ..Default::default()
            }),
            "Thank you: you are now a trusted contact.",
        ),
        ("decline", _) => (
            Some(ContactChanges {
                consent_status: Some("declined".to_owned()),
                accepted_at: Some(None),
                ..Default::default()
            }),
            "You declined; you will not be contacted.",
        ),
        _ => return Err(ApiError::field("decision", "must be accept or decline")),
    };
    if let Some(changes) = changes {
        record(&state, &contact, changes).await?;
    }
    Ok(page("Trusted contact", &format!("<p>{}</p>", escape(message))))
}

#[utoipa::path(get, path = "/contacts/opt-out/{token}", tag = "contacts", operation_id = "contacts_opt_out_page",
    params(("token" = String, Path, description = "The signed opt-out token")),
    description = "The opt-out page with its button (HTML). Changes nothing.",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn opt_out_page(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let contact = opting_out(&state, &token).await?;
    let owner = escape(&owner_name(&state, &contact).await?);
    let body = format!(
        "<p>Stop all messages about {owner}'s reminders?</p><form method=\"post\"><button>Stop messages</button></form>"
    );
    Ok(page("Stop messages", &body))
}

#[utoipa::path(post, path = "/contacts/opt-out/{token}", tag = "contacts", operation_id = "contacts_opt_out",
    params(("token" = String, Path, description = "The signed opt-out token")),
    description = "Opts out at once: no further message reaches this contact (HTML).",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn opt_out(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let contact = opting_out(&state, &token).await?;
    if contact.consent_status != "opted_out" {
        let changes = ContactChanges {
            consent_status: Some("opted_out".to_owned()),
            opted_out_at: Some(Some(state.clock.now())),
            ..Default::default()
        };
        record(&state, &contact, changes).await?;
    }
    Ok(page("Stop messages", "<p>Done: you will not get any more messages.</p>"))
}

/// Writes the contact's decision. A declined or opted-out contact frees the owner's slot, so the oldest
/// contact paused for the tier limit is asked again; both in one transaction.
async fn record(state: &AppState, contact: &ContactRow, changes: ContactChanges) -> Result<(), ApiError> {
    let id = contact.id;
    crate::billing::service::freeing_a_slot(
        state,
        contact.user_id,
        crate::billing::service::Freed::TrustedContact,
        |conn| {
            Box::pin(async move {
                store::update(conn, id, &changes).await?;
                Ok(())
            })
        },
    )
    .await
}

/// What an SMS `YES` (or `YES 2`) from a phone came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextedYes {
    /// No unexpired invitation was texted to this number.
    NoInvitation,
    /// The one invitation meant is accepted.
    Accepted { inviter: String },
    /// Several invitations were texted to this number and the reply did not pick one of them: nothing was
    /// accepted. The inviters, in the order `YES 1`, `YES 2`… name them.
    Choose(Vec<String>),
}

/// An SMS reply `YES` from a phone accepts an invitation that was texted to that very number within its 14
/// days: never one only emailed (whoever holds a number someone typed in must not become their contact),
/// nor an expired one. With several, `choice` (`YES 2` → 2) says which; without it nothing is accepted and
/// the sender is asked. (STOP needs nothing here: `sms_opt_outs` is honoured wherever contacts are resolved.)
pub async fn accept_by_phone(
    conn: &mut diesel_async::AsyncPgConnection,
    phone: &str,
    choice: Option<usize>,
    now: DateTime<Utc>,
) -> diesel::QueryResult<TextedYes> {
    let since = now - chrono::Duration::days(INVITATION_DAYS);
    let mut texted = store::invitations_texted_to(conn, phone, since).await?;
    let index = match (choice, texted.len()) {
        (_, 0) => return Ok(TextedYes::NoInvitation),
        (None, 1) => 0,
        (Some(n), len) if (1..=len).contains(&n) => n - 1,
        _ => return Ok(TextedYes::Choose(texted.into_iter().map(|t| t.inviter).collect())),
    };
    let chosen = texted.swap_remove(index);
    if store::accept_pending(conn, chosen.contact, now).await? == 0 {
        return Ok(TextedYes::NoInvitation);
    }
    Ok(TextedYes::Accepted { inviter: chosen.inviter })
}
