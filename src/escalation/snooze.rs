//! Snooze, acknowledge and complete as the API offers them: body types, phrase resolution, views. The state
//! changes themselves are [`crate::escalation::actions`], shared with links, SMS and email replies.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::nlp::{self, PhraseError};
use serde::{Deserialize, Serialize};

use super::actions::{self, ActionOutcome, Actor, SnoozeUntil};
use super::episodes::EscalationView;
use crate::config::Config;
use crate::http::{ApiError, ErrorCode, FieldError};
use crate::reminders::mapping::reminder_view;
use crate::reminders::store;
use crate::reminders::views::ReminderView;
use crate::state::AppState;

/// `POST /v1/reminders/{id}/snooze`: exactly one of `until` (an instant) or `duration` (a phrase such as
/// "in 2 hours" or "until tomorrow 9am", read in the user's zone).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnoozeInput {
    pub until: Option<DateTime<Utc>>,
    pub duration: Option<String>,
}

/// `POST /v1/reminders/{id}/acknowledge` and `/complete`; the body may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionInput {
    /// Up to 1000 characters, kept in the event log.
    pub note: Option<String>,
}

const NOTE_MAX: usize = 1000;

impl ActionInput {
    /// The trimmed note, or a validation error when it is too long.
    pub fn note(&self) -> Result<Option<&str>, ApiError> {
        let note = self.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > NOTE_MAX) {
            return Err(ApiError::field("note", format!("must be at most {NOTE_MAX} characters")));
        }
        Ok(note)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnoozeView {
    pub reminder: ReminderView,
    pub snoozed_until: DateTime<Utc>,
    /// How the time reads in the user's zone, e.g. "Thu 26 Nov 09:00 Europe/Berlin".
    pub interpreted_as: String,
}

/// The reminder after an acknowledge or complete, and its episode when one was open.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub reminder: ReminderView,
    pub escalation: Option<EscalationView>,
    pub cancelled_deliveries: usize,
}

/// Resolves the body to an instant: a given `until` is checked to be ahead; a phrase goes through the
/// grammar, then (when configured) the LLM fallback. Not understood → 422 with examples that work.
pub async fn resolve(config: &Config, input: SnoozeInput, now: DateTime<Utc>, tz: Tz) -> Result<SnoozeUntil, ApiError> {
    match (input.until, input.duration) {
        (Some(until), None) => {
            nlp::validate_future(until, now).map_err(|err| phrase_error(err, "until"))?;
            Ok(SnoozeUntil { until, phrase: None, interpreted_as: Some(nlp::echo(until, tz)) })
        }
        (None, Some(phrase)) => {
            let interpretation =
                read_phrase(config, &phrase, now, tz).await.map_err(|err| phrase_error(err, "duration"))?;
            Ok(SnoozeUntil {
                until: interpretation.at,
                phrase: Some(phrase.trim().to_owned()),
                interpreted_as: Some(interpretation.echo),
            })
        }
        _ => Err(ApiError::validation(vec![
            FieldError::new("until", "give exactly one of until or duration"),
            FieldError::new("duration", "give exactly one of until or duration"),
        ])),
    }
}

/// Reads a snooze phrase: the grammar first, then (when configured) the LLM fallback. Shared by the API and
/// SMS replies, so a phrase means the same wherever it is typed.
pub async fn read_phrase(
    config: &Config,
    phrase: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<nlp::Interpretation, PhraseError> {
    match nlp::parse(phrase, now, tz) {
        Err(PhraseError::NotUnderstood) => fallback(config, phrase, now, tz).await,
        other => other,
    }
}

async fn fallback(
    config: &Config,
    phrase: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<nlp::Interpretation, PhraseError> {
    let Some(api_key) = &config.openai_api_key else { return Err(PhraseError::NotUnderstood) };
    let fallback = crate::nlp::fallback::Fallback {
        api_key,
        api_base: config.openai_api_base.as_str(),
        model: &config.openai_model,
    };
    fallback.interpret(phrase, now, tz).await
}

fn phrase_error(err: PhraseError, field: &str) -> ApiError {
    let examples = nlp::EXAMPLES.join("\", \"");
    let message = match err {
        PhraseError::NotUnderstood => format!("Could not understand that time. Phrases that work: \"{examples}\"."),
        PhraseError::InPast => "That time is in the past; snooze to a time ahead.".to_owned(),
        PhraseError::TooFar => "That time is more than a year away.".to_owned(),
    };
    let details = match err {
        PhraseError::NotUnderstood => {
            nlp::EXAMPLES.iter().map(|example| FieldError::new(field, format!("try \"{example}\""))).collect()
        }
        _ => vec![FieldError::new(field, err.to_string())],
    };
    ApiError::Client { code: ErrorCode::UnprocessableEntity, message, details }
}

/// Snoozes the owner's reminder until an instant or a phrase read in the owner's zone (API and console).
pub async fn snooze(
    state: &AppState,
    owner: UserId,
    id: ReminderId,
    input: SnoozeInput,
) -> Result<SnoozeView, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let tz = reminder_core::timezone::parse_zone(&crate::reminders::service::user_zone(&mut conn, owner).await?)
        .unwrap_or(chrono_tz::UTC);
    // Another user's id must be 404 before a phrase is even read, so a 422 never hints that it exists.
    store::find_for(&mut conn, owner, id).await?.ok_or_else(crate::reminders::service::not_found)?;
    let target = resolve_for(&state.config, &mut conn, owner, input, now, tz).await?;
    let outcome = actions::snooze(&mut conn, owner, id, Actor::User(owner), &target, now).await?;
    let reminder = reminder_full_view(&mut conn, outcome.reminder).await?;
    let interpreted_as = target.interpreted_as.unwrap_or_default();
    Ok(SnoozeView { reminder, snoozed_until: target.until, interpreted_as })
}

/// [`resolve`] for one owner: a phrase about an event ("until after my meeting") reads their calendars
/// first. Shared by the API, the console, email replies and agent commands.
pub async fn resolve_for(
    config: &Config,
    conn: &mut AsyncPgConnection,
    owner: UserId,
    input: SnoozeInput,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<SnoozeUntil, ApiError> {
    match calendar_target(conn, owner, &input, now, tz).await? {
        Some(Ok(target)) => Ok(target),
        // No event matches: the phrase may still be a time the LLM fallback reads ("after the dentist" can
        // be an appointment it was told about); if not, the answer says what the calendars were searched for.
        Some(Err(no_event)) => resolve(config, input, now, tz).await.map_err(|_| no_event),
        None => resolve(config, input, now, tz).await,
    }
}

/// A phrase that reads the owner's calendars ("until after my meeting", "when work ends"): the end of the
/// matching event, echoed with its title. None when the phrase is not about an event; Some(Err) with a 422
/// that says what was looked for when no event ahead matches.
async fn calendar_target(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    input: &SnoozeInput,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Option<Result<SnoozeUntil, ApiError>>, ApiError> {
    let (None, Some(phrase)) = (&input.until, &input.duration) else { return Ok(None) };
    Ok(match crate::calendars::phrases::resolve(conn, owner, phrase, now).await? {
        Ok(None) => None,
        Ok(Some(found)) => Some(Ok(SnoozeUntil {
            until: found.until,
            phrase: Some(phrase.trim().to_owned()),
            interpreted_as: Some(format!("{} (when \"{}\" ends)", nlp::echo(found.until, tz), found.event)),
        })),
        Err(subject) => Some(Err(ApiError::Client {
            code: ErrorCode::UnprocessableEntity,
            message: format!("No event matching \"{subject}\" is under way or coming up in your calendars."),
            details: vec![FieldError::new(
                "duration",
                format!("looked for \"{subject}\" in the titles and categories of your calendars' events"),
            )],
        })),
    })
}

/// The two actions that take only an optional note.
#[derive(Debug, Clone, Copy)]
pub enum Simple {
    Acknowledge,
    Complete,
}

/// Acknowledges or completes the owner's reminder (API and console).
pub async fn act(
    state: &AppState,
    owner: UserId,
    id: ReminderId,
    note: Option<&str>,
    which: Simple,
) -> Result<ActionView, ApiError> {
    let (actor, now) = (Actor::User(owner), state.clock.now());
    let mut conn = state.db.get().await?;
    let outcome = match which {
        Simple::Acknowledge => actions::acknowledge(&mut conn, owner, id, actor, note, now).await?,
        Simple::Complete => actions::complete(&mut conn, owner, id, actor, note, now).await?,
    };
    action_view(&mut conn, owner, outcome).await
}

/// The API view of an action's outcome, with the episode's deliveries.
pub async fn action_view(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    outcome: ActionOutcome,
) -> Result<ActionView, ApiError> {
    let reminder = reminder_full_view(conn, outcome.reminder).await?;
    let escalation = match outcome.escalation {
        Some(row) => {
            let episodes = super::episodes::list_for_reminder(conn, owner, row.reminder_id, 1).await?;
            episodes.into_iter().find(|e| e.id == row.id)
        }
        None => None,
    };
    Ok(ActionView { reminder, escalation, cancelled_deliveries: outcome.cancelled_deliveries })
}

pub async fn reminder_full_view(
    conn: &mut AsyncPgConnection,
    reminder: crate::reminders::model::Reminder,
) -> Result<ReminderView, ApiError> {
    let full = store::with_details(conn, vec![reminder]).await?.pop();
    let full = full.ok_or_else(|| ApiError::internal(anyhow::anyhow!("reminder vanished")))?;
    reminder_view(full).map_err(ApiError::internal)
}
