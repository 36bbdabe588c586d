//! Onboarding's rules: a step is done when the data shows it or its owner said so; the first reminder from
//! a template is made by the reminders service (same checks, same quota) in the transaction that records it.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;

use super::model::{OnboardingAction, OnboardingUpdate, OnboardingView, Step, StepStatus, StepView};
use super::{store, templates};
use crate::accounts::users::store as users;
use crate::agents::subscriptions::store as channels;
use crate::http::ApiError;
use crate::reminders::{service as reminders, store as reminder_rows};
use crate::state::AppState;

/// The zone every account starts in; a step is left for it since nobody chose it.
const DEFAULT_ZONE: &str = "UTC";

/// `GET /v1/onboarding`.
pub async fn view(state: &AppState, owner: UserId) -> Result<OnboardingView, ApiError> {
    let mut conn = state.db.get().await?;
    read(&mut conn, owner).await
}

async fn read(conn: &mut AsyncPgConnection, owner: UserId) -> Result<OnboardingView, ApiError> {
    let user = users::find_live(conn, owner).await?.ok_or_else(|| ApiError::not_found("User"))?;
    let known = Known {
        timezone: user.timezone,
        has_channel: !channels::list_for(conn, owner).await?.is_empty(),
        has_reminder: reminder_rows::count_live(conn, owner).await? > 0,
    };
    view_with(conn, owner, known).await
}

/// What the data says about the owner's first steps, when the caller has read it already (the home page
/// has, for its own cards).
pub struct Known {
    /// The owner's time zone as stored.
    pub timezone: String,
    pub has_channel: bool,
    pub has_reminder: bool,
}

/// The onboarding view from facts the caller read, plus the owner's own progress row (one query).
pub async fn view_with(conn: &mut AsyncPgConnection, owner: UserId, known: Known) -> Result<OnboardingView, ApiError> {
    let progress = store::find(conn, owner).await?;
    let steps: Vec<StepView> = Step::ALL
        .into_iter()
        .map(|step| {
            let shown_by_data = match step {
                Step::Timezone => known.timezone != DEFAULT_ZONE,
                Step::Channel => known.has_channel,
                Step::Reminder => known.has_reminder,
            };
            StepView::new(step, shown_by_data || progress.completed_steps.iter().any(|s| s == step.as_str()))
        })
        .collect();
    Ok(OnboardingView {
        finished: steps.iter().all(|s| s.status == StepStatus::Done),
        steps,
        templates: templates::all(),
        timezone: known.timezone,
        dismissed: progress.dismissed_at.is_some(),
    })
}

/// `POST /v1/onboarding`.
pub async fn act(state: &AppState, owner: UserId, action: OnboardingAction) -> Result<OnboardingUpdate, ApiError> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let reminder = match action {
        OnboardingAction::Complete { step } => {
            store::complete(&mut conn, owner, step.as_str()).await?;
            None
        }
        OnboardingAction::Dismiss => {
            store::dismiss(&mut conn, owner, now).await?;
            None
        }
        OnboardingAction::CreateReminder { template } => {
            let tiers = &state.config.tier_limits;
            let created = conn
                .transaction::<_, ApiError, _>(async move |conn| {
                    // Holding the owner's row: two presses of the button make one reminder.
                    store::lock(conn, owner).await?;
                    let done = read(conn, owner)
                        .await?
                        .steps
                        .into_iter()
                        .any(|s| s.step == Step::Reminder && s.status == StepStatus::Done);
                    if done {
                        return Err(ApiError::conflict(
                            "You have a reminder already; create more with POST /v1/reminders.",
                        ));
                    }
                    let zone = reminders::user_zone(conn, owner).await?;
                    let created = reminders::create(conn, tiers, owner, &zone, templates::input(template), now).await?;
                    store::complete(conn, owner, Step::Reminder.as_str()).await?;
                    Ok(created)
                })
                .await?;
            tracing::info!(user.id = %owner, reminder.id = %created.id, "first reminder created from a template");
            Some(created)
        }
    };
    Ok(OnboardingUpdate { onboarding: read(&mut conn, owner).await?, reminder })
}
