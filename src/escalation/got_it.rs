//! A trusted contact's "I've got it" link: it acknowledges the episode for everyone (the contact recorded as
//! the actor) and the owner is told by email. The token names the delivery that reached the contact, so it
//! only acts on that delivery's episode while it is open and not yet acknowledged. Channels put
//! links made by [`crate::notifications::got_it_links::GotItLinks`] into what they send to a contact.
//!
//! The link, an SMS reply `OK` and an email reply `got it` all work for [`lifetime`] after the message was
//! sent, and only while the contact is still an accepted one: a contact who opted out (or whose address
//! changed and has not consented again) cannot act through an old message. [`reply`] is the one rule for
//! what a contact's reply may do.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use reminder_core::ids::{ContactId, DeliveryId, EpisodeId, ReminderId, UserId};
use reminder_core::machine::EpisodeStatus;

use super::actions::{self, Actor};
use super::episodes;
use crate::accounts::users::notice::{self, Notice};
use crate::contacts::consent::{escape, page};
use crate::contacts::ensure_enabled;
use crate::db::schema::{deliveries, trusted_contacts};
use crate::http::{ApiError, ErrorCode, Routes, routes};
use crate::notifications::got_it_links::GotItLinks;
use crate::state::AppState;

/// How long a contact's "I've got it" works after the message was sent. A week outlasts any escalation a
/// profile can run (ten loops of tiers and gaps), so a contact never finds it dead while they are still being
/// asked; a message found in a mailbox or an old phone later acts on nothing.
pub fn lifetime() -> chrono::Duration {
    chrono::Duration::days(7)
}

pub fn configure(r: &mut Routes) {
    routes!(r => got_it_page, got_it);
}

/// A delivery that reached a trusted contact: what acting on the contact's "I've got it" needs. Loaded by
/// position from a got-it token, and by column name for an SMS reply.
#[derive(Debug, Clone, Queryable, diesel::QueryableByName)]
pub struct ContactDelivery {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub owner: UserId,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub reminder: ReminderId,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub episode: EpisodeId,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub contact: ContactId,
    /// The reminder's title.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub title: String,
    /// The contact's name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// When the message reached the contact (sent, or created when the send time is unknown).
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub sent_at: chrono::DateTime<chrono::Utc>,
}

impl ContactDelivery {
    /// True once [`lifetime`] has passed since the message was sent.
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.sent_at + lifetime() < now
    }
}

/// What a contact's "I've got it" (or any other reply of theirs) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotIt {
    /// The episode is acknowledged with the contact as the actor; the owner was told.
    Taken,
    /// The episode was already acknowledged or is over; nothing changed.
    AlreadyTaken,
    /// The message is older than [`lifetime`]; nothing changed.
    Expired,
    /// The contact asked for something only the owner may do (done, snooze…); nothing changed.
    OwnersOnly,
}

/// The delivery `delivery` as it reached a trusted contact who is still accepted; None for any other
/// delivery, and once the contact opted out, declined or was readdressed.
pub async fn load(
    conn: &mut diesel_async::AsyncPgConnection,
    delivery: DeliveryId,
) -> QueryResult<Option<ContactDelivery>> {
    deliveries::table
        .find(delivery)
        .filter(deliveries::target_kind.eq("contact"))
        .inner_join(trusted_contacts::table.on(trusted_contacts::id.eq(deliveries::target_id)))
        .filter(trusted_contacts::consent_status.eq("accepted"))
        .inner_join(crate::db::schema::reminders::table)
        .select((
            deliveries::user_id,
            deliveries::reminder_id,
            deliveries::escalation_id,
            deliveries::target_id,
            crate::db::schema::reminders::title,
            trusted_contacts::name,
            diesel::dsl::sql::<diesel::sql_types::Timestamptz>("coalesce(deliveries.sent_at, deliveries.created_at)"),
        ))
        .first(conn)
        .await
        .optional()
}

async fn named(state: &AppState, token: &str) -> Result<ContactDelivery, ApiError> {
    let invalid = || ApiError::not_found("Link");
    let delivery = GotItLinks::new(&state.config).open(token).ok_or_else(invalid)?;
    let mut conn = state.db.get().await?;
    let named = load(&mut conn, delivery).await?.ok_or_else(invalid)?;
    if named.expired(state.clock.now()) {
        return Err(ApiError::new(ErrorCode::NotFound, "This link has expired."));
    }
    Ok(named)
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
        Once acknowledged, a second press changes nothing. The link works for 7 days after the message was sent and \
        only while the contact is an accepted one (404 after an opt-out).",
    responses((status = 200, content_type = "text/html", body = String), (status = 404)))]
pub async fn got_it(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ensure_enabled(&state)?;
    let named = named(&state, &token).await?;
    if take_it(&state, &named).await? != GotIt::Taken {
        return Ok(page("Thank you", "<p>This was already taken care of; nothing more to do.</p>"));
    }
    Ok(page("Thank you", "<p>Thank you: they have been told you will take care of it.</p>"))
}

/// The one rule for a trusted contact's reply, by text or by email: they can say they have got it
/// (`says_got_it`), and nothing else. Completing, snoozing and acknowledging in the owner's name stay the
/// owner's, whatever the contact's message asks.
pub async fn reply(state: &AppState, named: &ContactDelivery, says_got_it: bool) -> Result<GotIt, ApiError> {
    if !says_got_it {
        return Ok(GotIt::OwnersOnly);
    }
    take_it(state, named).await
}

/// The contact of `named` has got it: acknowledges the episode for everyone, with the contact as the actor,
/// and emails the owner. Only within [`lifetime`] and while that episode is open and not yet acknowledged.
/// The link above and the replies (SMS `OK`, email `got it`, through [`reply`]) all come here.
pub async fn take_it(state: &AppState, named: &ContactDelivery) -> Result<GotIt, ApiError> {
    let ContactDelivery { owner, reminder, episode, contact, ref title, ref name, .. } = *named;
    let now = state.clock.now();
    if named.expired(now) {
        return Ok(GotIt::Expired);
    }
    let mut conn = state.db.get().await?;
    let acted = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Same lock order as the action path: the reminder, then its open episode.
            if crate::reminders::store::lock_for(conn, owner, reminder).await?.is_none() {
                return Ok(false);
            }
            let open = episodes::lock_open(conn, reminder).await?;
            if !open.is_some_and(|open| open.id == episode && open.status == EpisodeStatus::Active) {
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
    Ok(if acted { GotIt::Taken } else { GotIt::AlreadyTaken })
}
