//! Admin rules: input checks, and every write done together with its `admin_actions` row in one
//! transaction, so a change without its log entry (or the reverse) cannot exist.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use serde_json::json;
use uuid::Uuid;

use super::action_log::{self, NewAdminAction};
use super::extractor::AdminUser;
use super::model::{
    DeliveryState, DeliveryStateChange, NoteEdit, NoteInput, Reasoned, SubscriptionControls, SubscriptionOverride,
    SupportNote, UserDetail,
};
use super::store;
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

const MAX_REASON_CHARS: usize = 500;
const MAX_NOTE_CHARS: usize = 5000;
/// A usage suspension longer than this is a mistake or a case for DELIVERY_DISABLED.
const MAX_SUSPENSION_DAYS: i64 = 366;

/// The trimmed text of a required field of 1 to `max` characters, or its error.
fn required_text(field: &str, text: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let text = text.trim();
    if text.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if text.chars().count() > max {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    }
    text.to_owned()
}

fn finish(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// The trimmed reason of a write whose body is only its reason, or 400.
pub(super) fn checked_reason(reason: &str) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", reason, MAX_REASON_CHARS, &mut errors);
    finish(errors)?;
    Ok(reason)
}

/// 404 unless the user exists (deleted accounts included: support may still need to look at them).
async fn ensure_user(conn: &mut AsyncPgConnection, user_id: UserId) -> Result<(), ApiError> {
    store::account(conn, user_id).await?.map(|_| ()).ok_or_else(|| ApiError::not_found("User"))
}

/// Writes the log row for a change made in the same transaction.
pub(super) async fn log(
    conn: &mut AsyncPgConnection,
    admin: &AdminUser,
    action: &str,
    target: impl Into<Option<UserId>>,
    reason: &str,
    changes: serde_json::Value,
) -> Result<(), ApiError> {
    let row = NewAdminAction {
        admin_user_id: admin.admin_id,
        action,
        target_user_id: target.into(),
        reason,
        changes,
        ip: admin.ip.as_deref(),
        request_id: Some(crate::http::current_request_id()),
    };
    action_log::record(conn, row).await?;
    Ok(())
}

pub async fn user_detail(state: &AppState, user_id: UserId) -> Result<UserDetail, ApiError> {
    let mut conn = state.db.get().await?;
    let (email, display_name, timezone, created_at, deleted_at) =
        store::account(&mut conn, user_id).await?.ok_or_else(|| ApiError::not_found("User"))?;
    let subscription = store::controls(&mut conn, user_id, state.config.default_tier).await?;
    let usage = store::usage(&mut conn, user_id, state.clock.now() - Duration::hours(24)).await?;
    let admin_role = store::admin_role(&mut conn, user_id).await?.map(|(_, role)| role);
    Ok(UserDetail {
        id: user_id,
        email,
        display_name,
        timezone,
        created_at,
        deleted_at,
        subscription,
        usage,
        admin_role,
    })
}

/// The log's name for a move between delivery states.
fn delivery_action(before: &str, after: DeliveryState) -> &'static str {
    match after {
        DeliveryState::UsageSuspended => "user.suspend",
        DeliveryState::DeliveryDisabled => "user.disable_delivery",
        DeliveryState::Active if before == DeliveryState::UsageSuspended.as_str() => "user.unsuspend",
        DeliveryState::Active => "user.enable_delivery",
    }
}

fn delivery_fields(controls: &SubscriptionControls) -> serde_json::Value {
    json!({
        "deliveryState": controls.delivery_state,
        "deliveryStateReason": controls.delivery_state_reason,
        "usageSuspendedUntil": controls.usage_suspended_until,
    })
}

fn check_until(change: &DeliveryStateChange, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    match (change.state, change.until) {
        (DeliveryState::UsageSuspended, None) => {
            errors.push(FieldError::new("until", "is required for USAGE_SUSPENDED"))
        }
        (DeliveryState::UsageSuspended, Some(until)) if until <= now => {
            errors.push(FieldError::new("until", "must be in the future"));
        }
        (DeliveryState::UsageSuspended, Some(until)) if until > now + Duration::days(MAX_SUSPENSION_DAYS) => {
            errors.push(FieldError::new("until", format!("must be within {MAX_SUSPENSION_DAYS} days")));
        }
        (DeliveryState::UsageSuspended, Some(_)) | (_, None) => {}
        (_, Some(_)) => errors.push(FieldError::new("until", "is only for USAGE_SUSPENDED")),
    }
}

/// Suspends, unsuspends, disables or enables a user's deliveries.
pub async fn set_delivery_state(
    state: &AppState,
    admin: &AdminUser,
    user_id: UserId,
    change: DeliveryStateChange,
) -> Result<SubscriptionControls, ApiError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", &change.reason, MAX_REASON_CHARS, &mut errors);
    check_until(&change, state.clock.now(), &mut errors);
    finish(errors)?;
    let default_tier = state.config.default_tier;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        ensure_user(conn, user_id).await?;
        let before = store::lock_controls(conn, user_id, default_tier).await?;
        crate::billing::service::set_delivery_status(conn, user_id, change.state, Some(&reason), change.until).await?;
        let after = store::controls(conn, user_id, default_tier).await?;
        let action = delivery_action(&before.delivery_state, change.state);
        let changes = json!({"before": delivery_fields(&before), "after": delivery_fields(&after)});
        log(conn, admin, action, user_id, &reason, changes).await?;
        Ok(after)
    })
    .await
}

/// Grants a tier over the paid one, or ends the grant.
pub async fn override_subscription(
    state: &AppState,
    admin: &AdminUser,
    user_id: UserId,
    input: SubscriptionOverride,
) -> Result<SubscriptionControls, ApiError> {
    let mut errors = Vec::new();
    let reason = required_text("reason", &input.reason, MAX_REASON_CHARS, &mut errors);
    finish(errors)?;
    let default_tier = state.config.default_tier;
    let tiers = &state.config.tier_limits;
    let mut conn = state.db.get().await?;
    let (after, paused) = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            ensure_user(conn, user_id).await?;
            let before = store::lock_controls(conn, user_id, default_tier).await?;
            // The new limits apply at once: reminders over a lower limit stop escalating.
            let paused = crate::stopping::apply_tier_override(conn, tiers, user_id, input.tier).await?;
            let after = store::controls(conn, user_id, default_tier).await?;
            let fields =
                |c: &SubscriptionControls| json!({"tierOverride": c.tier_override, "effectiveTier": c.effective_tier});
            let changes = json!({"before": fields(&before), "after": fields(&after)});
            let action = if input.tier.is_some() { "subscription.override" } else { "subscription.clear_override" };
            log(conn, admin, action, user_id, &reason, changes).await?;
            Ok((after, paused))
        })
        .await?;
    drop(conn);
    crate::billing::service::notify_paused(state, user_id, &paused).await;
    Ok(after)
}

/// Adds a support note to a user.
pub async fn add_note(
    state: &AppState,
    admin: &AdminUser,
    user_id: UserId,
    input: NoteInput,
) -> Result<SupportNote, ApiError> {
    let mut errors = Vec::new();
    let body = required_text("body", &input.body, MAX_NOTE_CHARS, &mut errors);
    let reason = required_text("reason", &input.reason, MAX_REASON_CHARS, &mut errors);
    finish(errors)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        ensure_user(conn, user_id).await?;
        let note = store::add_note(conn, user_id, admin.admin_id, &body).await?;
        // The note's text stays in support_notes; the log says which note, not what it says.
        let changes = json!({"before": null, "after": {"noteId": note.id}});
        log(conn, admin, "note.add", user_id, &reason, changes).await?;
        Ok(note)
    })
    .await
}

/// Edits a note's text, its pin, or both.
pub async fn edit_note(
    state: &AppState,
    admin: &AdminUser,
    user_id: UserId,
    note_id: Uuid,
    edit: NoteEdit,
) -> Result<SupportNote, ApiError> {
    let mut errors = Vec::new();
    let body = edit.body.as_deref().map(|body| required_text("body", body, MAX_NOTE_CHARS, &mut errors));
    let reason = required_text("reason", &edit.reason, MAX_REASON_CHARS, &mut errors);
    if body.is_none() && edit.pinned.is_none() {
        errors.push(FieldError::new("body", "give a new body, pinned, or both"));
    }
    finish(errors)?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let mut note = store::lock_note(conn, user_id, note_id).await?.ok_or_else(|| ApiError::not_found("Note"))?;
        let before = json!({"noteId": note.id, "pinned": note.pinned});
        let edited = body.as_ref().is_some_and(|body| *body != note.body);
        note.body = body.unwrap_or(note.body);
        note.pinned = edit.pinned.unwrap_or(note.pinned);
        let note = store::update_note(conn, &note, now).await?;
        // As for a new note, the log says which note and what changed, not what it says.
        let changes =
            json!({"before": before, "after": {"noteId": note.id, "pinned": note.pinned, "bodyEdited": edited}});
        log(conn, admin, "note.edit", user_id, &reason, changes).await?;
        Ok(note)
    })
    .await
}

/// Deletes a note.
pub async fn delete_note(
    state: &AppState,
    admin: &AdminUser,
    user_id: UserId,
    note_id: Uuid,
    body: Reasoned,
) -> Result<(), ApiError> {
    let reason = checked_reason(&body.reason)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let note = store::lock_note(conn, user_id, note_id).await?.ok_or_else(|| ApiError::not_found("Note"))?;
        store::delete_note(conn, note.id).await?;
        let changes = json!({"before": {"noteId": note.id, "pinned": note.pinned}, "after": null});
        log(conn, admin, "note.delete", user_id, &reason, changes).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_actions_name_the_move() {
        assert_eq!(delivery_action("ACTIVE", DeliveryState::UsageSuspended), "user.suspend");
        assert_eq!(delivery_action("USAGE_SUSPENDED", DeliveryState::Active), "user.unsuspend");
        assert_eq!(delivery_action("ACTIVE", DeliveryState::DeliveryDisabled), "user.disable_delivery");
        assert_eq!(delivery_action("DELIVERY_DISABLED", DeliveryState::Active), "user.enable_delivery");
    }

    #[test]
    fn until_belongs_to_usage_suspension_only() {
        let now = Utc::now();
        let change = |state, until| DeliveryStateChange { state, reason: "r".to_owned(), until };
        let errors_for = |c: DeliveryStateChange| {
            let mut errors = Vec::new();
            check_until(&c, now, &mut errors);
            errors.len()
        };
        assert_eq!(errors_for(change(DeliveryState::UsageSuspended, None)), 1);
        assert_eq!(errors_for(change(DeliveryState::UsageSuspended, Some(now - Duration::minutes(1)))), 1);
        assert_eq!(errors_for(change(DeliveryState::UsageSuspended, Some(now + Duration::days(400)))), 1);
        assert_eq!(errors_for(change(DeliveryState::UsageSuspended, Some(now + Duration::days(3)))), 0);
        assert_eq!(errors_for(change(DeliveryState::Active, Some(now + Duration::days(3)))), 1);
        assert_eq!(errors_for(change(DeliveryState::DeliveryDisabled, None)), 0);
    }
}
