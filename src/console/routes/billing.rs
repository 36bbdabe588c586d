//! Where Square's checkout sends the buyer back: a page that says what happens next and shows the plan in
//! force (the payment itself reaches us separately, by Square's signed webhook).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::page;
use crate::console::error::ConsoleError;
use crate::console::session::Viewer;
use crate::state::AppState;

/// The path Square's checkout returns to (`billing::square` builds the redirect from it).
pub use crate::billing::square::RETURN_PATH;

pub async fn returned(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ConsoleError> {
    let summary = crate::billing::service::summary(&state, viewer.user_id).await?;
    let context = json!({"tier": summary.tier.as_str(), "status": summary.status});
    Ok(page(&req, &state.config, &viewer, "settings", "billing_return.html", StatusCode::OK, context))
}
