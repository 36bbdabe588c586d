//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and their types, served
//! at `/v1/openapi.json` and rendered by Swagger UI at `/v1/docs` from assets compiled into the binary
//! (users may be offline; no CDN).
//!
//! What every route shares (error envelope, rate limits, `Idempotency-Key`) is added by one modifier rather
//! than repeated on each handler, so a new route cannot forget it.

use actix_web::{HttpResponse, web};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Required, Type};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use super::envelope::{Meta, Pagination};
use super::error::{ErrorCode, ErrorDetail, ErrorResponse, FieldError};
use crate::config::Config;

/// Where the document is served.
pub const SPEC_PATH: &str = "/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Escalating Reminders API",
        description = "Reminders that cannot be ignored. Every response uses the JSON envelope; limited routes \
            carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the \
            window resets)."
    ),
    paths(
        super::health::health,
        super::health::ready,
        super::metrics::render,
        spec,
        docs,
        crate::auth::routes::register,
        crate::auth::routes::login,
        crate::auth::routes::refresh,
        crate::auth::routes::logout,
        crate::auth::routes::sessions,
        crate::auth::routes::revoke_session,
        crate::auth::api_keys::create,
        crate::auth::api_keys::list,
        crate::auth::api_keys::revoke,
        crate::users::routes::me,
        crate::users::routes::update_me,
        crate::users::routes::change_password,
        crate::users::routes::delete_me,
        crate::reminders::routes::create,
        crate::reminders::routes::list,
        crate::reminders::routes::get,
        crate::reminders::routes::update,
        crate::reminders::routes::archive,
        crate::reminders::routes::snooze,
        crate::reminders::routes::acknowledge,
        crate::reminders::routes::complete,
        crate::reminders::routes::escalations,
        crate::reminders::routes::preview,
        crate::escalation::profiles::routes::list,
        crate::escalation::profiles::routes::create,
        crate::escalation::profiles::routes::get,
        crate::escalation::profiles::routes::update,
        crate::escalation::profiles::routes::delete,
        crate::agents::subscriptions::routes::catalogue,
        crate::agents::subscriptions::routes::list,
        crate::agents::subscriptions::routes::subscribe,
        crate::agents::subscriptions::routes::update,
        crate::agents::subscriptions::routes::delete,
        crate::agents::subscriptions::routes::test,
        crate::agents::subscriptions::routes::verify,
        crate::agents::subscriptions::routes::resend,
        crate::notifications::routes::log,
        crate::notifications::routes::pending,
        crate::notifications::routes::delivered,
        crate::watchers::hook_routes::create,
        crate::watchers::hook_routes::list,
        crate::watchers::hook_routes::rotate,
        crate::watchers::hook_routes::revoke,
        crate::watchers::hook_routes::call,
        crate::watchers::routes::create,
        crate::watchers::routes::list,
        crate::watchers::routes::get,
        crate::watchers::routes::rotate_address,
        crate::watchers::routes::delete,
        crate::watchers::routes::inbound_without_secret,
        crate::watchers::routes::inbound_email,
        crate::contacts::routes::create,
        crate::contacts::routes::list,
        crate::contacts::routes::get,
        crate::contacts::routes::update,
        crate::contacts::routes::delete,
        crate::contacts::consent::invitation_page,
        crate::contacts::consent::decide,
        crate::contacts::consent::opt_out_page,
        crate::contacts::consent::opt_out,
        crate::contacts::got_it::got_it_page,
        crate::contacts::got_it::got_it,
        crate::notifications::link_routes::confirm,
        crate::notifications::link_routes::act,
        crate::admin::routes::dashboard,
        crate::admin::routes::search_users,
        crate::admin::routes::user,
        crate::admin::routes::set_delivery_state,
        crate::admin::routes::notes,
        crate::admin::routes::add_note,
        crate::admin::routes::override_subscription,
        crate::admin::routes::audit,
        crate::admin::routes::health_now,
        crate::admin::routes::health_history,
        crate::agents::sms::routes::inbound_sms,
        crate::agents::sms::routes::status,
        crate::billing::routes::subscription,
        crate::billing::routes::checkout,
        crate::billing::routes::cancel,
        crate::billing::routes::invoices,
        crate::billing::routes::square_webhook,
    ),
    components(schemas(ErrorResponse, ErrorDetail, ErrorCode, FieldError, Meta, Pagination)),
    modifiers(&Conventions),
    tags(
        (name = "meta", description = "Health, metrics and this document"),
        (name = "auth", description = "Accounts, sessions and API keys"),
        (name = "users", description = "The signed-in user"),
        (name = "reminders", description = "Reminders, their schedules, and acting on them"),
        (name = "escalation-profiles", description = "Who is told when, if nobody reacts"),
        (name = "agents", description = "Notification channels and subscriptions to them"),
        (name = "notifications", description = "The delivery log, the pull-agent inbox and action links"),
        (name = "admin", description = "Admin users only (roles SUPER_ADMIN, SUPPORT, BILLING, READONLY); API keys are refused"),
        (name = "webhooks", description = "Inbound provider webhooks, verified by the provider's signature"),
        (name = "billing", description = "Tiers, quotas, delivery controls and Square billing"),
        (name = "contacts", description = "Trusted contacts and their consent (FEATURE_SOCIAL_ESCALATION)"),
        (name = "evidence", description = "Completion hooks, email watchers and inbound email: proof a reminder was dealt with"),
    )
)]
pub struct ApiDoc;

/// The document for this deployment (servers from `API_URL`).
pub fn document(config: &Config) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(config.api_url.as_str().trim_end_matches('/'))]);
    doc
}

/// The routes: the JSON document, and Swagger UI under `/v1/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig, config: &Config) {
    let json = serde_json::to_string(&document(config)).unwrap_or_else(|_| "{}".to_owned());
    cfg.app_data(web::Data::new(SpecJson(json)))
        .service(web::resource(SPEC_PATH).get(spec))
        .service(web::resource("/v1/docs").get(docs))
        .service(SwaggerUi::new("/v1/docs/{_:.*}").config(SwaggerConfig::new([SPEC_PATH])));
}

/// The serialised document, built once per worker.
struct SpecJson(String);

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json", body = Object)))]
async fn spec(json: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(json.0.clone())
}

#[utoipa::path(get, path = "/v1/docs", tag = "meta",
    responses((status = 308, description = "Swagger UI lives at `/v1/docs/`",
        headers(("Location" = String, description = "`/v1/docs/`")))))]
async fn docs() -> HttpResponse {
    // Swagger UI's page loads its assets by relative URL, which only resolve under the trailing slash.
    HttpResponse::PermanentRedirect().insert_header(("location", "/v1/docs/")).finish()
}

/// Security schemes, the error envelope on every error status, 429 everywhere, `Idempotency-Key` on POST.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
            components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
            components
                .add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let meta = !path.starts_with("/v1/") || path == SPEC_PATH || path == "/v1/docs";
            let operations = [
                (&mut item.get, false),
                (&mut item.put, false),
                (&mut item.post, true),
                (&mut item.delete, false),
                (&mut item.patch, false),
            ];
            for (operation, is_post) in operations {
                if let Some(operation) = operation.as_mut() {
                    document_errors(operation, meta, is_post);
                }
            }
        }
    }
}

fn document_errors(operation: &mut Operation, meta: bool, is_post: bool) {
    let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    // Provider webhooks take their provider's form encoding; everything else is JSON only.
    let json_body = match operation.request_body.as_ref() {
        Some(RefOr::T(body)) => body.content.contains_key("application/json"),
        Some(RefOr::Ref(_)) => true,
        None => false,
    };
    let mut statuses: Vec<(&str, &str)> = vec![("500", "Internal error; quote `meta.requestId`")];
    if !meta {
        statuses.push(("400", "Malformed request or invalid fields; `error.details` lists every bad field"));
        statuses.push(("429", "Rate limited; see `Retry-After`"));
        statuses.push(("503", "Temporarily unavailable; retry shortly"));
    }
    if authenticated {
        statuses.push(("401", "Missing, invalid or expired credentials"));
    }
    if has_body {
        statuses.push(("413", "Body over 256 KiB"));
    }
    if json_body {
        statuses.push(("415", "Body is not application/json"));
    }
    if is_post && authenticated {
        statuses.push(("409", "Idempotency-Key still in flight"));
        statuses.push(("422", "Idempotency-Key reused with a different request"));
        let header = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("Replays the first response for the same key and body within 24 h"))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
            .build();
        operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(header));
    }
    for (status, description) in statuses {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description).build()));
    }
    // Every error status answers the envelope, including those a handler documented with a description only.
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if response.description.is_empty() {
            // OpenAPI requires a description on every response.
            let reason = status.parse::<u16>().ok().and_then(|s| actix_web::http::StatusCode::from_u16(s).ok());
            response.description = reason.and_then(|s| s.canonical_reason()).unwrap_or("Response").to_owned();
        }
        if !(status.starts_with('4') || status.starts_with('5')) || !response.content.is_empty() {
            continue;
        }
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
        response.content.insert("application/json".to_owned(), RefOr::T(content));
        if status == "429" {
            let retry = HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some("Seconds to wait"))
                .build();
            response.headers.insert("Retry-After".to_owned(), RefOr::T(retry));
        }
    }
}
