//! Marketplace rules: a manifest is checked field by field (name, capabilities, schema, callback URL through
//! the SSRF guard and the type's own host list, limits within bounds); the signing secret is sealed and
//! shown once; a developer sees and edits only their own types, and a changed callback or schema goes back
//! to review; an admin approves, rejects or suspends. Everything is 404 while `FEATURE_MARKETPLACE` is off.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::model::{
    AgentRow, AgentView, AgentWithSecret, CAPABILITIES, LimitsInput, Manifest, ManifestPatch, ReviewInput,
};
use super::schema;
use super::store::{self, AgentChanges, NewAgent};
use crate::accounts::auth::AuthUser;
use crate::http::{ApiError, FieldError, required_text};
use crate::state::AppState;

/// The marketplace's routes answer 404 while the flag is off, as if they did not exist.
pub fn require_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config.feature_marketplace { Ok(()) } else { Err(ApiError::not_found("Route")) }
}

fn valid_type_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("x-") else { return false };
    (2..=39).contains(&rest.len())
        && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !rest.starts_with('-')
}

/// Limits within their bounds, defaults for those not given.
fn limits(input: &LimitsInput, current: Option<&AgentRow>, errors: &mut Vec<FieldError>) -> (i32, i32, i32) {
    let mut bounded = |field: &str, given: Option<i32>, now: Option<i32>, default: i32, min: i32, max: i32| {
        let value = given.or(now).unwrap_or(default);
        if !(min..=max).contains(&value) {
            errors.push(FieldError::new(format!("limits.{field}"), format!("must be {min} to {max}")));
        }
        value
    };
    (
        bounded("timeoutMs", input.timeout_ms, current.map(|c| c.timeout_ms), 5_000, 500, 10_000),
        bounded(
            "maxPayloadBytes",
            input.max_payload_bytes,
            current.map(|c| c.max_payload_bytes),
            16_384,
            1_024,
            65_536,
        ),
        bounded("requestsPerMinute", input.requests_per_minute, current.map(|c| c.requests_per_minute), 600, 1, 6_000),
    )
}

fn hosts(given: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if given.len() > 20 {
        errors.push(FieldError::new("allowedHosts", "at most 20 hosts"));
    }
    given
        .iter()
        .enumerate()
        .filter_map(|(at, host)| {
            let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
            let ok = !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !ok {
                errors.push(FieldError::new(
                    format!("allowedHosts[{at}]"),
                    "must be a host name such as hooks.example.com",
                ));
            }
            ok.then_some(host)
        })
        .collect()
}

/// Checks a callback URL: the SSRF guard, HTTPS (unless private addresses are allowed, for tests and
/// self-hosters), and a host on the type's list when it has one.
pub fn check_callback(url: &str, allowed_hosts: &[String], allow_private: bool) -> Result<url::Url, String> {
    let url = crate::agents::ssrf::check_https_url(url, allow_private)?;
    let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    if !allowed_hosts.is_empty() && !allowed_hosts.contains(&host) {
        return Err(format!("names {host}, which is not in allowedHosts"));
    }
    Ok(url)
}

/// A new `whsec_` secret and its ciphertext sealed to the agent's row.
fn new_secret(state: &AppState, id: Uuid) -> Result<(String, Vec<u8>), ApiError> {
    let plain = crate::agents::subscriptions::service::random_whsec();
    let sealed = crate::crypto::encrypt(state.config.encryption_key.expose_secret(), id, plain.as_bytes())?;
    Ok((plain, sealed))
}

pub async fn register(state: &AppState, user: &AuthUser, manifest: Manifest) -> Result<AgentWithSecret, ApiError> {
    require_enabled(state)?;
    let mut errors = Vec::new();
    if !valid_type_name(&manifest.agent_type) {
        errors.push(FieldError::new("agentType", "must be x- followed by 2 to 39 lowercase letters, digits or dashes"));
    }
    let name = required_text("name", &manifest.name, 80, &mut errors);
    let description = required_text("description", &manifest.description, 500, &mut errors);
    let mut capabilities: Vec<String> = Vec::new();
    for (at, capability) in manifest.capabilities.iter().enumerate() {
        if !CAPABILITIES.contains(&capability.as_str()) {
            errors.push(FieldError::new(
                format!("capabilities[{at}]"),
                format!("must be one of {}", CAPABILITIES.join(", ")),
            ));
        } else if !capabilities.contains(capability) {
            capabilities.push(capability.clone());
        }
    }
    if capabilities.is_empty() && errors.iter().all(|e| !e.field.starts_with("capabilities")) {
        errors.push(FieldError::new("capabilities", "at least one"));
    }
    if let Err(err) = schema::check_schema(&manifest.config_schema) {
        errors.push(err);
    }
    let allowed_hosts = hosts(&manifest.allowed_hosts, &mut errors);
    let callback_url = match manifest.callback_url.as_deref() {
        Some(url) => match check_callback(url, &allowed_hosts, state.config.webhook_allow_private) {
            Ok(url) => Some(url.to_string()),
            Err(why) => {
                errors.push(FieldError::new("callbackUrl", why));
                None
            }
        },
        None if capabilities.iter().any(|c| c == "receive") => {
            errors.push(FieldError::new("callbackUrl", "is required for the receive capability"));
            None
        }
        None => None,
    };
    let (timeout_ms, max_payload_bytes, requests_per_minute) = limits(&manifest.limits, None, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = Uuid::new_v4();
    let (secret, sealed) = new_secret(state, id)?;
    let new = NewAgent {
        id,
        developer: user.id,
        agent_type: manifest.agent_type.clone(),
        name,
        description,
        capabilities,
        config_schema: manifest.config_schema,
        callback_url,
        secret_ciphertext: sealed,
        timeout_ms,
        max_payload_bytes,
        requests_per_minute,
        allowed_hosts,
    };
    let mut conn = state.db.get().await?;
    let row = store::insert(&mut conn, new)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("The agent type {} is taken.", manifest.agent_type)))?;
    Ok(AgentWithSecret { agent: row.into(), signing_secret: Some(secret) })
}

pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<AgentView>, ApiError> {
    require_enabled(state)?;
    let mut conn = state.db.get().await?;
    Ok(store::list_for(&mut conn, user.id).await?.into_iter().map(Into::into).collect())
}

pub async fn get(state: &AppState, user: &AuthUser, id: Uuid) -> Result<AgentView, ApiError> {
    require_enabled(state)?;
    let mut conn = state.db.get().await?;
    Ok(store::find_for(&mut conn, user.id, id).await?.ok_or_else(|| ApiError::not_found("Agent type"))?.into())
}

pub async fn update(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    patch: ManifestPatch,
) -> Result<AgentWithSecret, ApiError> {
    require_enabled(state)?;
    let mut conn = state.db.get().await?;
    let current = store::find_for(&mut conn, user.id, id).await?.ok_or_else(|| ApiError::not_found("Agent type"))?;
    let mut errors = Vec::new();
    let mut changes = AgentChanges {
        name: patch.name.as_deref().map(|name| required_text("name", name, 80, &mut errors)),
        description: patch.description.as_deref().map(|d| required_text("description", d, 500, &mut errors)),
        ..AgentChanges::default()
    };
    let mut review_again = false;
    if let Some(url) = &patch.callback_url {
        match check_callback(url, &current.allowed_hosts, state.config.webhook_allow_private) {
            Ok(url) => {
                review_again |= current.callback_url.as_deref() != Some(url.as_str());
                changes.callback_url = Some(Some(url.to_string()));
            }
            Err(why) => errors.push(FieldError::new("callbackUrl", why)),
        }
    }
    if let Some(config_schema) = &patch.config_schema {
        match schema::check_schema(config_schema) {
            Ok(()) => {
                review_again |= *config_schema != current.config_schema;
                changes.config_schema = Some(config_schema.clone());
            }
            Err(err) => errors.push(err),
        }
    }
    if let Some(input) = &patch.limits {
        let (timeout, payload, rate) = limits(input, Some(&current), &mut errors);
        (changes.timeout_ms, changes.max_payload_bytes, changes.requests_per_minute) =
            (Some(timeout), Some(payload), Some(rate));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if review_again && current.status != "pending" {
        changes.status = Some("pending".to_owned());
        changes.status_reason = Some(Some("changed by its developer; waiting for review".to_owned()));
    } else if patch.reactivate == Some(true) && current.status == "suspended" {
        // Back to review, not straight to work: an admin looks at why it failed.
        changes.status = Some("pending".to_owned());
        changes.status_reason = Some(Some("asked to be reactivated; waiting for review".to_owned()));
        changes.consecutive_failures = Some(0);
    }
    let mut shown = None;
    if patch.rotate_secret == Some(true) {
        let (plain, sealed) = new_secret(state, id)?;
        changes.secret_ciphertext = Some(sealed);
        shown = Some(plain);
    }
    let new_schema = changes.config_schema.clone().filter(|schema| *schema != current.config_schema);
    let key = state.config.encryption_key.expose_secret();
    let row = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let row = store::update(conn, id, &changes).await?;
            // What the schema marks write-only is what is sealed: its subscribers' settings follow it.
            if let Some(schema) = &new_schema {
                crate::agents::subscriptions::sealed_settings::reseal_type(conn, key, &row.agent_type, schema).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(AgentWithSecret { agent: row.into(), signing_secret: shown })
}

/// The review queue (all types with `status`, or every type).
pub async fn queue(state: &AppState, status: Option<&str>) -> Result<Vec<AgentView>, ApiError> {
    require_enabled(state)?;
    if status.is_some_and(|s| !["pending", "approved", "rejected", "suspended"].contains(&s)) {
        return Err(ApiError::field("status", "must be pending, approved, rejected or suspended"));
    }
    let mut conn = state.db.get().await?;
    Ok(store::list_by_status(&mut conn, status).await?.into_iter().map(Into::into).collect())
}

/// An admin's decision, applied in the caller's transaction (which also writes the admin action log). An
/// approval seals its subscribers' write-only settings once more before anything is sent to the type: a
/// subscriber's change that read the schema before its developer changed it may have been written after
/// the reseal of that change (see `update`).
pub async fn review(
    conn: &mut AsyncPgConnection,
    key: &[u8; 32],
    id: Uuid,
    input: &ReviewInput,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(AgentRow, AgentRow), ApiError> {
    let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let before = store::find(conn, id).await?.ok_or_else(|| ApiError::not_found("Agent type"))?;
    let changes = match (input.decision.as_str(), reason) {
        ("approve", _) => AgentChanges {
            status: Some("approved".to_owned()),
            status_reason: Some(None),
            consecutive_failures: Some(0),
            approved_at: Some(Some(now)),
            ..AgentChanges::default()
        },
        ("reject" | "suspend", None) => return Err(ApiError::field("reason", "is required to reject or suspend")),
        ("reject", Some(reason)) => AgentChanges {
            status: Some("rejected".to_owned()),
            status_reason: Some(Some(reason.chars().take(500).collect())),
            ..AgentChanges::default()
        },
        ("suspend", Some(reason)) => AgentChanges {
            status: Some("suspended".to_owned()),
            status_reason: Some(Some(reason.chars().take(500).collect())),
            ..AgentChanges::default()
        },
        _ => return Err(ApiError::field("decision", "must be approve, reject or suspend")),
    };
    let after = store::update(conn, id, &changes).await?;
    if after.status == "approved" {
        crate::agents::subscriptions::sealed_settings::reseal_type(conn, key, &after.agent_type, &after.config_schema)
            .await?;
    }
    Ok((before, after))
}

/// Checks a user's whole config (write-only settings included) for the marketplace type `agent_type`
/// (approved, flag on), keeping the values of its write-only settings and of those already `sealed` out of
/// the errors; returns the names of both, the settings to store sealed.
pub async fn check_subscription_config(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    agent_type: &str,
    config: &serde_json::Value,
    mut sealed: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    require_enabled(state).map_err(|_| ApiError::not_found("Agent type"))?;
    let agent = store::find_by_type(conn, agent_type).await?.filter(|a| a.status == "approved");
    let agent = agent.ok_or_else(|| ApiError::not_found("Agent type"))?;
    sealed.extend(schema::write_only(&agent.config_schema).map(str::to_owned));
    let hidden: Vec<&str> = sealed.iter().map(String::as_str).collect();
    schema::check_config(&agent.config_schema, config, &hidden).map_err(ApiError::validation)?;
    Ok(sealed)
}
