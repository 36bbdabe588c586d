//! Escalation profiles: the presets and the user's own, the tier editor with the same escalation picture
//! as a reminder's page (redrawn as the form is typed by a small script through `/profiles/picture`, or by
//! the editor's Preview button without one), and deleting a profile behind a confirm page. Changes go
//! through the same service functions as `/v1/escalation-profiles`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::account::TokenOnly;
use super::channels::{caller, shown};
use super::{ItemPage, Posted, PostedTo, page, path_id, redirect_with, tokened};
use crate::console::error::{ConsoleError, field_errors};
use crate::console::forms::profile::{EditorPost, MAX_TIERS, Op, ProfileForm};
use crate::console::forms::{Errors, place};
use crate::console::session::Viewer;
use crate::console::{render, timeline};
use crate::http::pagination::Page;
use crate::http::{ApiError, ErrorCode};
use crate::profiles::model::ProfileView;
use crate::profiles::service;
use crate::reminders::preview::{self, Ladder};
use crate::state::AppState;

tokened!(EditorPost);

/// What the picture of an edited ladder shows.
const PICTURE_TITLE: &str = "Escalation tiers if a reminder with this profile fired now";

/// "3 tiers over 3 h · email, sms, trusted contacts · runs twice" for the list.
fn summary(view: &ProfileView) -> String {
    let tiers = view.tiers.len();
    let span = match view.tiers.last().map_or(0, |t| t.delay_minutes) {
        0 => String::new(),
        m if m % 60 == 0 => format!(" over {} h", m / 60),
        m if m > 60 => format!(" over {} h {} min", m / 60, m % 60),
        m => format!(" over {m} min"),
    };
    // Who it reaches, each named once, in the order the tiers first reach them.
    let mut reaches: Vec<&str> = Vec::new();
    for tier in &view.tiers {
        let chosen = (!tier.agent_subscription_ids.is_empty()).then_some("chosen channels");
        let contacts =
            (tier.include_trusted_contacts || !tier.trusted_contact_ids.is_empty()).then_some("trusted contacts");
        for who in tier.channel_types.iter().map(String::as_str).chain(chosen).chain(contacts) {
            if !reaches.contains(&who) {
                reaches.push(who);
            }
        }
    }
    let repeats = match view.repeat {
        0 => String::new(),
        1 => " · runs twice".to_owned(),
        n => format!(" · runs {} times", n + 1),
    };
    format!("{tiers} tier{}{span} · {}{repeats}", if tiers == 1 { "" } else { "s" }, reaches.join(", "))
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    let (views, _) = service::list(&mut conn, viewer.user_id, Page { page: 1, page_size: 100 }).await?;
    drop(conn);
    let row =
        |v: &ProfileView| json!({"id": v.id, "name": v.name, "description": v.description, "summary": summary(v)});
    let presets: Vec<Value> = views.iter().filter(|v| v.is_preset).map(row).collect();
    let own: Vec<Value> = views.iter().filter(|v| !v.is_preset).map(row).collect();
    let context = json!({"presets": presets, "own": own});
    Ok(page(&req, &state.config, &viewer, "profiles", "profiles.html", StatusCode::OK, context))
}

/// The picture of the form's ladder, as if a reminder with it fired now.
async fn picture(state: &AppState, viewer: &Viewer, form: &ProfileForm) -> Result<timeline::Timeline, ConsoleError> {
    let (tiers, repeat, loop_gap_minutes) = form.ladder();
    let ladder = Ladder { tiers: &tiers, repeat, loop_gap_minutes };
    let mut conn = state.db.get().await?;
    let (steps, skipped) = preview::sketch(&mut conn, viewer.user_id, &ladder, state.clock.now()).await?;
    Ok(timeline::draw(&steps, &skipped, viewer.tz))
}

/// Which profile the editor shows: a new one, the user's own, or a preset (read only).
#[derive(Clone, Copy)]
enum Editing {
    New,
    Own(Uuid),
    Preset(Uuid),
}

/// The editor (or a preset's read-only page) with the picture of `form`.
async fn editor_page(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    (form, editing): (&ProfileForm, Editing),
    errors: &Errors,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let timeline = picture(state, viewer, form).await?;
    let channels: Vec<Value> =
        crate::agents::subscriptions::service::list(state, &caller(req, viewer)?).await?.iter().map(shown).collect();
    let contacts: Vec<Value> = if state.config.feature_social_escalation {
        crate::contacts::service::list(state, viewer.user_id)
            .await?
            .iter()
            .map(|c| json!({"id": c.id.to_string(), "name": c.name, "accepted": c.consent_status == "accepted"}))
            .collect()
    } else {
        Vec::new()
    };
    let family: Vec<Value> = crate::family::service::active_members(state, viewer.user_id)
        .await?
        .iter()
        .map(|m| json!({"id": m.member_id.to_string(), "name": format!("{} ({})", m.display_name, m.email)}))
        .collect();
    let (action, id, preset) = match editing {
        Editing::New => ("/profiles".to_owned(), None, false),
        Editing::Own(id) => (format!("/profiles/{id}"), Some(id), false),
        Editing::Preset(id) => (format!("/profiles/{id}"), Some(id), true),
    };
    let context = json!({
        "form": form,
        "errors": errors,
        "action": action,
        "id": id,
        "preset": preset,
        "timeline": timeline,
        "picture_title": PICTURE_TITLE,
        "kinds": [["email", "Email"], ["sms", "SMS"], ["webhook", "Webhook"], ["pull", "Pull agent"]],
        "channels": channels,
        "contacts": contacts,
        "contactsEnabled": state.config.feature_social_escalation,
        "family": family,
        "canAdd": form.tiers.len() < MAX_TIERS,
        "repeats": (0..=reminder_core::machine::MAX_REPEAT).collect::<Vec<_>>(),
    });
    Ok(page(req, &state.config, viewer, "profiles", "profile.html", status, context))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    /// A profile (usually a preset) to start from.
    from: Option<String>,
}

pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let form = match query.from.as_deref() {
        Some(raw) => {
            let mut conn = state.db.get().await?;
            let mut form = ProfileForm::from_view(&service::get(&mut conn, viewer.user_id, path_id(raw)?).await?);
            form.name = format!("My {}", form.name).chars().take(100).collect();
            form.version = String::new();
            form
        }
        None => ProfileForm::blank(),
    };
    editor_page(&req, &state, &viewer, (&form, Editing::New), &Errors::new(), StatusCode::OK).await
}

/// The viewer's profile or a preset with `id` (another user's is the 404 page), and how the editor shows it.
async fn stored(state: &AppState, viewer: &Viewer, id: Uuid) -> Result<(ProfileView, Editing), ConsoleError> {
    let mut conn = state.db.get().await?;
    let view = service::get(&mut conn, viewer.user_id, id.into()).await?;
    let editing = if view.is_preset { Editing::Preset(id) } else { Editing::Own(id) };
    Ok((view, editing))
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    let (view, editing) = stored(&state, &viewer, id).await?;
    editor_page(&req, &state, &viewer, (&ProfileForm::from_view(&view), editing), &Errors::new(), StatusCode::OK).await
}

/// The editor's buttons other than Save: add or remove a tier, or redraw the picture. Nothing is stored.
fn rework(form: &mut ProfileForm, op: Op) -> bool {
    match op {
        Op::Save => return false,
        Op::Preview => {}
        Op::AddTier => form.add_tier(),
        Op::RemoveTier(index) => form.remove_tier(index),
    }
    true
}

/// What a refused save shows next to the form's fields (or above it), and its status.
fn refused(err: ApiError) -> Result<(StatusCode, Errors), ConsoleError> {
    let mut errors = Errors::new();
    match (field_errors(&err), &err) {
        (Some(found), _) => place(&mut errors, found, ProfileForm::field_for),
        (None, ApiError::Client { code: ErrorCode::Conflict, message, .. }) => {
            errors.insert(String::new(), message.clone());
        }
        (None, _) => return Err(err.into()),
    }
    Ok((err.code().status(), errors))
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Posted { viewer, form }: Posted<EditorPost>,
) -> Result<HttpResponse, ConsoleError> {
    edited(&req, &state, &viewer, form, Editing::New).await
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    PostedTo { viewer, id, form }: PostedTo<EditorPost>,
) -> Result<HttpResponse, ConsoleError> {
    // Another user's id is the 404 page before anything else; saving a preset is refused by the service (403).
    let (_, editing) = stored(&state, &viewer, id).await?;
    edited(&req, &state, &viewer, form, editing).await
}

/// A posted editor: a button that reworks the form (shown again), or Save (create or update, then to the
/// profile's page; refused values shown next to their fields, as typed).
async fn edited(
    req: &HttpRequest,
    state: &AppState,
    viewer: &Viewer,
    mut post: EditorPost,
    editing: Editing,
) -> Result<HttpResponse, ConsoleError> {
    let form = &mut post.form;
    if rework(form, post.op) {
        return editor_page(req, state, viewer, (form, editing), &Errors::new(), StatusCode::OK).await;
    }
    let mut conn = state.db.get().await?;
    let saved = match editing {
        Editing::New => match form.to_input() {
            Ok(input) => Ok(service::create(&mut conn, viewer.user_id, input)
                .await
                .map(|v| (v, "created. Choose it on a reminder's form"))),
            Err(errors) => Err(errors),
        },
        Editing::Own(id) | Editing::Preset(id) => match form.to_patch() {
            Ok(patch) => Ok(service::update(&mut conn, viewer.user_id, id.into(), patch)
                .await
                .map(|v| (v, "saved. Reminders that use it follow the new tiers"))),
            Err(errors) => Err(errors),
        },
    };
    drop(conn);
    let (status, errors) = match saved {
        Ok(Ok((view, done))) => {
            let message = format!("Profile “{}” {done}.", view.name);
            return Ok(redirect_with(&state.config, &format!("/profiles/{}", view.id), &message));
        }
        Ok(Err(err)) => refused(err)?,
        Err(errors) => (StatusCode::BAD_REQUEST, errors),
    };
    editor_page(req, state, viewer, (form, editing), &errors, status).await
}

/// `GET /profiles/picture?…`: the picture alone for the editor's values (the script swaps it in).
pub async fn picture_fragment(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<EditorPost>,
) -> Result<HttpResponse, ConsoleError> {
    let timeline = picture(&state, &viewer, &query.form).await?;
    Ok(render::page(StatusCode::OK, "timeline.html", json!({"timeline": timeline, "picture_title": PICTURE_TITLE})))
}

/// The confirm step before a deletion (a page of its own, so it works without a script).
pub async fn delete_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    ItemPage { viewer, id }: ItemPage,
) -> Result<HttpResponse, ConsoleError> {
    let (view, editing) = stored(&state, &viewer, id).await?;
    if let Editing::Preset(_) = editing {
        return Err(ApiError::forbidden("Presets cannot be changed or deleted; create your own profile.").into());
    }
    let context = json!({"profile": {"id": view.id, "name": view.name}});
    Ok(page(&req, &state.config, &viewer, "profiles", "profile_delete.html", StatusCode::OK, context))
}

pub async fn delete(
    state: web::Data<AppState>,
    PostedTo { viewer, id, .. }: PostedTo<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    match service::delete(&mut conn, viewer.user_id, id.into()).await {
        Ok(()) => Ok(redirect_with(&state.config, "/profiles", "Profile deleted.")),
        // In use: back to the profile, saying which reminders hold it.
        Err(ApiError::Client { code: ErrorCode::Conflict, message, .. }) => {
            Ok(redirect_with(&state.config, &format!("/profiles/{id}"), &message))
        }
        Err(err) => Err(err.into()),
    }
}
