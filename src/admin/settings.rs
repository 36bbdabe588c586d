//! `/v1/admin/settings`: the operator knobs an admin may change at run time, each change written with its
//! log row (before and after) in one transaction, behind a lock on the table.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Map, Value, json};

use super::extractor::AdminUser;
use super::model::{SettingView, SettingsPatch};
use super::service::{checked_reason, log};
use crate::http::{ApiError, FieldError};
use crate::settings::{self, Knob, store};
use crate::state::AppState;

async fn views(conn: &mut AsyncPgConnection, config: &crate::config::Config) -> Result<Vec<SettingView>, ApiError> {
    let environment = settings::SystemSettings::from_config(config);
    let stored = store::overrides(conn).await?;
    let in_force = environment.with(&stored);
    Ok(Knob::ALL
        .into_iter()
        .map(|knob| {
            let (min, max) = knob.range();
            SettingView {
                key: knob.key(),
                value: in_force.get(knob),
                environment_default: environment.get(knob),
                environment_variable: knob.environment_variable(),
                overridden: stored.iter().any(|(key, _)| key == knob.key()),
                min,
                max,
                description: knob.description(),
            }
        })
        .collect())
}

pub async fn list(state: &AppState) -> Result<Vec<SettingView>, ApiError> {
    let mut conn = state.db.get().await?;
    views(&mut conn, &state.config).await
}

/// The values of `knobs` among `views`, as the log keeps them.
fn values_of(views: &[SettingView], knobs: &[Knob]) -> Value {
    let mut out = Map::new();
    for view in views.iter().filter(|v| knobs.iter().any(|k| k.key() == v.key)) {
        out.insert(view.key.to_owned(), json!({"value": view.value, "overridden": view.overridden}));
    }
    Value::Object(out)
}

/// Sets the knobs given (null: back to the environment's value).
pub async fn change(state: &AppState, admin: &AdminUser, patch: SettingsPatch) -> Result<Vec<SettingView>, ApiError> {
    let reason = checked_reason(&patch.reason)?;
    let changes = patch.changes();
    let mut errors = Vec::new();
    if changes.is_empty() {
        errors.push(FieldError::new("settings", "give at least one setting to change"));
    }
    for (knob, value) in &changes {
        let (min, max) = knob.range();
        if value.is_some_and(|v| !(min..=max).contains(&v)) {
            errors.push(FieldError::new(knob.key(), format!("must be a whole number from {min} to {max}")));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let config = &state.config;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        store::lock(conn).await?;
        let knobs: Vec<Knob> = changes.iter().map(|(knob, _)| *knob).collect();
        let before = values_of(&views(conn, config).await?, &knobs);
        for (knob, value) in &changes {
            store::put(conn, *knob, *value, now).await?;
        }
        let after_views = views(conn, config).await?;
        let after = values_of(&after_views, &knobs);
        log(conn, admin, "settings.change", None, &reason, json!({"before": before, "after": after})).await?;
        Ok(after_views)
    })
    .await
}
