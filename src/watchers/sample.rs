//! A sample message run against one watcher's rules (`POST /v1/watchers/{id}/test`): which conditions it
//! meets, and whether the watcher would act. Nothing is recorded and nothing is completed.

use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::addresses;
use super::rules::{self, MailFacts};
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

/// Longest sample body looked at, in characters (the request itself is limited to 256 KiB).
const BODY_MAX: usize = 100_000;
const LINE_MAX: usize = 1000;

/// A message as it would arrive.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SampleMessage {
    /// The `From` header, such as `Bank <alerts@bank.example>`.
    #[schema(example = "Bank <alerts@bank.example>")]
    pub from: String,
    #[serde(default)]
    pub subject: String,
    /// The plain text body.
    #[serde(default)]
    pub body: String,
}

/// One of the watcher's conditions and whether the sample meets it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConditionResult {
    /// `senderPattern`, `subjectKeyword` or `bodyKeyword`.
    pub field: String,
    pub pattern: String,
    pub matched: bool,
}

/// What the watcher would make of the sample.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleResult {
    /// Every condition holds.
    pub matched: bool,
    /// Matched and the watcher is enabled: this mail would `action` the reminder.
    pub would_act: bool,
    pub action: String,
    pub reminder_id: Uuid,
    /// The sender's address as read from `from`.
    pub sender: String,
    pub conditions: Vec<ConditionResult>,
}

fn facts(sample: SampleMessage) -> Result<MailFacts, ApiError> {
    let mut errors = Vec::new();
    let sender = addresses::bare_address(&sample.from).unwrap_or_default();
    if sender.is_empty() || sample.from.chars().count() > LINE_MAX {
        errors.push(FieldError::new("from", "must be an address such as Bank <alerts@bank.example>"));
    }
    if sample.subject.chars().count() > LINE_MAX {
        errors.push(FieldError::new("subject", format!("must be at most {LINE_MAX} characters")));
    }
    if sample.body.chars().count() > BODY_MAX {
        errors.push(FieldError::new("body", format!("must be at most {BODY_MAX} characters")));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // A real email's sender must also pass SPF or DKIM (`verdicts`); a sample has no verdicts to judge.
    Ok(MailFacts { sender, sender_vouched: true, subject: sample.subject, body: sample.body })
}

/// Runs `sample` against the owner's watcher `id`; 404 for another user's watcher.
pub async fn run(state: &AppState, owner: UserId, id: Uuid, sample: SampleMessage) -> Result<SampleResult, ApiError> {
    let mail = facts(sample)?;
    let mut conn = state.db.get().await?;
    let rule = rules::find_for(&mut conn, owner, id).await?.ok_or_else(|| ApiError::not_found("Watcher"))?;
    drop(conn);
    let conditions: Vec<ConditionResult> = rule
        .checks(&mail)
        .into_iter()
        .map(|check| ConditionResult {
            field: check.field.to_owned(),
            pattern: check.pattern.to_owned(),
            matched: check.holds,
        })
        .collect();
    let matched = conditions.iter().all(|c| c.matched);
    Ok(SampleResult {
        matched,
        would_act: matched && rule.enabled,
        action: rule.action,
        reminder_id: rule.reminder_id.0,
        sender: mail.sender,
        conditions,
    })
}
