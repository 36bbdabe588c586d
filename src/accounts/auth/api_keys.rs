//! API keys: `esk_live_` + 43 base62 characters, shown once, stored as SHA-256, listed by prefix.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuthUser, tokens};
use crate::db::schema::api_keys;
use crate::http::envelope::{Envelope, no_content};
use crate::http::{ApiError, ApiResponse, FieldError, Json};
use crate::state::AppState;

const PREFIX: &str = "esk_live_";
const RANDOM_CHARS: usize = 43;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Keys per user, so a leaked account cannot mint unbounded keys.
const MAX_KEYS: i64 = 50;

/// Cheap shape check before hashing and querying.
pub fn looks_like_key(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn generate() -> String {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_CHARS).map(|_| BASE62[rng.random_range(0..BASE62.len())] as char).collect();
    format!("{PREFIX}{random}")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiKey {
    /// Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*\\S[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub name: String,
}

#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The full key. It is shown only in this response.
    pub secret: String,
}

pub async fn revoke_all(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(api_keys::table.filter(api_keys::user_id.eq(user)).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)
        .await
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "auth", operation_id = "create_api_key", request_body = NewApiKey,
    responses((status = 201, body = Envelope<CreatedApiKey>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<NewApiKey>,
) -> Result<ApiResponse<CreatedApiKey>, ApiError> {
    Ok(ApiResponse::created(create_key(&state, user.id, &body.0.name).await?))
}

/// Mints a key for `owner` (API and console); the secret is in the answer only.
pub async fn create_key(state: &AppState, owner: UserId, name: &str) -> Result<CreatedApiKey, ApiError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::validation(vec![FieldError::new("name", "must be 1 to 100 characters")]));
    }
    let secret = generate();
    let mut conn = state.db.get().await?;
    let live: i64 = api_keys::table
        .filter(api_keys::user_id.eq(owner))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .await?;
    if live >= MAX_KEYS {
        return Err(ApiError::forbidden(format!("At most {MAX_KEYS} API keys; revoke one first.")));
    }
    let key: ApiKeyView = diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(owner),
            api_keys::name.eq(&name),
            api_keys::prefix.eq(&secret[..PREFIX.len() + 6]),
            api_keys::key_hash.eq(tokens::hash_token(&secret)),
        ))
        .returning((api_keys::id, api_keys::name, api_keys::prefix, api_keys::last_used_at, api_keys::created_at))
        .get_result(&mut conn)
        .await?;
    Ok(CreatedApiKey { key, secret })
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "auth", operation_id = "list_api_keys",
    responses((status = 200, body = Envelope<Vec<ApiKeyView>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<ApiResponse<Vec<ApiKeyView>>, ApiError> {
    Ok(ApiResponse::ok(list_keys(&state, user.id).await?))
}

/// The owner's live keys, newest first (API and console).
pub async fn list_keys(state: &AppState, owner: UserId) -> Result<Vec<ApiKeyView>, ApiError> {
    let mut conn = state.db.get().await?;
    let keys = api_keys::table
        .filter(api_keys::user_id.eq(owner))
        .filter(api_keys::revoked_at.is_null())
        .order(api_keys::created_at.desc())
        .select((api_keys::id, api_keys::name, api_keys::prefix, api_keys::last_used_at, api_keys::created_at))
        .load(&mut conn)
        .await?;
    Ok(keys)
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "auth", operation_id = "revoke_api_key", params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204), (status = 404)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn revoke(state: web::Data<AppState>, user: AuthUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    revoke_key(&state, user.id, *id).await?;
    Ok(no_content())
}

/// Revokes one of the owner's keys; 404 when it is not theirs or already revoked (API and console).
pub async fn revoke_key(state: &AppState, owner: UserId, id: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let revoked = diesel::update(
        api_keys::table.find(id).filter(api_keys::user_id.eq(owner)).filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(state.clock.now()))
    .execute(&mut conn)
    .await?;
    if revoked == 0 {
        return Err(ApiError::not_found("API key"));
    }
    Ok(())
}
