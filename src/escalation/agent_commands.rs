//! Commands from marketplace agents: `POST /v1/webhooks/agent/{agentType}` (and the same at
//! `POST /v1/agents/{agentType}/commands`) acknowledge, snooze or complete the reminder of one of the
//! agent's deliveries.
//!
//! A command is a Standard Webhook signed with the type's secret: `webhook-id` (its idempotency key),
//! `webhook-timestamp` (within five minutes of our clock) and `webhook-signature`. The signature is checked
//! before the body is read. A delivery of another type, or of an earlier occurrence, is refused. The action
//! goes through the one action path as actor `agent:<type id>`, in the transaction that records the command
//! id, so a repeated command gets the first answer and changes nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::actions::{self, ActionError, Actor};
use super::{episodes, snooze};
use crate::agents::marketplace::{service as marketplace, store as agents};
use crate::db::schema::{agent_commands, deliveries, reminders, user_agent_subscriptions};
use crate::http::envelope::Envelope;
use crate::http::json::parse_body;
use crate::http::{ApiError, ErrorCode, Routes, routes};
use crate::state::AppState;

/// How far a command's timestamp may be from our clock (the Standard Webhooks default).
const TOLERANCE_SECS: i64 = 300;
const BODY_MAX: usize = 4096;

pub fn configure(r: &mut Routes) {
    routes!(r => inbound, commands);
}

/// A command's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentCommand {
    /// `acknowledge`, `snooze` or `complete`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The delivery the agent received (`data.deliveryId`).
    #[schema(value_type = Uuid)]
    pub delivery_id: DeliveryId,
    /// Snooze: until this instant…
    pub until: Option<DateTime<Utc>>,
    /// …or for a phrase read in the reminder's zone ("30 minutes", "until tomorrow 9am").
    pub duration: Option<String>,
    /// Kept in the event log (up to 1000 characters).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    pub command: String,
    #[schema(value_type = Uuid)]
    pub delivery_id: DeliveryId,
    #[schema(value_type = Uuid)]
    pub reminder_id: ReminderId,
    /// The reminder's status after the command.
    pub status: String,
    /// Until when it is snoozed (snooze only).
    pub snoozed_until: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/webhooks/agent/{agentType}", tag = "marketplace", operation_id = "agent_webhook",
    params(("agentType" = String, Path, description = "The marketplace type, x-…")), request_body = AgentCommand,
    description = "A command from an approved agent type with the `commands` capability, signed the Standard Webhooks \
        way with its secret. A repeated `webhook-id` gets the first answer and changes nothing. 404 unless \
        FEATURE_MARKETPLACE is on.",
    responses((status = 200, body = Envelope<CommandResult>), (status = 400), (status = 401), (status = 403),
        (status = 404), (status = 409), (status = 422)))]
pub async fn inbound(
    state: web::Data<AppState>,
    agent_type: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    handle(&state, &agent_type, &req, &body).await
}

#[utoipa::path(post, path = "/v1/agents/{agentType}/commands", tag = "marketplace", operation_id = "agent_commands",
    params(("agentType" = String, Path, description = "The marketplace type, x-…")), request_body = AgentCommand,
    description = "The same as `POST /v1/webhooks/agent/{agentType}`, under the agents' own path.",
    responses((status = 200, body = Envelope<CommandResult>), (status = 400), (status = 401), (status = 403),
        (status = 404), (status = 409), (status = 422)))]
pub async fn commands(
    state: web::Data<AppState>,
    agent_type: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    handle(&state, &agent_type, &req, &body).await
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|value| value.to_str().ok())
}

fn unsigned(why: &str) -> ApiError {
    ApiError::unauthorized(format!("The command is not signed by this agent type: {why}. Nothing was changed."))
}

/// Checks id, timestamp and signature against the type's secret.
fn verify(req: &HttpRequest, secret: &str, body: &[u8], now: DateTime<Utc>) -> Result<String, ApiError> {
    let id = header(req, "webhook-id")
        .filter(|id| (1..=200).contains(&id.len()))
        .ok_or_else(|| unsigned("no webhook-id"))?;
    let timestamp: i64 = header(req, "webhook-timestamp")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| unsigned("no webhook-timestamp"))?;
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err(unsigned("its timestamp is more than five minutes from ours"));
    }
    let expected = crate::agents::webhook::sign(secret, id, timestamp, body).ok_or_else(|| unsigned("no key"))?;
    let given = header(req, "webhook-signature").unwrap_or_default();
    let matches =
        given.split(' ').any(|candidate| crate::crypto::constant_time_eq(candidate.as_bytes(), expected.as_bytes()));
    if !matches {
        return Err(unsigned("the signature does not match"));
    }
    Ok(id.to_owned())
}

async fn handle(state: &AppState, agent_type: &str, req: &HttpRequest, body: &[u8]) -> Result<HttpResponse, ApiError> {
    marketplace::require_enabled(state)?;
    if body.len() > BODY_MAX {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("A command is at most {BODY_MAX} bytes.")));
    }
    let mut conn = state.db.get().await?;
    let agent = agents::find_by_type(&mut conn, agent_type)
        .await?
        .filter(|agent| agent.status == "approved")
        .ok_or_else(|| ApiError::not_found("Agent type"))?;
    let secret =
        crate::crypto::decrypt(state.config.encryption_key.expose_secret(), agent.id, &agent.secret_ciphertext)
            .ok()
            .and_then(|plain| String::from_utf8(plain).ok())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an agent type's secret does not decrypt")))?;
    let now = state.clock.now();
    let message_id = verify(req, &secret, body, now)?;
    if !agent.capabilities.iter().any(|c| c == "commands") {
        return Err(ApiError::forbidden("This agent type did not ask for the commands capability."));
    }
    let command: AgentCommand = parse_body(body)?;
    if !["acknowledge", "snooze", "complete"].contains(&command.kind.as_str()) {
        return Err(ApiError::field("type", "must be acknowledge, snooze or complete"));
    }
    let note = crate::escalation::snooze::ActionInput { note: command.note.clone() };
    let note = note.note()?;
    let config = &state.config;
    let (status, answer) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let first = diesel::insert_into(agent_commands::table)
                .values((
                    agent_commands::agent_id.eq(agent.id),
                    agent_commands::message_id.eq(&message_id),
                    agent_commands::delivery_id.eq(command.delivery_id),
                    agent_commands::command.eq(&command.kind),
                    agent_commands::status.eq(0i16),
                    agent_commands::answer.eq(json!({})),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if first == 0 {
                // A repeat: the first answer, unchanged.
                let (status, answer): (i16, Value) = agent_commands::table
                    .find((agent.id, &message_id))
                    .select((agent_commands::status, agent_commands::answer))
                    .first(conn)
                    .await?;
                return Ok((status, answer));
            }
            let (status, answer) = match act(conn, config, agent.id, agent_type, &command, note, now).await {
                Ok(result) => (200, json!({"data": result})),
                Err(err) => (err.code().status().as_u16(), error_body(&err)),
            };
            let status = i16::try_from(status).unwrap_or(500);
            diesel::update(agent_commands::table.find((agent.id, &message_id)))
                .set((agent_commands::status.eq(status), agent_commands::answer.eq(&answer)))
                .execute(conn)
                .await?;
            Ok((status, answer))
        })
        .await?;
    let status =
        StatusCode::from_u16(u16::try_from(status).unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok(HttpResponse::build(status).json(answer))
}

fn error_body(err: &ApiError) -> Value {
    let message = match err {
        ApiError::Client { message, .. } => message.clone(),
        _ => "The command could not be carried out.".to_owned(),
    };
    json!({"error": {"code": err.code(), "message": message}})
}

/// The delivery, when it went to a subscriber of this type.
#[derive(Queryable)]
struct AgentDelivery {
    user_id: UserId,
    reminder_id: ReminderId,
    escalation_id: EpisodeId,
    timezone: String,
}

async fn act(
    conn: &mut AsyncPgConnection,
    config: &crate::config::Config,
    agent_id: Uuid,
    agent_type: &str,
    command: &AgentCommand,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CommandResult, ApiError> {
    let delivery: AgentDelivery = deliveries::table
        .inner_join(reminders::table)
        .inner_join(user_agent_subscriptions::table.on(user_agent_subscriptions::id.eq(deliveries::target_id)))
        .filter(deliveries::id.eq(command.delivery_id))
        .filter(deliveries::target_kind.eq("subscription"))
        .filter(user_agent_subscriptions::agent_type.eq(agent_type))
        .select((deliveries::user_id, deliveries::reminder_id, deliveries::escalation_id, reminders::timezone))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::not_found("Delivery"))?;
    // Only the delivery's own occurrence: an old notification must not act on a later one.
    crate::reminders::store::lock_for(conn, delivery.user_id, delivery.reminder_id).await?;
    match episodes::lock_open(conn, delivery.reminder_id).await? {
        Some(open) if open.id == delivery.escalation_id => {}
        _ => {
            return Err(ApiError::conflict(
                "The reminder was already completed or snoozed, or has moved on to a later occurrence.",
            ));
        }
    }
    let actor = Actor::Agent(agent_id);
    let (owner, reminder) = (delivery.user_id, delivery.reminder_id);
    let outcome = match command.kind.as_str() {
        "acknowledge" => actions::acknowledge(conn, owner, reminder, actor, note, now).await,
        "complete" => actions::complete(conn, owner, reminder, actor, note, now).await,
        _ => {
            let zone = reminder_core::timezone::parse_zone(&delivery.timezone).unwrap_or(chrono_tz::UTC);
            let input = snooze::SnoozeInput { until: command.until, duration: command.duration.clone() };
            let target = snooze::resolve_for(config, conn, owner, input, now, zone).await?;
            actions::snooze(conn, owner, reminder, actor, &target, now).await
        }
    };
    let outcome = outcome.map_err(|err| match err {
        ActionError::NotFound => ApiError::not_found("Delivery"),
        other => other.into(),
    })?;
    Ok(CommandResult {
        command: command.kind.clone(),
        delivery_id: command.delivery_id,
        reminder_id: reminder,
        status: outcome.reminder.status.as_str().to_owned(),
        snoozed_until: outcome.reminder.snoozed_until,
    })
}
