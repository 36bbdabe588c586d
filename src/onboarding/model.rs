//! Onboarding's API types: the steps and their state, the templates on offer, and what a POST may do.

use serde::{Deserialize, Serialize};

use super::templates::TemplateKey;
use crate::reminders::views::ReminderView;

/// One first step, in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// The account's time zone is right (anything but the default UTC counts, or UTC confirmed).
    Timezone,
    /// A channel exists, so reminders reach someone.
    Channel,
    /// A reminder exists (one from a template, or any other).
    Reminder,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Timezone, Step::Channel, Step::Reminder];

    /// The name stored in `onboarding_progress.completed_steps` (and on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Timezone => "timezone",
            Step::Channel => "channel",
            Step::Reminder => "reminder",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Step::Timezone => "Check your time zone",
            Step::Channel => "Set up a channel",
            Step::Reminder => "Create your first reminder",
        }
    }
}

/// Whether a step is behind the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    Done,
    Pending,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    pub step: Step,
    pub status: StepStatus,
    pub title: String,
}

impl StepView {
    pub fn new(step: Step, done: bool) -> StepView {
        let status = if done { StepStatus::Done } else { StepStatus::Pending };
        StepView { step, status, title: step.title().to_owned() }
    }
}

/// A reminder the first-reminder step can create with one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub template: TemplateKey,
    /// The new reminder's title.
    pub title: String,
    /// When it fires, in words, in the account's time zone.
    pub schedule: String,
    pub importance: String,
}

/// `GET /v1/onboarding`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingView {
    pub steps: Vec<StepView>,
    pub templates: Vec<TemplateView>,
    /// The account's time zone, which the time zone step asks about.
    pub timezone: String,
    /// Every step is done.
    pub finished: bool,
    /// The user hid onboarding (or the account predates it).
    pub dismissed: bool,
}

impl OnboardingView {
    /// Whether the first-steps card is shown and still asks for `step`.
    pub fn asks_for(&self, step: Step) -> bool {
        !self.dismissed
            && !self.finished
            && self.steps.iter().any(|shown| shown.step == step && shown.status == StepStatus::Pending)
    }
}

/// `POST /v1/onboarding`: what to do, by `action`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum OnboardingAction {
    /// Marks a step done: the time zone shown is right, or a channel or reminder is dealt with elsewhere.
    Complete { step: Step },
    /// Creates the first reminder from a template (through the same rules and quota as `POST /v1/reminders`)
    /// and marks the reminder step done. 409 once the account has a reminder.
    CreateReminder { template: TemplateKey },
    /// Hides onboarding for good; the steps stay readable here.
    Dismiss,
}

/// The answer to `POST /v1/onboarding`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingUpdate {
    pub onboarding: OnboardingView,
    /// The reminder a `createReminder` made; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder: Option<ReminderView>,
}
