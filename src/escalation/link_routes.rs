//! `GET /a/{token}` and `POST /a/{token}`: the action links of notifications, answered in HTML for people.
//!
//! GET only shows a confirm page with a form, because mail scanners open every link in a message. POST acts
//! through the one action path ([`crate::escalation::actions`], actor [`Actor::Link`]) in a transaction that
//! also records the link's use, so it acts once; a link acts only on the episode of its own delivery. An
//! invalid, expired, used or outdated link gets a page that says so, and nothing changes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use reminder_core::machine::EpisodeStatus;
use serde_json::json;
use uuid::Uuid;

use super::actions::{self, ActionError, Actor, SnoozeUntil};
use super::episodes;
use crate::db::schema::{action_link_uses, deliveries, escalations, reminders};
use crate::http::{Routes, routes};
use crate::notifications::links::{LinkAction, LinkClaim, LinkError, LinkSigner};
use crate::notifications::templates;
use crate::notifications::unsubscribe::{Stopped, stop};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => confirm, act);
}

/// The path prefix of these routes: their HTML error pages are not turned into the JSON envelope.
pub const PATH_PREFIX: &str = "/a/";

/// One HTML page.
struct Page {
    status: StatusCode,
    title: String,
    message: String,
    /// The button that POSTs the link (confirm pages only).
    button: Option<&'static str>,
}

impl Page {
    fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Page {
        Page { status, title: title.into(), message: message.into(), button: None }
    }

    fn respond(self, token: &str) -> HttpResponse {
        let form = self.button.map(|button| json!({"action": format!("{PATH_PREFIX}{token}"), "button": button}));
        let context = json!({
            "title": self.title,
            "message": self.message,
            "form": form,
            "css": crate::http::assets::css_url(),
            "icon": crate::http::assets::icon_url(),
        });
        match templates::render("page.html", context) {
            Ok(body) => {
                let mut response = HttpResponse::build(self.status)
                    .content_type("text/html; charset=utf-8")
                    .insert_header((
                        "content-security-policy",
                        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
                    ))
                    .insert_header(("x-robots-tag", "noindex"))
                    .body(body);
                // A person opened the link: its error pages stay HTML.
                response.extensions_mut().insert(crate::http::HtmlPage);
                response
            }
            Err(err) => {
                tracing::error!(error = %err, "action link page did not render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("Something went wrong.")
            }
        }
    }
}

fn refused(err: LinkError) -> Page {
    match err {
        LinkError::Invalid => Page::new(
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "It may have been cut short when it was copied. Nothing was changed; open the reminder in the app instead.",
        ),
        LinkError::Expired => Page::new(
            StatusCode::GONE,
            "This link has expired",
            format!(
                "Links in notifications work for {} hours. Nothing was changed; open the reminder in the app instead.",
                crate::notifications::links::lifetime().num_hours()
            ),
        ),
    }
}

fn already_used() -> Page {
    Page::new(
        StatusCode::CONFLICT,
        "This link was already used",
        "It has done its job once already; nothing was changed.",
    )
}

fn failed() -> Page {
    Page::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Nothing was changed. Please try again in a minute.",
    )
}

/// The delivery a link belongs to.
#[derive(Queryable)]
struct LinkedDelivery {
    user_id: UserId,
    reminder_id: ReminderId,
    escalation_id: EpisodeId,
    target_kind: String,
    target_id: Uuid,
    title: String,
    timezone: String,
    /// The status of the delivery's episode.
    episode_status: EpisodeStatus,
}

async fn linked_delivery(conn: &mut AsyncPgConnection, id: DeliveryId) -> QueryResult<Option<LinkedDelivery>> {
    deliveries::table
        .inner_join(reminders::table)
        .inner_join(escalations::table)
        .filter(deliveries::id.eq(id))
        .select((
            deliveries::user_id,
            deliveries::reminder_id,
            deliveries::escalation_id,
            deliveries::target_kind,
            deliveries::target_id,
            reminders::title,
            reminders::timezone,
            escalations::status,
        ))
        .first(conn)
        .await
        .optional()
}

fn verified(state: &AppState, token: &str) -> Result<LinkClaim, Page> {
    LinkSigner::new(&state.config).verify(token, state.clock.now()).map_err(refused)
}

#[utoipa::path(get, path = "/a/{token}", tag = "notifications", operation_id = "action_link_confirm",
    params(("token" = String, Path, description = "The signed token of a notification's action link")),
    responses(
        (status = 200, description = "A confirm page (HTML) with a button that POSTs the link; nothing is done yet", content_type = "text/html", body = String),
        (status = 400, description = "Invalid link page (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "Already used, or the reminder moved on (HTML)", content_type = "text/html", body = String),
        (status = 410, description = "Expired link page (HTML)", content_type = "text/html", body = String),
        (status = 500, description = "Failure page (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn confirm(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let claim = match verified(&state, &token) {
        Ok(claim) => claim,
        Err(page) => return page.respond(&token),
    };
    let found = async {
        let mut conn = state.db.get().await?;
        let used = action_link_uses::table.find(claim.use_id()).count().get_result::<i64>(&mut conn).await? > 0;
        anyhow::Ok((used, linked_delivery(&mut conn, claim.delivery_id).await?))
    }
    .await;
    let page = match found {
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "could not load an action link");
            failed()
        }
        Ok((true, _)) => already_used(),
        Ok((false, None)) => refused(LinkError::Invalid),
        Ok((false, Some(delivery)))
            if claim.action != LinkAction::Unsubscribe && !EpisodeStatus::OPEN.contains(&delivery.episode_status) =>
        {
            moved_on(&delivery)
        }
        Ok((false, Some(delivery))) => {
            let (question, button) = match claim.action {
                LinkAction::Acknowledge => ("Acknowledge", "Acknowledge"),
                LinkAction::Complete => ("Mark as done", "Mark as done"),
                LinkAction::Snooze => ("Snooze for 1 hour", "Snooze 1 hour"),
                LinkAction::SnoozeHalfHour => ("Snooze for 30 minutes", "Snooze 30 minutes"),
                LinkAction::Unsubscribe => ("Stop these notifications", "Unsubscribe"),
            };
            let mut page = Page::new(
                StatusCode::OK,
                format!("{question}: {}?", delivery.title),
                "Press the button to confirm. (Nothing happens until you do.)",
            );
            page.button = Some(button);
            page
        }
    };
    page.respond(&token)
}

#[utoipa::path(post, path = "/a/{token}", tag = "notifications", operation_id = "action_link_act",
    params(("token" = String, Path, description = "The signed token of a notification's action link")),
    responses(
        (status = 200, description = "Done page (HTML): the action was taken", content_type = "text/html", body = String),
        (status = 400, description = "Invalid link page (HTML); nothing changed", content_type = "text/html", body = String),
        (status = 409, description = "Already used, or the reminder moved on (HTML); nothing changed", content_type = "text/html", body = String),
        (status = 410, description = "Expired link page (HTML); nothing changed", content_type = "text/html", body = String),
        (status = 500, description = "Failure page (HTML); nothing changed", content_type = "text/html", body = String),
    ))]
pub async fn act(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let claim = match verified(&state, &token) {
        Ok(claim) => claim,
        Err(page) => return page.respond(&token),
    };
    let now = state.clock.now();
    let acted = async {
        let mut conn = state.db.get().await.map_err(|err| Refusal::Failed(err.into()))?;
        conn.transaction::<_, Refusal, _>(async |conn| act_once(conn, &claim, now).await).await
    }
    .await;
    let page = match acted {
        Ok(page) => page,
        Err(Refusal::Page(page)) => page,
        Err(Refusal::Failed(err)) => {
            tracing::error!(error = format!("{err:#}"), "an action link failed");
            failed()
        }
    };
    page.respond(&token)
}

/// Why the acting transaction rolled back: a page to show, or a failure.
enum Refusal {
    Page(Page),
    Failed(anyhow::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(err: diesel::result::Error) -> Self {
        Refusal::Failed(err.into())
    }
}

/// Records the use and acts, in the caller's transaction. Any refusal rolls the use back.
async fn act_once(conn: &mut AsyncPgConnection, claim: &LinkClaim, now: DateTime<Utc>) -> Result<Page, Refusal> {
    let first_use = diesel::insert_into(action_link_uses::table)
        .values((
            action_link_uses::token_id.eq(claim.use_id()),
            action_link_uses::used_at.eq(now),
            action_link_uses::outcome.eq(claim.action.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if first_use == 0 {
        return Err(Refusal::Page(already_used()));
    }
    let delivery = linked_delivery(conn, claim.delivery_id).await?.ok_or(Refusal::Page(refused(LinkError::Invalid)))?;
    if claim.action != LinkAction::Unsubscribe {
        own_open_episode(conn, &delivery).await?;
    }
    let (owner, reminder) = (delivery.user_id, delivery.reminder_id);
    let title = &delivery.title;
    // A link mailed to a family member acts as that member (the owner's own links act as "link").
    let actor = if delivery.target_kind == "member" { Actor::Member(delivery.target_id.into()) } else { Actor::Link };
    let result = match claim.action {
        LinkAction::Unsubscribe => return unsubscribe(conn, &delivery, now).await,
        LinkAction::Acknowledge => actions::acknowledge(conn, owner, reminder, actor, None, now)
            .await
            .map(|_| ("Acknowledged", format!("\u{201c}{title}\u{201d} is acknowledged; escalation is paused."))),
        LinkAction::Complete => actions::complete(conn, owner, reminder, actor, None, now)
            .await
            .map(|_| ("Done", format!("\u{201c}{title}\u{201d} is marked as done."))),
        // A family member acknowledges or completes for the owner, but the owner's time is not theirs to move.
        LinkAction::Snooze | LinkAction::SnoozeHalfHour if matches!(actor, Actor::Member(_)) => {
            Err(ActionError::NotAllowed("Only the reminder's owner can snooze it.".to_owned()))
        }
        LinkAction::Snooze | LinkAction::SnoozeHalfHour => {
            let zone = reminder_core::timezone::parse_zone(&delivery.timezone).unwrap_or(chrono_tz::UTC);
            let until = now + chrono::Duration::minutes(claim.action.snooze_minutes().unwrap_or(60));
            let echo = reminder_core::nlp::echo(until, zone);
            let target = SnoozeUntil { until, phrase: None, interpreted_as: Some(echo.clone()) };
            actions::snooze(conn, owner, reminder, actor, &target, now)
                .await
                .map(|_| ("Snoozed", format!("\u{201c}{title}\u{201d} is snoozed until {echo}.")))
        }
    };
    match result {
        Ok((heading, message)) => Ok(Page::new(StatusCode::OK, heading, message)),
        Err(ActionError::NotFound) => Err(Refusal::Page(refused(LinkError::Invalid))),
        Err(ActionError::NotAllowed(why)) => Err(Refusal::Page(Page::new(
            StatusCode::CONFLICT,
            "Nothing left to do",
            format!("{why} Nothing was changed."),
        ))),
        Err(ActionError::Database(err)) => Err(err.into()),
        Err(ActionError::Internal(err)) => Err(Refusal::Failed(err)),
    }
}

/// Locks the reminder, then its open episode, and refuses unless that episode is the delivery's own: an
/// old notification must not act on a later occurrence.
async fn own_open_episode(conn: &mut AsyncPgConnection, delivery: &LinkedDelivery) -> Result<(), Refusal> {
    crate::reminders::store::lock_for(conn, delivery.user_id, delivery.reminder_id).await?;
    match episodes::lock_open(conn, delivery.reminder_id).await? {
        Some(open) if open.id == delivery.escalation_id => Ok(()),
        _ => Err(Refusal::Page(moved_on(delivery))),
    }
}

fn moved_on(delivery: &LinkedDelivery) -> Page {
    Page::new(
        StatusCode::CONFLICT,
        "Nothing left to do",
        format!(
            "\u{201c}{}\u{201d} was already completed or snoozed, or has moved on to a later occurrence. \
             Nothing was changed.",
            delivery.title
        ),
    )
}

/// Stops the channel the notification came through: the owner's subscription is disabled, a trusted
/// contact is opted out.
async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    delivery: &LinkedDelivery,
    now: DateTime<Utc>,
) -> Result<Page, Refusal> {
    let how = "unsubscribed through a link in an email";
    let message = match stop(conn, delivery.user_id, &delivery.target_kind, delivery.target_id, how, now).await? {
        Stopped::Member => {
            crate::family::store::unshare_all(conn, delivery.user_id, delivery.target_id.into()).await?;
            "You will receive no more of this family's shared reminders. The owner can share them again."
        }
        Stopped::Contact => "You will not be asked about this person's reminders any more.",
        Stopped::Subscription => {
            "This address will receive no more notifications. You can turn it back on in your notification channels."
        }
    };
    Ok(Page::new(StatusCode::OK, "Unsubscribed", message))
}
