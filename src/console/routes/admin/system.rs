//! The system pages: health now and over the last hours as charts of the stored snapshots, the operator
//! settings (changed with a reason by the roles that may), and the list of admins.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{AdminPosted, AdminViewer, admin_page, refused};
use crate::admin::model::{HealthSnapshot, SettingView, SettingsPatch};
use crate::admin::params::HistoryQuery;
use crate::admin::permissions::Permission;
use crate::admin::{health, roles, settings as knobs};
use crate::console::chart::series::{Layout, Series, columns};
use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, blank_is_none};
use crate::console::routes::{redirect_with, tokened};
use crate::http::ApiError;
use crate::state::AppState;

/// The spans the health page offers, in hours; a snapshot is 5 minutes, so 8 hours is 96 of them (a page
/// of the history holds at most 100).
const SPANS: [i64; 3] = [1, 4, 8];
const STATUSES: [(&str, &str); 3] = [("ok", "bar-ok"), ("degraded", "bar-degraded"), ("down", "bar-down")];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Span {
    hours: String,
}

pub async fn health(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
    query: web::Query<Span>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewSystem)?;
    let hours = query.hours.trim().parse::<i64>().ok().filter(|h| SPANS.contains(h)).unwrap_or(8);
    let now = state.clock.now();
    let from = now - chrono::Duration::hours(hours);
    let asked = HistoryQuery { from: Some(from), to: None, page: Some(1), page_size: u32::try_from(hours * 12).ok() };
    let page = asked.checked()?;
    let mut conn = state.db.get().await?;
    let reading = health::measure(&state, &mut conn, now).await.map_err(ApiError::from)?;
    let (mut snapshots, _) = health::history(&mut conn, Some(from), None, page).await.map_err(ApiError::from)?;
    drop(conn);
    snapshots.reverse();
    let context = json!({
        "measuredAt": now, "reading": reading, "hours": hours, "spans": SPANS,
        "charts": snapshot_charts(&snapshots, &who.viewer.tz),
        "count": snapshots.len(),
        "latest": snapshots.iter().rev().take(12).collect::<Vec<_>>(),
    });
    Ok(admin_page(&req, &state, &who, "health", "admin_health.html", StatusCode::OK, context))
}

/// The snapshots (oldest first) as three charts: the status of each slot, the queue's depth, the scheduler's lag.
fn snapshot_charts(snapshots: &[HealthSnapshot], tz: &chrono_tz::Tz) -> Value {
    let labels: Vec<(String, String)> = snapshots
        .iter()
        .map(|s| {
            let local = s.taken_at.with_timezone(tz);
            (local.format("%H:%M").to_string(), local.format("%a %-d %b %H:%M").to_string())
        })
        .collect();
    let status_series: Vec<Series<'_>> = STATUSES
        .iter()
        .map(|(name, class)| Series {
            name,
            class,
            values: snapshots.iter().map(|s| i64::from(s.reading.status == *name)).collect(),
        })
        .collect();
    let mut status =
        columns("Health status by 5-minute slot", &labels, &status_series, Layout::Stacked, |n| n.to_string());
    // Every column is one slot high: the summary counts the slots of each status instead of a scale.
    let counted: Vec<String> = status_series
        .iter()
        .map(|s| (s.name, s.values.iter().sum::<i64>()))
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    let span = match (labels.first(), labels.last()) {
        (Some(first), Some(last)) => format!(", {} to {}", first.1, last.1),
        _ => String::new(),
    };
    status.summary = format!("Health status by 5-minute slot{span}: {}", counted.join(", "));
    status.peak = String::new();
    let depth = columns(
        "Deliveries due and waiting (queue depth)",
        &labels,
        &[Series {
            name: "queue",
            class: "bar-depth",
            values: snapshots.iter().map(|s| s.reading.queue_depth).collect(),
        }],
        Layout::Beside,
        |n| n.to_string(),
    );
    let lag = columns(
        "Scheduler lag in seconds",
        &labels,
        &[Series {
            name: "lag",
            class: "bar-lag",
            // In tenths of a second, as the table shows it.
            values: snapshots.iter().map(|s| (s.reading.scheduler_lag_seconds * 10.0).round() as i64).collect(),
        }],
        Layout::Beside,
        |tenths| format!("{:.1} s", tenths as f64 / 10.0),
    );
    json!({"status": status, "depth": depth, "lag": lag})
}

/// The settings form: one field per knob, named by the key `PATCH /v1/admin/settings` takes.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(flatten)]
    values: BTreeMap<String, String>,
}
tokened!(SettingsForm);

pub async fn settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewSystem)?;
    let views = knobs::list(&state).await?;
    settings_page(&req, &state, &who, &views, None, Errors::new(), StatusCode::OK)
}

fn settings_page(
    req: &HttpRequest,
    state: &AppState,
    who: &AdminViewer,
    views: &[SettingView],
    typed: Option<&SettingsForm>,
    errors: Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let knobs: Vec<_> = views
        .iter()
        .map(|view| {
            let shown = match typed {
                Some(form) => form.values.get(view.key).cloned().unwrap_or_default(),
                None if view.overridden => view.value.to_string(),
                None => String::new(),
            };
            let mut label = view.description.chars();
            let label: String =
                label.next().map(|first| first.to_uppercase().chain(label).collect()).unwrap_or_default();
            json!({"view": view, "typed": shown, "label": label})
        })
        .collect();
    let context = json!({"knobs": knobs, "reason": typed.map(|f| f.reason.clone()), "errors": errors});
    Ok(admin_page(req, state, who, "settings", "admin_settings.html", status, context))
}

pub async fn change_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    who.require(Permission::ChangeSettings)?;
    let views = knobs::list(&state).await?;
    // Blank is the environment's value; a knob whose field says what is in force already is left alone.
    let mut patch = Map::new();
    let mut errors = Errors::new();
    for view in &views {
        let typed = form.values.get(view.key).and_then(|raw| blank_is_none(raw));
        match typed {
            None if view.overridden => {
                patch.insert(view.key.to_owned(), Value::Null);
            }
            None => {}
            Some(text) => match text.parse::<i64>() {
                Ok(value) if view.overridden && value == view.value => {}
                Ok(value) => {
                    patch.insert(view.key.to_owned(), json!(value));
                }
                Err(_) => {
                    errors
                        .insert(view.key.to_owned(), format!("Give a whole number from {} to {}.", view.min, view.max));
                }
            },
        }
    }
    if errors.is_empty() {
        patch.insert("reason".to_owned(), json!(form.reason));
        // The API's own reading of a patch: the same names, nulls and checks.
        let outcome = serde_json::from_value::<SettingsPatch>(Value::Object(patch)).map_err(|err| {
            ApiError::internal(anyhow::anyhow!("the settings form made a patch the API refuses: {err}"))
        });
        match outcome {
            Ok(patch) => match knobs::change(&state, &who.admin, patch).await {
                Ok(_) => return Ok(redirect_with(&state.config, "/admin/settings", "The settings are saved.")),
                Err(err) => errors = refused(err, "")?,
            },
            Err(err) => return Err(err.into()),
        }
    }
    settings_page(&req, &state, &who, &views, Some(&form), errors, StatusCode::BAD_REQUEST)
}

pub async fn admins(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewUsers)?;
    let admins = roles::list(&state).await?;
    let context = json!({"admins": admins});
    Ok(admin_page(&req, &state, &who, "admins", "admin_admins.html", StatusCode::OK, context))
}
