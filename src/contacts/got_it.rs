//! A trusted contact's "I've got it" link: it acknowledges the episode for everyone (the contact recorded as
//! the actor) and the owner is told by email. The token names the delivery that reached the contact, so it
//! only acts on that delivery's episode while it is open and not yet acknowledged. Channels put
//! [`got_it_link`] into what they send to a contact.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::consent::{escape, page};
use super::ensure_enabled;
use crate::db::schema::{deliveries, trusted_contacts};
use crate::escalation::actions::{self, Actor};
use crate::escalation::episodes;
use crate::http::ApiError;
use crate::notifications::notice::{self, Notice};
use crate::state::AppState;

const PURPOSE: &str = "contact-got-it";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contacts/got-it/{token}").get(got_it_page).post(got_it));
}

/// The link for the contact who received `delivery`.
pub fn got_it_link(config: &crate::config::Config, delivery: Uuid) -> String {
    GotItLinks::new(config).link(delivery)
}

/// Makes "I've got it" links without the whole configuration (channels keep one).
pub struct GotItLinks {
    key: secrecy::SecretBox<[u8; 32]>,
    base: String,
}

impl GotItLinks {
    pub fn new(config: &crate::config::Config) -> Self {
        GotItLinks {
            key: secrecy::SecretBox::new(Box::new(*config.encryption_key.expose_secret())),
            base: config.api_url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    pub fn link(&self, delivery: Uuid) -> String {
        let token = crate::crypto::seal_id(self.key.expose_secret(), PURPOSE, delivery);
        format!("{}/contacts/got-it/{token}", self.base)
    }
}

/// A delivery that reached a trusted contact: what acting on the contact's "I've got it" needs. Loaded by
/// position from a got-it token, and by column name for an SMS reply.
#[derive(Debug, Clone, Queryable, diesel::QueryableByName)]
pub struct ContactDelivery {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub owner: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub reminder: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub episode: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub contact: Uuid,
    /// The reminder's title.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub title: String,
    /// The contact's name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
}

async fn named(state: &AppState, token: &str) -> Result<ContactDelivery, ApiError> {
    let invalid = || ApiError::not_found("Link");
    let key = state.config.encryption_key.expose_secret();
    let delivery = crate::crypto::open_id(key, PURPOSE, token).ok_or_else(invalid)?;
    let mut conn = state.db.get().await?;
    deliveries::table
        .find(delivery)
        .filter(deliveries::target_kind.eq("contact"))
        .inner_join(trusted_contacts::table.on(trusted_contacts::id.eq(deliveries::target_id)))
        .inner_join(crate::db::schema::reminders::table)
        .select((
            deliveries::user_id,
            deliveries::reminder_id,
            deliveries::escalation_id,
            deliveries::target_id,
            crate::db::schema::reminders::title,
            trusted_contacts::name,
        ))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(invalid)
}

#[utoipa::path(get, path = "/contacts/got-it/{token}", tag = "contacts", operation_id = "contacts_got_it_page",
    params(("token" = String, Path, description = "The signed token from a contact's message")),
    description = "The \"I've got it\" page with its button (HTML). Changes nothing.",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn got_it_page(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let named = named(&state, &token).await?;
    let body =
        format!("<p>Reminder: {}</p><form method=\"post\"><button>I've got it</button></form>", escape(&named.title));
    Ok(page("Will you take care of it?", &body))
}

#[utoipa::path(post, path = "/contacts/got-it/{token}", tag = "contacts", operation_id = "contacts_got_it",
    params(("token" = String, Path, description = "The signed token from a contact's message")),
    description = "Acknowledges the episode for everyone, with the contact as the actor, and tells the owner (HTML). \
        Once acknowledged, a second press changes nothing.",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn got_it(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let named = named(&state, &token).await?;
    if !take_it(&state, &named).await? {
        return Ok(page("Thank you", "<p>This was already taken care of; nothing more to do.</p>"));
    }
    Ok(page("Thank you", "<p>Thank you: they have been told you will take care of it.</p>"))
}

/// The contact of `named` has got it: acknowledges the episode for everyone, with the contact as the actor,
/// and emails the owner. Only while that episode is open and not yet acknowledged; returns whether it acted.
/// The link above and an SMS reply (`OK`) both come here.
pub async fn take_it(state: &AppState, named: &ContactDelivery) -> Result<bool, ApiError> {
    let ContactDelivery { owner, reminder, episode, contact, ref title, ref name } = *named;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let acted = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Same lock order as the action path: the reminder, then its open episode.
            if crate::reminders::store::lock_for(conn, owner, reminder).await?.is_none() {
                return Ok(false);
            }
            let open = episodes::lock_open(conn, reminder).await?;
            if !open.is_some_and(|open| open.id == episode && open.status == "active") {
                return Ok(false);
            }
            actions::acknowledge(conn, owner, reminder, Actor::Contact(contact), Some("I've got it"), now).await?;
            Ok(true)
        })
        .await?;
    if acted {
        let notice = Notice {
            subject: format!("{name} has got it: {title}"),
            text: format!("{name} said they will take care of \"{title}\". Escalation is paused for this reminder."),
        };
        if let Err(err) = notice::email_owner(state, owner, notice).await {
            tracing::warn!(user.id = %owner, error = %err, "the owner could not be told that a contact has it");
        }
    }
    Ok(acted)
}
