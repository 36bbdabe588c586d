//! Twilio's webhooks: inbound texts (replies that act on reminders, like email replies) and delivery receipts. Both are form-encoded and signed; a missing or
//! wrong `X-Twilio-Signature` (or no `TWILIO_AUTH_TOKEN` to check it with) answers 403 and changes nothing.

mod receipts;
mod replies;

use actix_web::{HttpRequest, HttpResponse, web};
use receipts::Receipt;
use reminder_core::ids::DeliveryId;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::agents::sms::signature;
use crate::http::{ApiError, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => inbound_sms, status);
}

/// The POST parameters of a verified Twilio request.
struct Signed(Vec<(String, String)>);

impl Signed {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Checks the signature over the URL Twilio called: our public base URL (`API_URL`, as configured in Twilio)
/// plus the path and query it requested, whatever host a proxy in front of us forwarded it as.
fn verified(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<Signed, ApiError> {
    let refused = || ApiError::forbidden("The request signature does not verify.");
    let Some(twilio) = &state.config.twilio else { return Err(refused()) };
    let path = req.uri().path_and_query().map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    let url = format!("{}{path}", state.config.api_url.as_str().trim_end_matches('/'));
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), value.into_owned())).collect();
    let header = req.headers().get("x-twilio-signature").and_then(|value| value.to_str().ok());
    if signature::verify(twilio.auth_token.expose_secret(), &url, &params, header) {
        Ok(Signed(params))
    } else {
        tracing::warn!(path = req.path(), "twilio webhook with a bad or missing signature refused");
        Err(refused())
    }
}

/// A TwiML answer with one message, escaped.
fn twiml(message: &str) -> HttpResponse {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    HttpResponse::Ok()
        .content_type("application/xml")
        .body(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{escaped}</Message></Response>"))
}

/// The form fields of an inbound message that we read, for the document (the handler reads the signed form
/// itself: Twilio signs every field, including those it adds later).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TwilioSmsForm {
    #[schema(rename = "From")]
    from: String,
    #[schema(rename = "Body")]
    body: Option<String>,
}

/// The form fields of a delivery receipt that we read, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TwilioStatusForm {
    #[schema(rename = "MessageSid")]
    message_sid: String,
    #[schema(rename = "MessageStatus")]
    message_status: String,
    #[schema(rename = "ErrorCode")]
    error_code: Option<String>,
}

/// Inbound SMS: ACK, DONE, SNOOZE <phrase>, STOP, START, HELP.
#[utoipa::path(post, path = "/v1/webhooks/twilio/sms", tag = "webhooks",
    request_body(content = TwilioSmsForm, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's inbound message parameters (`From`, `Body`, …)"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    responses(
        (status = 200, description = "TwiML answer to the sender", content_type = "application/xml", body = String),
        (status = 403, description = "Missing or wrong signature; nothing changed"),
    ))]
pub async fn inbound_sms(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signed = verified(&state, &req, &body)?;
    let Some(from) = signed.get("From").filter(|from| !from.is_empty()) else {
        return Ok(twiml("Sorry, this message could not be read."));
    };
    let reply = replies::handle(&state, from, signed.get("Body").unwrap_or_default()).await?;
    Ok(twiml(&reply))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The delivery the message belongs to, as put in the callback URL when sending.
    pub delivery: Option<String>,
}

/// Delivery receipt: `delivered` marks the delivery delivered, `failed`/`undelivered` failed.
#[utoipa::path(post, path = "/v1/webhooks/twilio/status", tag = "webhooks", params(StatusQuery,
        ("X-Twilio-Signature" = String, Header, description = "Twilio's request signature")),
    request_body(content = TwilioStatusForm, content_type = "application/x-www-form-urlencoded",
        description = "Twilio's status parameters (`MessageSid`, `MessageStatus`, `ErrorCode`)"),
    responses(
        (status = 204, description = "Receipt taken (also when it changes nothing)"),
        (status = 403, description = "Missing or wrong signature; nothing changed"),
    ))]
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<StatusQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signed = verified(&state, &req, &body)?;
    let delivery = query.delivery.as_deref().and_then(|id| Uuid::parse_str(id).ok()).map(DeliveryId);
    let receipt = Receipt::from_status(signed.get("MessageStatus").unwrap_or_default(), signed.get("ErrorCode"));
    if let (Some(delivery), Some(receipt)) = (delivery, receipt) {
        let mut conn = state.db.get().await?;
        let now = state.clock.now();
        receipts::apply(&mut conn, delivery, signed.get("MessageSid"), &receipt, now).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
