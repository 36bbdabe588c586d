//! Completion hooks: a per-reminder secret URL (`POST /v1/hooks/{token}`) that a device or a scheduled job
//! calls to prove the task was done. The token (256 random bits) is shown once and stored as its SHA-256;
//! rotating replaces the hash (the old URL stops working at once), revoking ends the hook.
//!
//! A hook acts once per occurrence ([`super::occurrence`] says which one a call is about).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::evidence::{self, EventRow, Evidence};
use super::occurrence::{self, Occurrence};
use crate::accounts::auth::tokens;
use crate::db::schema::{completion_hooks, watcher_events};
use crate::escalation::actions::Actor;
use crate::http::{ApiError, FieldError};
use crate::reminders::model::Reminder;
use crate::state::AppState;

const TOKEN_PREFIX: &str = "erh_";
/// `random_token` gives 32 bytes in base64url without padding.
const TOKEN_CHARS: usize = 43;
/// Live hooks per reminder, so a leaked session cannot mint unbounded URLs.
const MAX_HOOKS_PER_REMINDER: i64 = 10;
/// A snooze asked for without a duration.
const DEFAULT_SNOOZE: &str = "in 1 hour";
pub const ACTIONS: [&str; 3] = ["acknowledge", "complete", "snooze"];

/// A `completion_hooks` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = completion_hooks)]
pub struct HookRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub reminder_id: ReminderId,
    pub default_action: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/reminders/{id}/completion-hooks`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewHook {
    /// What a call does when its body does not say: `complete` (default), `acknowledge` or `snooze`.
    pub action: Option<String>,
}

/// A hook as the owner sees it (never the token, except once in [`HookWithUrl`]).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookView {
    pub id: Uuid,
    #[schema(value_type = uuid::Uuid)]
    pub reminder_id: ReminderId,
    pub action: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<HookRow> for HookView {
    fn from(row: HookRow) -> Self {
        HookView {
            id: row.id,
            reminder_id: row.reminder_id,
            action: row.default_action,
            last_used_at: row.last_used_at,
            created_at: row.created_at,
        }
    }
}

/// A hook with its secret URL: only in the answer to create and rotate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookWithUrl {
    #[serde(flatten)]
    pub hook: HookView,
    /// `POST` here to act. Shown only in this response.
    pub url: String,
    pub token: String,
}

/// `POST /v1/hooks/{token}`: the body may be empty (the hook's own action).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookCall {
    /// `acknowledge`, `complete` or `snooze`; default the hook's action.
    pub action: Option<String>,
    /// For a snooze: a phrase such as "2h" or "until tomorrow 9am", read in the owner's zone (default 1 hour).
    pub duration: Option<String>,
}

/// What a hook call did. A repeat for the same occurrence answers `acted: false` and changes nothing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookResult {
    pub acted: bool,
    pub action: String,
    #[schema(value_type = uuid::Uuid)]
    pub reminder_id: ReminderId,
    /// The occurrence acted on (or found already dealt with).
    pub occurrence_at: Option<DateTime<Utc>>,
    /// For a snooze: the time understood, in the owner's zone.
    pub interpreted_as: Option<String>,
    /// The reminder's status after the call.
    pub status: String,
    pub message: String,
}

/// Cheap shape check before hashing and querying.
pub fn looks_like_token(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == TOKEN_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn hook_url(state: &AppState, token: &str) -> String {
    format!("{}/v1/hooks/{token}", state.config.api_url.as_str().trim_end_matches('/'))
}

fn check_action(field: &str, action: &str) -> Result<(), ApiError> {
    if ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(ApiError::field(field, format!("must be one of {}", ACTIONS.join(", "))))
    }
}

/// The owner's live hooks: of one reminder, or of all of them.
fn live_hooks_of(owner: UserId, reminder: Option<ReminderId>) -> completion_hooks::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = completion_hooks::table
        .filter(completion_hooks::user_id.eq(owner))
        .filter(completion_hooks::revoked_at.is_null())
        .into_boxed();
    if let Some(reminder) = reminder {
        query = query.filter(completion_hooks::reminder_id.eq(reminder));
    }
    query
}

/// One live hook of the owner's reminder, as an update target.
type LiveHook = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Find<completion_hooks::table, Uuid>,
            diesel::dsl::Eq<completion_hooks::user_id, UserId>,
        >,
        diesel::dsl::Eq<completion_hooks::reminder_id, ReminderId>,
    >,
    diesel::dsl::IsNull<completion_hooks::revoked_at>,
>;

fn live_hook(owner: UserId, reminder: ReminderId, hook: Uuid) -> LiveHook {
    completion_hooks::table
        .find(hook)
        .filter(completion_hooks::user_id.eq(owner))
        .filter(completion_hooks::reminder_id.eq(reminder))
        .filter(completion_hooks::revoked_at.is_null())
}

async fn owned_reminder(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: ReminderId,
) -> Result<Reminder, ApiError> {
    crate::reminders::store::find_for(conn, owner, reminder).await?.ok_or_else(crate::reminders::service::not_found)
}

/// Creates a hook on the owner's reminder; the answer carries the URL once.
pub async fn create(
    state: &AppState,
    owner: UserId,
    reminder: ReminderId,
    input: NewHook,
) -> Result<HookWithUrl, ApiError> {
    let action = input.action.unwrap_or_else(|| "complete".to_owned());
    check_action("action", &action)?;
    let mut conn = state.db.get().await?;
    owned_reminder(&mut conn, owner, reminder).await?;
    let live: i64 = live_hooks_of(owner, Some(reminder)).count().get_result(&mut conn).await?;
    if live >= MAX_HOOKS_PER_REMINDER {
        return Err(ApiError::forbidden(format!(
            "A reminder has at most {MAX_HOOKS_PER_REMINDER} completion hooks; revoke one first."
        )));
    }
    let token = tokens::random_token(TOKEN_PREFIX);
    let row: HookRow = diesel::insert_into(completion_hooks::table)
        .values((
            completion_hooks::user_id.eq(owner),
            completion_hooks::reminder_id.eq(reminder),
            completion_hooks::token_hash.eq(tokens::hash_token(&token)),
            completion_hooks::default_action.eq(&action),
        ))
        .returning(HookRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(HookWithUrl { hook: row.into(), url: hook_url(state, &token), token })
}

/// The reminder's live hooks (every reminder's when `None`), newest first.
pub async fn list(state: &AppState, owner: UserId, reminder: Option<ReminderId>) -> Result<Vec<HookView>, ApiError> {
    let mut conn = state.db.get().await?;
    if let Some(reminder) = reminder {
        owned_reminder(&mut conn, owner, reminder).await?;
    }
    let rows: Vec<HookRow> = live_hooks_of(owner, reminder)
        .order((completion_hooks::created_at.desc(), completion_hooks::id.asc()))
        .select(HookRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(rows.into_iter().map(HookView::from).collect())
}

/// Gives the hook a new token; the old URL answers 404 from now on.
pub async fn rotate(
    state: &AppState,
    owner: UserId,
    reminder: ReminderId,
    hook: Uuid,
) -> Result<HookWithUrl, ApiError> {
    let token = tokens::random_token(TOKEN_PREFIX);
    let mut conn = state.db.get().await?;
    let row: HookRow = diesel::update(live_hook(owner, reminder, hook))
        .set(completion_hooks::token_hash.eq(tokens::hash_token(&token)))
        .returning(HookRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::not_found("Completion hook"))?;
    Ok(HookWithUrl { hook: row.into(), url: hook_url(state, &token), token })
}

/// Ends the hook; its URL answers 404 from now on.
pub async fn revoke(state: &AppState, owner: UserId, reminder: ReminderId, hook: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let revoked = diesel::update(live_hook(owner, reminder, hook))
        .set(completion_hooks::revoked_at.eq(state.clock.now()))
        .execute(&mut conn)
        .await?;
    if revoked == 0 { Err(ApiError::not_found("Completion hook")) } else { Ok(()) }
}

/// The live hook behind a token, or 404 (unknown, revoked and rotated-out tokens alike).
pub async fn find_by_token(state: &AppState, token: &str) -> Result<HookRow, ApiError> {
    let missing = || ApiError::not_found("Hook");
    if !looks_like_token(token) {
        return Err(missing());
    }
    let mut conn = state.db.get().await?;
    completion_hooks::table
        .filter(completion_hooks::token_hash.eq(tokens::hash_token(token)))
        .filter(completion_hooks::revoked_at.is_null())
        .select(HookRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(missing)
}

/// What the call asks for: its own action, or the hook's.
async fn evidence_of(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    hook: &HookRow,
    call: HookCall,
) -> Result<Evidence, ApiError> {
    let action = call.action.unwrap_or_else(|| hook.default_action.clone());
    check_action("action", &action)?;
    match (action.as_str(), call.duration) {
        ("snooze", duration) => {
            let phrase = duration.unwrap_or_else(|| DEFAULT_SNOOZE.to_owned());
            let target = evidence::snooze_target(&state.config, conn, hook.user_id, &phrase, state.clock.now()).await?;
            Ok(Evidence::Snooze(target))
        }
        (_, Some(_)) => Err(ApiError::validation(vec![FieldError::new("duration", "applies to a snooze only")])),
        ("acknowledge", None) => Ok(Evidence::Acknowledge),
        _ => Ok(Evidence::Complete),
    }
}

/// Acts on the current occurrence once. Everything happens in one transaction: the evidence row whose
/// unique key (reminder, occurrence) makes a concurrent or repeated call a no-op, the action, the hook's
/// `last_used_at`.
pub async fn invoke(state: &AppState, hook: HookRow, call: HookCall) -> Result<HookResult, ApiError> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let evidence = evidence_of(state, &mut conn, &hook, call).await?;
    let action = evidence.name().to_owned();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let reminder = crate::reminders::store::lock_for(conn, hook.user_id, hook.reminder_id)
            .await?
            .ok_or_else(|| ApiError::not_found("Hook"))?;
        let result = |acted: bool, occurrence_at, status: &str, message: String| HookResult {
            acted,
            action: action.clone(),
            reminder_id: reminder.id,
            occurrence_at,
            interpreted_as: evidence.interpreted_as().map(str::to_owned).filter(|_| acted),
            status: status.to_owned(),
            message,
        };
        let at = match occurrence::current(conn, &reminder, now).await? {
            Occurrence::Due(at) => at,
            Occurrence::Ended { at, status } => {
                let over = format!("This occurrence is already over ({status}); nothing was changed.");
                let message = already_done(conn, reminder.id, at).await?.unwrap_or(over);
                return Ok(result(false, Some(at), reminder.status.as_str(), message));
            }
            Occurrence::Nothing => {
                let message = format!("The reminder is {}; nothing was changed.", reminder.status.as_str());
                return Ok(result(false, None, reminder.status.as_str(), message));
            }
        };
        let row = EventRow {
            user_id: reminder.user_id,
            reminder_id: Some(reminder.id),
            watcher_id: None,
            hook_id: Some(hook.id),
            source: "hook",
            action: action.clone(),
            summary: Some(evidence.summary("by a completion hook")),
            occurrence_at: Some(at),
            message_id: None,
        };
        if evidence::record(conn, &row).await?.is_none() {
            // The unique key only refuses a row that exists, so the earlier call is there to quote.
            let message = already_done(conn, reminder.id, at).await?;
            let message = message.unwrap_or_else(|| "Already done for this occurrence.".to_owned());
            return Ok(result(false, Some(at), reminder.status.as_str(), message));
        }
        let outcome =
            evidence::apply(conn, reminder.user_id, reminder.id, &evidence, Actor::Hook, Some("completion hook"), now)
                .await?;
        diesel::update(completion_hooks::table.find(hook.id))
            .set(completion_hooks::last_used_at.eq(now))
            .execute(conn)
            .await?;
        let message = format!("Done: {}.", evidence.summary("by this hook"));
        Ok(result(true, Some(at), outcome.reminder.status.as_str(), message))
    })
    .await
}

/// "Already done" with the action and time of the hook call that dealt with this occurrence, if one did.
async fn already_done(
    conn: &mut AsyncPgConnection,
    reminder: ReminderId,
    occurrence: DateTime<Utc>,
) -> QueryResult<Option<String>> {
    let found: Option<(String, DateTime<Utc>)> = watcher_events::table
        .filter(watcher_events::source.eq("hook"))
        .filter(watcher_events::reminder_id.eq(reminder))
        .filter(watcher_events::occurrence_at.eq(occurrence))
        .select((watcher_events::action, watcher_events::created_at))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(action, at)| {
        let when = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!("Already done: this occurrence was {} by a hook at {when}.", past_tense(&action))
    }))
}

fn past_tense(action: &str) -> &str {
    match action {
        "acknowledge" => "acknowledged",
        "snooze" => "snoozed",
        _ => "completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_a_recognisable_shape() {
        let token = tokens::random_token(TOKEN_PREFIX);
        assert!(looks_like_token(&token), "{token}");
        assert!(!looks_like_token("erh_short"));
        assert!(!looks_like_token(&token.replace("erh_", "esk_")));
    }
}
