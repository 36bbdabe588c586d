//! The home page's first steps, posted from the onboarding card: confirm a step, create the first reminder
//! from a template, hide the card. Each goes through [`crate::onboarding::service`], like the API.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{Posted, redirect_with, tokened};
use crate::console::error::ConsoleError;
use crate::http::ApiError;
use crate::onboarding::model::{OnboardingAction, Step};
use crate::onboarding::service;
use crate::onboarding::templates::TemplateKey;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OnboardingForm {
    csrf: String,
    action: String,
    step: String,
    template: String,
}
tokened!(OnboardingForm);

impl OnboardingForm {
    fn action(&self) -> Option<OnboardingAction> {
        match self.action.as_str() {
            "complete" => {
                let step = Step::ALL.into_iter().find(|step| step.as_str() == self.step)?;
                Some(OnboardingAction::Complete { step })
            }
            "createReminder" => {
                let template = TemplateKey::ALL.into_iter().find(|key| key.as_str() == self.template)?;
                Some(OnboardingAction::CreateReminder { template })
            }
            "dismiss" => Some(OnboardingAction::Dismiss),
            _ => None,
        }
    }
}

pub async fn post(
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<OnboardingForm>,
) -> Result<HttpResponse, ConsoleError> {
    let action = form.action().ok_or(ConsoleError::NotFound)?;
    let message = match &action {
        OnboardingAction::Complete { .. } => "Done: one step fewer.",
        OnboardingAction::CreateReminder { .. } => "Your first reminder is set.",
        OnboardingAction::Dismiss => "The first steps are hidden. Channels and reminders are in the menu.",
    };
    match service::act(&state, viewer.user_id, action).await {
        Ok(update) => {
            let location = update.reminder.map_or_else(|| "/".to_owned(), |r| format!("/reminders/{}", r.id));
            Ok(redirect_with(&state.config, &location, message))
        }
        // Already has a reminder, or over the plan's limit: said on the home page.
        Err(ApiError::Client { message, .. }) => Ok(redirect_with(&state.config, "/", &message)),
        Err(err) => Err(err.into()),
    }
}
