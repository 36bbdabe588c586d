//! `POST /v1/webhooks/square`: the signature is checked over the notification URL and the raw body
//! before anything is read; each event id is stored once, in the same transaction as its effect, so a
//! replay is answered 200 and changes nothing. Unknown event types are stored and answered 200.

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use reminder_core::ids::UserId;
use reminder_core::tiers::Tier;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::checkouts;
use super::service::{ApplyTierLimits, Paused, notify_paused};
use super::square::Square;
use super::store::{self, NewPayment, SquareChanges};
use crate::accounts::users::notice::{Notice, email_owner};
use crate::db::schema::processed_webhook_events;
use crate::http::ApiError;
use crate::state::AppState;

pub const PATH: &str = "/v1/webhooks/square";

/// Whether `signature` is base64(HMAC-SHA256(key, notification_url + body)), compared in constant time.
pub fn verify(key: &str, notification_url: &str, body: &[u8], signature: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else { return false };
    mac.update(notification_url.as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    expected.as_bytes().ct_eq(signature.trim().as_bytes()).into()
}

/// The URL Square signs: the public base URL and this route.
pub fn notification_url(state: &AppState) -> String {
    let base = state.config.api_url.as_str().trim_end_matches('/');
    format!("{base}{PATH}")
}

/// What to tell owners once the event's transaction committed.
enum After {
    Nothing,
    /// Per owner, what a tier change paused.
    Paused(Vec<(UserId, Vec<Paused>)>),
    PaymentFailed(UserId),
}

/// Verifies and handles one notification. A change of tier applies the new limits with `apply_limits` in
/// the event's transaction (see [`ApplyTierLimits`]).
pub async fn receive(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
    apply_limits: ApplyTierLimits,
) -> Result<(), ApiError> {
    let Some(key) = state.config.square_webhook_signature_key.as_ref() else {
        return Err(ApiError::unauthorized("Square webhooks are not configured on this server."));
    };
    let signed = signature.is_some_and(|s| verify(key.expose_secret(), &notification_url(state), body, s));
    if !signed {
        return Err(ApiError::unauthorized("The Square signature does not verify."));
    }
    let event: Value = serde_json::from_slice(body).map_err(|_| ApiError::bad_request("The body is not JSON."))?;
    let (Some(event_id), Some(kind)) = (event["event_id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::bad_request("The event has no event_id or type."));
    };
    // A replay needs no look-up at Square; the insert below is what guarantees "once".
    if seen(state, event_id).await? {
        return Ok(());
    }
    let event = &event;
    let mut conn = state.db.get().await?;
    let after = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let stored = diesel::insert_into(processed_webhook_events::table)
                .values((
                    processed_webhook_events::provider.eq("square"),
                    processed_webhook_events::event_id.eq(event_id),
                    processed_webhook_events::event_type.eq(kind),
                    processed_webhook_events::payload.eq(event),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if stored == 0 {
                return Ok(After::Nothing);
            }
            apply(state, conn, kind, event, apply_limits).await
        })
        .await?;
    drop(conn);
    match after {
        After::Nothing => {}
        After::Paused(owners) => {
            for (user, paused) in owners {
                notify_paused(state, user, &paused).await;
            }
        }
        After::PaymentFailed(user) => {
            let notice = Notice {
                subject: "Your payment failed".to_owned(),
                text: "We could not take your subscription payment. Your plan stays active for now; please update \
                       your payment details with Square to keep it."
                    .to_owned(),
            };
            if let Err(err) = email_owner(state, user, notice).await {
                tracing::error!(user.id = %user, error = format!("{err:#}"), "could not send the payment notice");
            }
        }
    }
    Ok(())
}

async fn seen(state: &AppState, event_id: &str) -> Result<bool, ApiError> {
    let mut conn = state.db.get().await?;
    let found = processed_webhook_events::table
        .filter(processed_webhook_events::provider.eq("square"))
        .filter(processed_webhook_events::event_id.eq(event_id))
        .count()
        .get_result::<i64>(&mut conn)
        .await?;
    Ok(found > 0)
}

fn subscription_of(event: &Value) -> Option<&Value> {
    Some(&event["data"]["object"]["subscription"]).filter(|s| s.is_object())
}

async fn apply(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    kind: &str,
    event: &Value,
    apply_limits: ApplyTierLimits,
) -> Result<After, ApiError> {
    let object = &event["data"]["object"];
    match kind {
        "subscription.created" | "subscription.updated" => {
            let Some(sub) = subscription_of(event) else { return Ok(After::Nothing) };
            let Some(user) = owner_of(state, conn, sub).await? else {
                tracing::warn!(event.type = kind, "Square subscription matches no paid checkout yet; stored only");
                return Ok(After::Nothing);
            };
            subscription_changed(state, conn, user, sub, apply_limits).await
        }
        "invoice.payment_made" | "invoice.payment_failed" => {
            let invoice = &object["invoice"];
            let Some(user) = user_of_subscription(conn, invoice["subscription_id"].as_str()).await? else {
                return Ok(After::Nothing);
            };
            let paid = kind == "invoice.payment_made";
            let money = &invoice["payment_requests"][0]["computed_amount_money"];
            store::record_payment(
                conn,
                &NewPayment {
                    user,
                    invoice_id: invoice["id"].as_str(),
                    payment_id: None,
                    amount_cents: money["amount"].as_i64().unwrap_or(0).max(0),
                    currency: money["currency"].as_str().unwrap_or("USD"),
                    status: if paid { "PAID" } else { "FAILED" },
                    description: invoice["title"].as_str(),
                    paid_at: paid.then(|| state.clock.now()),
                },
            )
            .await?;
            let status = if paid { "ACTIVE" } else { "PAST_DUE" };
            store::apply_square(conn, user, &SquareChanges { status: Some(status.to_owned()), ..Default::default() })
                .await?;
            Ok(if paid { After::Nothing } else { After::PaymentFailed(user) })
        }
        "payment.created" | "payment.updated" => {
            let payment = &object["payment"];
            let status = match payment["status"].as_str() {
                Some("COMPLETED") => "PAID",
                Some("FAILED" | "CANCELED") => "FAILED",
                _ => return Ok(After::Nothing),
            };
            if let Some(id) = payment["id"].as_str() {
                store::update_payment(conn, id, status).await?;
            }
            match (status, payment["order_id"].as_str(), payment["customer_id"].as_str()) {
                ("PAID", Some(order), Some(customer)) => {
                    checkout_paid(state, conn, order, customer, apply_limits).await
                }
                _ => Ok(After::Nothing),
            }
        }
        _ => Ok(After::Nothing),
    }
}

/// The account a subscription belongs to: the one it was already given, or the one whose paid checkout its
/// customer made (which this call claims for it).
async fn owner_of(state: &AppState, conn: &mut AsyncPgConnection, sub: &Value) -> QueryResult<Option<UserId>> {
    let Some(id) = sub["id"].as_str() else { return Ok(None) };
    if let Some(user) = store::find_by_square_id(conn, id).await? {
        return Ok(Some(user));
    }
    let Some(customer) = sub["customer_id"].as_str() else { return Ok(None) };
    let tier = sub["plan_variation_id"].as_str().and_then(|plan| Square::tier_of_plan(&state.config, plan));
    checkouts::claim(conn, id, customer, tier).await
}

/// A payment for one of our checkouts names its buyer; subscription events of that buyer that came first
/// (and were stored unmatched) now find their account.
async fn checkout_paid(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    order: &str,
    customer: &str,
    apply_limits: ApplyTierLimits,
) -> Result<After, ApiError> {
    if !checkouts::paid(conn, order, customer, state.clock.now()).await? {
        return Ok(After::Nothing);
    }
    let mut owners = Vec::new();
    for event in checkouts::waiting_events(conn, customer).await? {
        let Some(sub) = subscription_of(&event) else { continue };
        let Some(user) = owner_of(state, conn, sub).await? else { continue };
        if let After::Paused(paused) = subscription_changed(state, conn, user, sub, apply_limits).await? {
            owners.extend(paused);
        }
    }
    Ok(After::Paused(owners))
}

async fn user_of_subscription(conn: &mut AsyncPgConnection, id: Option<&str>) -> QueryResult<Option<UserId>> {
    match id {
        Some(id) => store::find_by_square_id(conn, id).await,
        None => Ok(None),
    }
}

/// Applies a Square subscription's state: tier from its plan, status, period end, cancellation. A tier
/// change applies the new limits at once.
async fn subscription_changed(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    user: UserId,
    sub: &Value,
    apply_limits: ApplyTierLimits,
) -> Result<After, ApiError> {
    let square_status = sub["status"].as_str().unwrap_or("ACTIVE");
    let ended = matches!(square_status, "CANCELED" | "DEACTIVATED");
    let tier = if ended {
        Some(Tier::Free)
    } else {
        sub["plan_variation_id"].as_str().and_then(|plan| Square::tier_of_plan(&state.config, plan))
    };
    let status = match square_status {
        "ACTIVE" => "ACTIVE",
        "PENDING" => "PENDING",
        "CANCELED" | "DEACTIVATED" => "CANCELED",
        _ => "PAST_DUE",
    };
    let date = |field: &str| {
        sub[field]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| DateTime::<Utc>::from_naive_utc_and_offset(d, Utc))
    };
    store::lock(conn, user).await?;
    let changes = SquareChanges {
        tier: tier.map(|t| t.as_str().to_owned()),
        status: Some(status.to_owned()),
        square_subscription_id: Some(sub["id"].as_str().map(str::to_owned)),
        square_customer_id: sub["customer_id"].as_str().map(|c| Some(c.to_owned())),
        current_period_end: date("charged_through_date").map(Some),
        cancel_at_period_end: Some(!ended && sub["canceled_date"].is_string()),
    };
    store::apply_square(conn, user, &changes).await?;
    let paused = apply_limits(conn, &state.config.tier_limits, user).await?;
    Ok(After::Paused(vec![(user, paused)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_over_url_and_body_verifies_and_anything_else_does_not() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"https://example.com/v1/webhooks/square{\"a\":1}");
        let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert!(verify("key", "https://example.com/v1/webhooks/square", b"{\"a\":1}", &good));
        assert!(!verify("key", "https://example.com/v1/webhooks/square", b"{\"a\":2}", &good));
        assert!(!verify("key", "https://example.org/v1/webhooks/square", b"{\"a\":1}", &good));
        assert!(!verify("other", "https://example.com/v1/webhooks/square", b"{\"a\":1}", &good));
        assert!(!verify("key", "https://example.com/v1/webhooks/square", b"{\"a\":1}", ""));
    }
}
