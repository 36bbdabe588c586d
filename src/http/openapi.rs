//! Serving the OpenAPI document at `/v1/openapi.json`, rendered by Swagger UI at `/v1/docs` from assets
//! compiled into the binary (users may be offline; no CDN). The composition root (`api.rs`) collects
//! the operations from the handlers' `#[utoipa::path]` attributes as it mounts them.
//!
//! What every route shares (error envelope, rate limits, `Idempotency-Key`) is added by one modifier rather
//! than repeated on each handler, so a new route cannot forget it.

use actix_web::{HttpResponse, web};
use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Required, Type};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use super::registry::{Routes, routes};
use crate::config::Config;

/// Where the document is served.
pub const SPEC_PATH: &str = "/v1/openapi.json";

/// The document's own routes.
pub fn routes(r: &mut Routes) {
    routes!(r => spec, docs);
}

/// Completes a document of every route with what they all share, and this deployment's server (`API_URL`).
pub fn finish(mut doc: utoipa::openapi::OpenApi, config: &Config) -> utoipa::openapi::OpenApi {
    Conventions.modify(&mut doc);
    doc.servers = Some(vec![Server::new(config.api_url.as_str().trim_end_matches('/'))]);
    doc
}

/// Serves `doc` (the JSON at [`SPEC_PATH`] through [`routes`]' handler) and Swagger UI under `/v1/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig, doc: &utoipa::openapi::OpenApi) {
    let json = serde_json::to_string(doc).unwrap_or_else(|_| "{}".to_owned());
    cfg.app_data(web::Data::new(SpecJson(json)))
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
