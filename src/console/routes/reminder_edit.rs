//! Editing a reminder (the same validation as `PATCH /v1/reminders/{id}`) and archiving it (as
//! `DELETE /v1/reminders/{id}` does).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::account::TokenOnly;
use super::reminders::{PREVIEW, form_errors, form_page};
use super::{ItemPage, PostedTo, redirect_with};
use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, ReminderForm};
use crate::console::session::Viewer;
use crate::reminders::service;
use crate::state::AppState;

/// The form as the stored reminder fills it (404 for another user's).
async fn stored_form(state: &AppState, viewer: &Viewer, id: uuid::Uuid) -> Result<ReminderForm, ConsoleError> {
    let mut conn = state.db.get().await?;
    let reminder = service::get(&mut conn, viewer.user_id, id.into()).await?;
    Ok(ReminderForm::from_view(&reminder, viewer.tz))
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    let form = stored_form(&state, &viewer, id).await?;
    form_page(&req, &state, &viewer, (&form, Some(id)), &Default::default(), StatusCode::OK).await
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<ReminderForm>,
) -> Result<HttpResponse, ConsoleError> {
    let stored = stored_form(&state, &viewer, id).await?;
    if form.op == PREVIEW {
        return form_page(&req, &state, &viewer, (&form, Some(id)), &Errors::new(), StatusCode::OK).await;
    }
    let patch = match form.to_patch(viewer.tz, state.clock.now(), &stored) {
        Ok(patch) => patch,
        Err(errors) => {
            return form_page(&req, &state, &viewer, (&form, Some(id)), &errors, StatusCode::BAD_REQUEST).await;
        }
    };
    let mut conn = state.db.get().await?;
    let edit = service::ReminderEdit { owner: viewer.user_id, id: id.into(), patch, now: state.clock.now() };
    let err = match crate::stopping::update_reminder(&mut conn, &state.config.tier_limits, edit).await {
        Ok(_) => return Ok(redirect_with(&state.config, &format!("/reminders/{id}"), "Reminder saved.")),
        Err(err) => err,
    };
    drop(conn);
    let (status, errors) = form_errors(&form, err)?;
    form_page(&req, &state, &viewer, (&form, Some(id)), &errors, status).await
}

pub async fn archive(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    crate::stopping::archive_reminder(
        &mut conn,
        &state.config.tier_limits,
        viewer.user_id,
        id.into(),
        state.clock.now(),
    )
    .await?;
    Ok(redirect_with(&state.config, "/reminders", "Reminder archived. It no longer fires."))
}
