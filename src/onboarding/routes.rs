//! Thin handlers for `/v1/onboarding`.

use actix_web::web;

use super::model::{OnboardingAction, OnboardingUpdate, OnboardingView};
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Json, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => get, post);
}

#[utoipa::path(get, path = "/v1/onboarding", tag = "onboarding", operation_id = "onboarding_get",
    description = "The account's first steps: its time zone, a first channel, a first reminder (with the templates \
        it can start from). A step is done when the account's data shows it (a channel exists, a reminder exists, a \
        zone other than UTC is set) or when the user marked it done.",
    responses((status = 200, body = Envelope<OnboardingView>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn get(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<OnboardingView>, ApiError> {
    Ok(ApiResponse::ok(service::view(&state, user.id).await?))
}

#[utoipa::path(post, path = "/v1/onboarding", tag = "onboarding", operation_id = "onboarding_post",
    request_body = OnboardingAction,
    description = "`{\"action\": \"complete\", \"step\": \"timezone\"}` marks a step done; `{\"action\": \
        \"createReminder\", \"template\": \"medication\"}` creates the first reminder from a template (as \
        `POST /v1/reminders` would, same quota) and answers 201 with it; `{\"action\": \"dismiss\"}` hides onboarding.",
    responses((status = 200, body = Envelope<OnboardingUpdate>), (status = 201, body = Envelope<OnboardingUpdate>),
        (status = 400), (status = 403, description = "Over the tier's reminder limit"),
        (status = 409, description = "The account has a reminder already")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn post(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<OnboardingAction>,
) -> Result<ApiResponse<OnboardingUpdate>, ApiError> {
    let update = service::act(&state, user.id, body.0).await?;
    Ok(if update.reminder.is_some() { ApiResponse::created(update) } else { ApiResponse::ok(update) })
}
