//! The composition root: mounts every domain's routes, attaches what only some of them need, and builds the
//! OpenAPI document from the same declarations (`http::routes!`), so what is served and what is documented
//! cannot drift. `http` is the machinery and knows no domain; this module is the one place that knows all.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::accounts::auth::AuthUser;
use crate::admin::routes as admin;
use crate::config::Config;
use crate::http::envelope::{Meta, Pagination};
use crate::http::error::{ErrorDetail, ErrorResponse};
use crate::http::{self, ApiError, AppService, ErrorCode, FieldError, Routes, idempotency};
use crate::state::AppState;

/// Serves the API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    http::serve(state, listener, shutdown, app).await
}

/// The application of one actix worker.
pub fn app(state: AppState) -> App<impl AppService> {
    let config = state.config.clone();
    http::app(state, move |cfg| configure(cfg, &config))
}

/// Every route of the API, outside the admin scope, in the order they are matched.
fn routes(r: &mut Routes) {
    http::meta_routes(r);
    http::openapi::routes(r);
    crate::accounts::auth::routes::configure(r);
    crate::console::routes::api_routes(r);
    crate::accounts::users::routes::configure(r);
    crate::privacy::routes::configure(r);
    crate::reminders::routes::configure(r);
    crate::onboarding::routes::configure(r);
    crate::stopping::routes::configure(r);
    crate::escalation::routes::configure(r);
    crate::profiles::routes::configure(r);
    crate::agents::subscriptions::routes::configure(r);
    crate::agents::marketplace::routes::configure(r);
    crate::escalation::agent_commands::configure(r);
    crate::escalation::delivery_log::configure(r);
    crate::watchers::hook_routes::configure(r);
    crate::watchers::routes::configure(r);
    crate::contacts::routes::configure(r);
    crate::family::routes::configure(r);
    crate::calendars::routes::configure(r);
    crate::escalation::shared::configure(r);
    crate::escalation::link_routes::configure(r);
    crate::escalation::got_it::configure(r);
    crate::watchers::twilio::configure(r);
    crate::billing::routes::configure(r);
}

/// The admin routes in their scope, the API, the document and the console, and the answer to unknown paths.
///
/// Idempotency runs inside each scope rather than around the app: the admin scope's layer must mark a
/// request (its own rate-limit bucket, no API keys) before idempotency authenticates the caller, and a
/// layer around the app runs before routing. Both scopes wrap it, so it still covers every route.
fn configure(cfg: &mut web::ServiceConfig, config: &Config) {
    let mut admin_routes = Routes::under(admin::SCOPE);
    admin::configure(&mut admin_routes);
    crate::admin::marketplace::configure(&mut admin_routes);
    let mut api_routes = Routes::new();
    routes(&mut api_routes);
    let doc = document(config, &[&api_routes, &admin_routes]);

    cfg.service(
        web::scope(admin::SCOPE)
            .configure(|cfg| admin_routes.mount(cfg))
            .wrap(from_fn(idempotency::guard::<AuthUser>))
            .wrap(from_fn(admin::layer)),
    )
    .service(
        web::scope("")
            .configure(|cfg| {
                api_routes.mount(cfg);
                http::openapi::configure(cfg, &doc);
                crate::console::configure(cfg);
            })
            .wrap(from_fn(idempotency::guard::<AuthUser>)),
    )
    .default_service(web::to(not_found));
}

/// Unknown paths: a person's browser gets the console's page, everyone else (and all of /v1) JSON.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match crate::console::wants_page(&req) {
        true => Ok(crate::console::not_found_page()),
        false => Err(ApiError::new(ErrorCode::NotFound, "No such route.")),
    }
}

/// The document of `groups`: what they share (info, tags, the error envelope) comes from [`ApiDoc`].
fn document(config: &Config, groups: &[&Routes]) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for group in groups {
        group.document(&mut doc);
    }
    http::openapi::finish(doc, config)
}

/// Everything in the document but its paths, which the routes bring.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Escalating Reminders API",
        description = "Reminders that cannot be ignored. Every response uses the JSON envelope; limited routes \
            carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the \
            window resets)."
    ),
    components(schemas(ErrorResponse, ErrorDetail, ErrorCode, FieldError, Meta, Pagination)),
    tags(
        (name = "meta", description = "Health, metrics and this document"),
        (name = "auth", description = "Accounts, sessions and API keys"),
        (name = "users", description = "The signed-in user"),
        (name = "onboarding", description = "A new account's first steps: time zone, a channel, a first reminder"),
        (name = "reminders", description = "Reminders, their schedules, and acting on them"),
        (name = "escalation-profiles", description = "Who is told when, if nobody reacts"),
        (name = "agents", description = "Notification channels and subscriptions to them"),
        (name = "marketplace", description = "Third-party agent types: manifests, review, signed commands (FEATURE_MARKETPLACE)"),
        (name = "notifications", description = "The delivery log, the pull-agent inbox and action links"),
        (name = "admin", description = "Admin users only (roles SUPER_ADMIN, SUPPORT, BILLING, READONLY); API keys are refused"),
        (name = "webhooks", description = "Inbound provider webhooks, verified by the provider's signature"),
        (name = "billing", description = "Tiers, quotas, delivery controls and Square billing"),
        (name = "contacts", description = "Trusted contacts and their consent (FEATURE_SOCIAL_ESCALATION)"),
        (name = "evidence", description = "Completion hooks, email watchers and inbound email: proof a reminder was dealt with"),
    )
)]
struct ApiDoc;
