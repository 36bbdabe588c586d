//! Channels: the user's agent subscriptions (email, SMS, webhook, pull) with their state, adding one,
//! confirming an address with its code, test sends, turning one off and deleting it. Every change goes
//! through the same service functions as `/v1/agents/*`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::account::TokenOnly;
use super::{ItemPage, Posted, PostedTo, page, redirect_with, tokened};
use crate::accounts::auth::AuthUser;
use crate::agents::subscriptions::model::{SubscribeInput, SubscriptionPatch, SubscriptionView, TestResult};
use crate::agents::subscriptions::service;
use crate::agents::subscriptions::verification::{self, VerificationView, VerifyInput};
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::{Errors, place};
use crate::console::session::Viewer;
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// The caller as the service functions know it: the session extractor put it on the request.
pub(super) fn caller(req: &HttpRequest, viewer: &Viewer) -> Result<AuthUser, ConsoleError> {
    req.extensions()
        .get::<AuthUser>()
        .filter(|user| user.id == viewer.user_id)
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the session's caller is missing")).into())
}

/// Whether any of the user's channels can receive a reminder now (confirmed, on, not paused).
pub(super) fn any_ready(channels: &[SubscriptionView]) -> bool {
    channels.iter().any(|c| c.verified && c.enabled && c.paused_reason.is_none())
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "email" => "Email",
        "sms" => "SMS",
        "webhook" => "Webhook",
        "pull" => "Pull agent",
        "push" => "Browser push",
        kind if kind.starts_with("x-") => "Marketplace agent",
        _ => "Channel",
    }
}

/// The address, number or URL a channel sends to.
fn target_of(view: &SubscriptionView) -> String {
    let field = match view.agent_type.as_str() {
        "email" => "address",
        "sms" => "phoneNumber",
        "webhook" => "url",
        "push" => "service",
        _ => "name",
    };
    view.config[field].as_str().unwrap_or_default().to_owned()
}

/// A channel as the pages show it.
pub(super) fn shown(view: &SubscriptionView) -> Value {
    let target = target_of(view);
    let (state, state_name, state_text) = if !view.verified {
        ("waiting", "Waiting for its code", "Waiting for its code: it receives nothing else until the code is entered.")
    } else if !view.enabled {
        ("off", "Off", "Off: it receives nothing until you turn it on.")
    } else if view.paused_reason.is_some() {
        (
            "paused",
            "Paused",
            "Paused: your plan allows fewer channels than you have, so this one waits for a free slot.",
        )
    } else {
        ("ready", "Ready", "Ready: reminders reach it.")
    };
    let title = view.name.clone().filter(|n| !n.is_empty()).or_else(|| Some(target.clone()).filter(|t| !t.is_empty()));
    json!({
        "id": view.id,
        "kind": view.agent_type,
        "kindName": kind_name(&view.agent_type),
        "title": title.unwrap_or_else(|| kind_name(&view.agent_type).to_owned()),
        "target": target,
        "targetLabel": match view.agent_type.as_str() {
            "email" => "Address",
            "sms" => "Number",
            "push" => "Push service",
            _ => "URL",
        },
        "verified": view.verified,
        "verifiedAt": view.verified_at,
        "enabled": view.enabled,
        "disabledReason": view.disabled_reason,
        "pausedReason": view.paused_reason,
        "lastUsedAt": view.last_used_at,
        "createdAt": view.created_at,
        "state": state,
        "stateName": state_name,
        "stateText": state_text,
    })
}

/// One channel of the viewer's, or 404 (another user's id included).
async fn find(state: &AppState, user: &AuthUser, id: Uuid) -> Result<SubscriptionView, ConsoleError> {
    service::list(state, user).await?.into_iter().find(|c| c.id.uuid() == id).ok_or(ConsoleError::NotFound)
}

/// A push channel's name: the browser and system it was turned on in, as its user agent says.
fn browser_name(req: &HttpRequest) -> Option<String> {
    let agent = req.headers().get(header::USER_AGENT)?.to_str().ok()?;
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/"].into_iter().find(|name| agent.contains(name))?;
    let browser = match browser {
        "Edg/" => "Edge",
        "Firefox/" => "Firefox",
        "Chrome/" => "Chrome",
        _ => "Safari",
    };
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Mac OS", "macOS"),
        ("Windows", "Windows"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    Some(match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    })
}

/// The add forms, as typed (kept to fill them again after an error). `kind` says which form was sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    kind: String,
    address: String,
    phone: String,
    url: String,
    name: String,
    /// Browser push: the `PushSubscription` JSON the page's script put here.
    subscription: String,
    /// A marketplace type (`x-…`) and the config typed for it, as JSON.
    agent_type: String,
    config: String,
}
tokened!(AddForm);

/// The form field that shows an API field error of the `kind` form.
fn add_field(kind: &str, api_field: &str) -> &'static str {
    match (kind, api_field) {
        ("email", "config.address") => "address",
        ("sms", "config.phoneNumber") => "phone",
        ("webhook", "config.url") => "url",
        ("pull", "name" | "config.name") => "pull_name",
        ("push", _) => "push_form",
        ("agent", _) => "agent_form",
        ("email", _) => "email_form",
        ("sms", _) => "sms_form",
        ("webhook", _) => "webhook_form",
        _ => "pull_form",
    }
}

async fn list_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    form: &AddForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let user = caller(req, viewer)?;
    let channels = service::list(state, &user).await?;
    let mut conn = state.db.get().await?;
    let catalogue = service::catalogue(&mut conn, &user, state.config.feature_marketplace).await?;
    drop(conn);
    let agents: BTreeMap<String, Value> = catalogue
        .iter()
        .map(|a| (a.agent_type.clone(), json!({"available": a.available, "minTier": a.min_tier})))
        .collect();
    let rows: Vec<Value> = channels.iter().map(shown).collect();
    let push_key = state.config.vapid.as_ref().map(|vapid| vapid.public_key.as_str());
    // Approved marketplace types (the catalogue lists them only while the marketplace is on).
    let marketplace: Vec<Value> = catalogue
        .iter()
        .filter(|a| a.agent_type.starts_with("x-"))
        .map(|a| {
            let required = a.config_schema["required"].as_array().cloned().unwrap_or_default();
            json!({"type": a.agent_type, "name": a.name, "description": a.description, "required": required})
        })
        .collect();
    let context = json!({
        "rows": rows, "form": form, "errors": errors, "agents": agents, "tier": user.tier, "push_key": push_key,
        "marketplace": marketplace,
    });
    Ok(page(req, &state.config, viewer, "channels", "channels.html", status, context))
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    list_page(&req, &state, &viewer, &AddForm::default(), &Errors::new(), StatusCode::OK).await
}

/// What a re-rendered channel page carries besides the channel.
#[derive(Default)]
struct Extra {
    /// A new webhook's signing secret: shown on this response only.
    secret: Option<String>,
    code_typed: Option<String>,
    errors: Errors,
    retry_after_secs: Option<u64>,
}

async fn detail_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    extra: Extra,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let user = caller(req, viewer)?;
    let channel = find(state, &user, id).await?;
    let context = json!({
        "c": shown(&channel),
        "secret": extra.secret,
        "code": extra.code_typed.unwrap_or_default(),
        "errors": extra.errors,
    });
    let mut response = page(req, &state.config, viewer, "channels", "channel.html", status, context);
    if let Some(value) = extra.retry_after_secs.and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    detail_page(&req, &state, &viewer, id, Extra::default(), StatusCode::OK).await
}

/// The API's messages name its own routes; on a page the button below says it better.
fn plain(message: &str) -> String {
    match message.find(" (POST ") {
        Some(at) => {
            let rest = &message[at..];
            let tail = rest.find(')').map_or("", |end| &rest[end + 1..]);
            format!("{}{tail}", &message[..at])
        }
        None => message.to_owned(),
    }
}

/// What became of a code sent to `target`.
fn code_message(sent: &VerificationView, target: &str) -> String {
    let why = sent.reason.as_deref().unwrap_or("unknown");
    match sent.outcome.as_str() {
        "sent" => format!("We sent a 6-digit code to {target}. Enter it below to confirm."),
        "suppressed" => format!("No code was sent just now: {why}. Ask for a new code below later."),
        _ => format!("The code could not be sent ({why}). Check the address and ask for a new code below."),
    }
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<AddForm>,
) -> Result<HttpResponse, ConsoleError> {
    let user = caller(&req, &viewer)?;
    let mut agent_type = form.kind.clone();
    let (config, name) = match form.kind.as_str() {
        "email" => (json!({"address": form.address}), None),
        "sms" => (json!({"phoneNumber": form.phone}), None),
        "webhook" => (json!({"url": form.url}), None),
        "pull" => (json!({}), Some(form.name.clone()).filter(|name| !name.trim().is_empty())),
        // Not JSON: the service answers that `config` must be an object, shown above the push button.
        "push" => (serde_json::from_str(&form.subscription).unwrap_or(Value::Null), browser_name(&req)),
        "agent" if form.agent_type.starts_with("x-") => {
            agent_type = form.agent_type.clone();
            let text = if form.config.trim().is_empty() { "{}" } else { form.config.as_str() };
            (serde_json::from_str(text).unwrap_or(Value::Null), None)
        }
        _ => return Err(ConsoleError::NotFound),
    };
    let err = match service::subscribe(&state, &user, &agent_type, SubscribeInput { config, name }).await {
        Ok(created) => {
            let id = created.subscription.id;
            let location = format!("/channels/{id}");
            let added = format!("{} channel added.", kind_name(&created.subscription.agent_type));
            return match (created.signing_secret, created.verification) {
                // Shown on this response only: only its ciphertext is kept.
                (Some(secret), _) => {
                    let extra = Extra { secret: Some(secret), ..Extra::default() };
                    detail_page(&req, &state, &viewer, id.into(), extra, StatusCode::OK).await
                }
                (None, Some(sent)) => {
                    let message = format!("{added} {}", code_message(&sent, &target_of(&created.subscription)));
                    Ok(redirect_with(&state.config, &location, &message))
                }
                (None, None) => Ok(redirect_with(&state.config, &location, &added)),
            };
        }
        Err(err) => err,
    };
    let mut errors = Errors::new();
    match (field_errors(&err), &err) {
        (Some(found), _) => place(&mut errors, found, |field| add_field(&form.kind, field)),
        (None, ApiError::Client { code: ErrorCode::Forbidden | ErrorCode::EmailNotVerified, message, .. }) => {
            errors.insert(add_field(&form.kind, "").to_owned(), message.clone());
        }
        (None, _) => return Err(err.into()),
    }
    list_page(&req, &state, &viewer, &form, &errors, err.code().status()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    csrf: String,
    code: String,
}
tokened!(CodeForm);

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<CodeForm>,
) -> Result<HttpResponse, ConsoleError> {
    let input = VerifyInput { code: form.code.clone() };
    let err = match verification::verify(&state, viewer.user_id, id.into(), input).await {
        Ok(channel) => {
            let message = format!("Confirmed. {} now receives your reminders.", target_of(&channel));
            return Ok(redirect_with(&state.config, &format!("/channels/{id}"), &message));
        }
        Err(err) => err,
    };
    let message = match &err {
        ApiError::Client { code: ErrorCode::ValidationError, .. } => "Enter the six digits we sent.".to_owned(),
        ApiError::Client { code: ErrorCode::UnprocessableEntity, message, .. } => plain(message),
        _ => return Err(err.into()),
    };
    let extra = Extra {
        code_typed: Some(form.code.clone()),
        errors: Errors::from([("code".to_owned(), message)]),
        ..Extra::default()
    };
    detail_page(&req, &state, &viewer, id, extra, err.code().status()).await
}

pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let location = format!("/channels/{id}");
    match verification::resend(&state, viewer.user_id, id.into()).await {
        Ok(sent) => {
            let user = caller(&req, &viewer)?;
            let target = target_of(&find(&state, &user, id).await?);
            Ok(redirect_with(&state.config, &location, &code_message(&sent, &target)))
        }
        Err(ApiError::RateLimited { retry_after_secs }) => {
            let wait = match retry_after_secs {
                0..=59 => format!("{} seconds", retry_after_secs.max(1)),
                secs if secs < 3600 => format!("{} minutes", secs.div_ceil(60)),
                secs => format!("{} hours", secs.div_ceil(3600)),
            };
            let message = format!(
                "A new code can be sent once a minute and a few times a day. Please wait about {wait}, then try again."
            );
            let extra = Extra {
                errors: Errors::from([("resend".to_owned(), message)]),
                retry_after_secs: Some(retry_after_secs),
                ..Extra::default()
            };
            detail_page(&req, &state, &viewer, id, extra, StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(ApiError::Client { code: ErrorCode::Conflict | ErrorCode::UnprocessableEntity, message, .. }) => {
            Ok(redirect_with(&state.config, &location, &plain(&message)))
        }
        Err(err) => Err(err.into()),
    }
}

/// The outcome of a test send, in a sentence.
fn test_message(result: &TestResult) -> String {
    let error = result.error.as_deref().unwrap_or("no reason given");
    match result.outcome.as_str() {
        "sent" => "Test sent. It should arrive in a moment.".to_owned(),
        "suppressed" => {
            format!("Test not sent: {}.", result.reason.as_deref().unwrap_or("your delivery controls held it back"))
        }
        "retry" => format!("Test failed for now: {error}. A real reminder would be tried again."),
        "unknown" => format!("The test may not have arrived: {error}."),
        _ => format!("Test failed: {error}."),
    }
}

pub async fn test(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let user = caller(&req, &viewer)?;
    let message = match service::test(&state, &user, id.into()).await {
        Ok(result) => test_message(&result),
        Err(ApiError::Client { code: ErrorCode::Conflict, .. }) => {
            "This channel is not confirmed yet: enter the code we sent to it first.".to_owned()
        }
        Err(ApiError::Client { code: ErrorCode::UnprocessableEntity, message, .. }) => plain(&message),
        Err(err) => return Err(err.into()),
    };
    Ok(redirect_with(&state.config, &format!("/channels/{id}"), &message))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnabledForm {
    csrf: String,
    enabled: String,
}
tokened!(EnabledForm);

pub async fn enabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<EnabledForm>,
) -> Result<HttpResponse, ConsoleError> {
    let user = caller(&req, &viewer)?;
    let on = form.enabled == "true";
    let patch = SubscriptionPatch { name: None, config: None, enabled: Some(on), rotate_secret: None };
    service::update(&state, &user, id.into(), patch).await?;
    let message = match on {
        true => "Turned on. It receives your reminders again.",
        false => "Turned off. It receives nothing until you turn it on again.",
    };
    Ok(redirect_with(&state.config, &format!("/channels/{id}"), message))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
    confirm: String,
}
tokened!(DeleteForm);

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<DeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    if form.confirm != "yes" {
        let message = "Tick the box to confirm, then press Delete again.".to_owned();
        let extra = Extra { errors: Errors::from([("confirm".to_owned(), message)]), ..Extra::default() };
        return detail_page(&req, &state, &viewer, id, extra, StatusCode::BAD_REQUEST).await;
    }
    let user = caller(&req, &viewer)?;
    service::delete(&state, &user, id.into()).await?;
    Ok(redirect_with(&state.config, "/channels", "Channel deleted. Reminders no longer use it."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_routes_are_left_out_of_messages_shown_on_pages() {
        assert_eq!(
            super::plain("No code is waiting: ask for a new one (POST /v1/agents/subscriptions/{id}/verify/resend)."),
            "No code is waiting: ask for a new one."
        );
        assert_eq!(super::plain("That is not the code we sent."), "That is not the code we sent.");
    }
}
