//! Support notes on a user's admin page: add, edit, pin or unpin, delete; each with a reason, through the
//! admin service's functions (one transaction with its log row).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::users::{Typed, user_page, user_path};
use super::{AdminPosted, refused};
use crate::admin::model::{NoteEdit, NoteInput, Reasoned};
use crate::admin::permissions::Permission;
use crate::admin::service;
use crate::console::error::ConsoleError;
use crate::console::routes::{path_id, redirect_with, tokened};
use crate::http::ApiError;
use crate::state::AppState;

/// Every note form: `body` for a new or edited note, `pinned` (`true`/`false`) for a pin, a reason always.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NoteForm {
    csrf: String,
    body: String,
    pinned: String,
    reason: String,
}
tokened!(NoteForm);

fn ids(path: &(String, String)) -> Result<(UserId, Uuid), ConsoleError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}

/// Back to the user's page saying `done`, or the page again with the form's errors under `prefix`.
async fn finish<T>(
    req: &HttpRequest,
    state: &AppState,
    posted: AdminPosted<NoteForm>,
    (user, note): (UserId, Option<Uuid>),
    outcome: Result<T, ApiError>,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    match outcome {
        Ok(_) => Ok(redirect_with(&state.config, &user_path(user), done)),
        Err(err) => {
            let typed = match note {
                None => Typed { errors: refused(err, "note_")?, note: Some(form), ..Typed::default() },
                Some(note) => Typed {
                    errors: refused(err, "edit_")?,
                    note_id: Some(note.to_string()),
                    note_typed: Some(form),
                    ..Typed::default()
                },
            };
            user_page(req, state, &who, user, typed, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<NoteForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    posted.who.require(Permission::WriteSupportNotes)?;
    let user: UserId = path_id(&id)?;
    let input = NoteInput { body: posted.form.body.clone(), reason: posted.form.reason.clone() };
    let outcome = service::add_note(&state, &posted.who.admin, user, input).await;
    finish(&req, &state, posted, (user, None), outcome, "The note is added.").await
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<NoteForm>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    posted.who.require(Permission::WriteSupportNotes)?;
    let (user, note) = ids(&path)?;
    let edit = NoteEdit { body: Some(posted.form.body.clone()), pinned: None, reason: posted.form.reason.clone() };
    let outcome = service::edit_note(&state, &posted.who.admin, user, note, edit).await;
    finish(&req, &state, posted, (user, Some(note)), outcome, "The note is saved.").await
}

pub async fn pin(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<NoteForm>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    posted.who.require(Permission::WriteSupportNotes)?;
    let (user, note) = ids(&path)?;
    let pinned = posted.form.pinned == "true";
    let edit = NoteEdit { body: None, pinned: Some(pinned), reason: posted.form.reason.clone() };
    let outcome = service::edit_note(&state, &posted.who.admin, user, note, edit).await;
    let done = if pinned { "The note is pinned." } else { "The note is unpinned." };
    finish(&req, &state, posted, (user, Some(note)), outcome, done).await
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<NoteForm>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    posted.who.require(Permission::WriteSupportNotes)?;
    let (user, note) = ids(&path)?;
    let reason = Reasoned { reason: posted.form.reason.clone() };
    let outcome = service::delete_note(&state, &posted.who.admin, user, note, reason).await;
    finish(&req, &state, posted, (user, Some(note)), outcome, "The note is deleted.").await
}
