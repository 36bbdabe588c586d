//! Subscription rules: per-type config validation (with the SSRF check on webhook URLs), tier gates,
//! signing secrets encrypted at rest, rotation with an overlap, verification of new email addresses and
//! phone numbers, and test sends through the real channel under the delivery controls.

use base64::Engine;
use chrono::Duration;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use reminder_core::ids::{DeliveryId, SubscriptionId, UserId};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::model::{
    AgentTypeView, SubscribeInput, SubscriptionPatch, SubscriptionView, SubscriptionWithSecret, TestResult,
};
use super::store::{self, NewSubscription, SubscriptionChanges};
use super::{push_input, sealed_settings, verification};
use crate::accounts::auth::{AuthUser, email_verification};
use crate::agents::marketplace::schema::split_write_only;
use crate::agents::push::BrowserSubscription;
use crate::agents::{ChannelKind, Channels, Job, Outcome, Recipient, targets};
use crate::billing::direct::{self, Admission};
use crate::billing::limits::{self, Limit};
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

/// How long a rotated-out webhook secret keeps signing alongside the new one.
const ROTATION_OVERLAP_HOURS: i64 = 24;

/// Tiers in order, so "at least PERSONAL" can be checked.
fn tier_rank(tier: &str) -> u8 {
    match tier {
        "PERSONAL" => 1,
        "PRO" => 2,
        "FAMILY" => 3,
        _ => 0,
    }
}

/// The built-in channels and, with `marketplace` on, the approved third-party types (`x-…`).
pub async fn catalogue(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    marketplace: bool,
) -> Result<Vec<AgentTypeView>, ApiError> {
    Ok(store::catalogue(conn)
        .await?
        .into_iter()
        .filter(|(agent_type, ..)| marketplace || !agent_type.starts_with("x-"))
        .map(|(agent_type, name, description, config_schema, min_tier)| AgentTypeView {
            available: tier_rank(&user.tier) >= tier_rank(&min_tier),
            agent_type,
            name,
            description,
            config_schema,
            min_tier,
        })
        .collect())
}

/// Checks and normalises a config for `kind`, listing every problem; for a push channel also gives the
/// browser subscription to seal.
fn clean_config(
    kind: ChannelKind,
    config: &Value,
    allow_private: bool,
) -> Result<(Value, Option<BrowserSubscription>), ApiError> {
    let Some(object) = config.as_object() else {
        return Err(ApiError::field("config", "must be a JSON object"));
    };
    let allowed: &[&str] = match kind {
        ChannelKind::Push => {
            return push_input::clean(object, allow_private).map(|(open, browser)| (open, Some(browser)));
        }
        ChannelKind::Email => &["address"],
        ChannelKind::Sms => &["phoneNumber"],
        ChannelKind::Webhook => &["url"],
        ChannelKind::Pull => &["name"],
        // Checked against its type's own schema (`marketplace::service::check_subscription_config`).
        ChannelKind::Agent => &[],
    };
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()))
        .map(|key| FieldError::new(format!("config.{key}"), "is not a setting of this channel"))
        .collect();
    let text = |key: &str, errors: &mut Vec<FieldError>| -> Option<String> {
        match object.get(key) {
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                errors.push(FieldError::new(format!("config.{key}"), "must be a string"));
                None
            }
            None => None,
        }
    };
    let mut clean = Map::new();
    match kind {
        ChannelKind::Email => match text("address", &mut errors) {
            Some(address) => {
                let mut inner = Vec::new();
                let address = crate::accounts::users::service::normalise_email(&address, &mut inner);
                errors.extend(inner.into_iter().map(|e| FieldError::new("config.address", e.message)));
                clean.insert("address".into(), json!(address));
            }
            None => errors.push(FieldError::new("config.address", "is required")),
        },
        ChannelKind::Sms => match text("phoneNumber", &mut errors) {
            Some(phone) if crate::config::is_e164(&phone) => {
                clean.insert("phoneNumber".into(), json!(phone));
            }
            Some(_) => errors.push(FieldError::new("config.phoneNumber", "must be E.164, such as +15551234567")),
            None => errors.push(FieldError::new("config.phoneNumber", "is required")),
        },
        ChannelKind::Webhook => match text("url", &mut errors) {
            Some(url) if url.len() <= 2048 => match crate::agents::ssrf::check_url(&url, allow_private) {
                Ok(url) => {
                    clean.insert("url".into(), json!(url.as_str()));
                }
                Err(why) => errors.push(FieldError::new("config.url", why)),
            },
            Some(_) => errors.push(FieldError::new("config.url", "must be at most 2048 characters")),
            None => errors.push(FieldError::new("config.url", "is required")),
        },
        ChannelKind::Pull => {
            if let Some(name) = text("name", &mut errors) {
                clean.insert("name".into(), json!(name.chars().take(100).collect::<String>()));
            }
        }
        ChannelKind::Push | ChannelKind::Agent => {}
    }
    if errors.is_empty() { Ok((Value::Object(clean), None)) } else { Err(ApiError::validation(errors)) }
}

/// Until the account's own address is confirmed, an email channel may only go to that address (the
/// accounts' rule, [`email_verification::check_may_email`]).
async fn check_own_address(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    kind: ChannelKind,
    config: &Value,
) -> Result<(), ApiError> {
    match (kind, config["address"].as_str()) {
        (ChannelKind::Email, Some(address)) => email_verification::check_may_email(conn, owner, address).await,
        _ => Ok(()),
    }
}

fn clean_name(name: Option<&str>) -> Result<Option<String>, ApiError> {
    match name.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().count() <= 100 && !name.chars().any(char::is_control) => Ok(Some(name.to_owned())),
        Some(_) => Err(ApiError::field("name", "must be at most 100 characters")),
    }
}

/// A browser subscription sealed to the subscription row.
fn seal_browser(state: &AppState, row: SubscriptionId, browser: &BrowserSubscription) -> Result<Vec<u8>, ApiError> {
    let plain = serde_json::to_vec(browser).map_err(ApiError::internal)?;
    Ok(crate::crypto::encrypt(state.config.encryption_key.expose_secret(), row.0, &plain)?)
}

/// A random Standard Webhooks secret: `whsec_` and 24 bytes in base64.
pub fn random_whsec() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A new `whsec_` secret and its ciphertext bound to the subscription row.
fn new_secret(state: &AppState, row: SubscriptionId) -> Result<(String, Vec<u8>), ApiError> {
    let secret = random_whsec();
    let sealed = crate::crypto::encrypt(state.config.encryption_key.expose_secret(), row.0, secret.as_bytes())?;
    Ok((secret, sealed))
}

pub async fn subscribe(
    state: &AppState,
    user: &AuthUser,
    agent_type: &str,
    input: SubscribeInput,
) -> Result<SubscriptionWithSecret, ApiError> {
    let kind = ChannelKind::of_agent_type(agent_type).ok_or_else(|| ApiError::not_found("Agent type"))?;
    let mut conn = state.db.get().await?;
    let catalogue = catalogue(&mut conn, user, state.config.feature_marketplace).await?;
    let entry =
        catalogue.iter().find(|a| a.agent_type == agent_type).ok_or_else(|| ApiError::not_found("Agent type"))?;
    if !entry.available {
        return Err(ApiError::forbidden(format!(
            "The {} channel needs the {} tier or higher; you are on {}.",
            entry.name, entry.min_tier, user.tier
        )));
    }
    if kind == ChannelKind::Push && state.config.vapid.is_none() {
        return Err(ApiError::unprocessable(
            "Browser push is off on this server: its operator has not set VAPID_PRIVATE_KEY.",
        ));
    }
    let id = SubscriptionId(Uuid::new_v4());
    let (config, sealed) = checked_config(state, &mut conn, (id, agent_type, kind), &input.config, None).await?;
    check_own_address(&mut conn, user.id, kind, &config).await?;
    let name = clean_name(input.name.as_deref())?;
    if let Some(Sealed::Browser(browser)) = &sealed
        && let Some(same) = same_browser(&mut conn, user.id, &config).await?
    {
        return renew_browser(state, &mut conn, user.id, same, config, name, browser).await;
    }
    let secret = if kind == ChannelKind::Webhook { Some(new_secret(state, id)?) } else { None };
    let sealed = match (&secret, &sealed) {
        (Some((_, sealed)), _) => Some(sealed.clone()),
        (None, Some(sealed)) => sealed.ciphertext(state, id)?,
        (None, None) => None,
    };
    let new = NewSubscription {
        id,
        owner: user.id,
        agent_type,
        name: name.as_deref(),
        config: &config,
        secret_ciphertext: sealed,
        verified_at: (!verification::needed(kind)).then(|| state.clock.now()),
    };
    let tiers = &state.config.tier_limits;
    let row = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            limits::check(conn, tiers, user.id, Limit::Channels).await?;
            Ok(store::insert(conn, new).await?)
        })
        .await?;
    let sent = match verification::needed(kind) {
        true => Some(verification::send_first_code(state, &row).await?),
        false => None,
    };
    Ok(SubscriptionWithSecret {
        subscription: row.into(),
        signing_secret: secret.map(|(plain, _)| plain),
        verification: sent,
    })
}

/// What of a config is stored sealed rather than shown.
enum Sealed {
    /// A push channel's browser subscription (its endpoint and keys).
    Browser(BrowserSubscription),
    /// A marketplace subscriber's write-only settings (none is `None`).
    Settings(Option<Vec<u8>>),
}

/// A config as it will be stored, and what of it is sealed to row `id`: a built-in channel's cleaned, a
/// marketplace type's as its schema accepts it. A change to a marketplace subscription (`kept`: its sealed
/// settings now) keeps the write-only settings it does not give again: they are never shown, so a client
/// cannot send them back.
async fn checked_config(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    (id, agent_type, kind): (SubscriptionId, &str, ChannelKind),
    config: &Value,
    kept: Option<&[u8]>,
) -> Result<(Value, Option<Sealed>), ApiError> {
    if kind != ChannelKind::Agent {
        let (config, browser) = clean_config(kind, config, state.config.webhook_allow_private)?;
        return Ok((config, browser.map(Sealed::Browser)));
    }
    let Some(given) = config.as_object() else {
        return Err(ApiError::field("config", "must be a JSON object"));
    };
    let key = state.config.encryption_key.expose_secret();
    // Settings sealed under another ENCRYPTION_KEY cannot be kept: the schema then asks for them again.
    let mut kept = sealed_settings::open(key, id, kept).unwrap_or_else(|_| {
        tracing::warn!(subscription = %id, "write-only settings do not open with this ENCRYPTION_KEY");
        Map::new()
    });
    // What was sealed stays sealed, given again or not, whatever the schema says now.
    let sealed_before: Vec<String> = kept.keys().cloned().collect();
    kept.retain(|name, _| !given.contains_key(name));
    let whole = sealed_settings::whole(config, kept);
    let sealed_names =
        crate::agents::marketplace::service::check_subscription_config(state, conn, agent_type, &whole, sealed_before)
            .await?;
    let (shown, sealed) = split_write_only(sealed_names.iter().map(String::as_str), &whole);
    Ok((shown, Some(Sealed::Settings(sealed_settings::seal(key, id, &sealed)?))))
}

impl Sealed {
    /// The ciphertext the row stores.
    fn ciphertext(&self, state: &AppState, id: SubscriptionId) -> Result<Option<Vec<u8>>, ApiError> {
        match self {
            Sealed::Browser(browser) => Ok(Some(seal_browser(state, id, browser)?)),
            Sealed::Settings(sealed) => Ok(sealed.clone()),
        }
    }
}

/// The owner's push channel for the same browser endpoint, if any.
async fn same_browser(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    config: &Value,
) -> Result<Option<SubscriptionId>, ApiError> {
    let rows = store::list_for(conn, owner).await?;
    Ok(rows
        .into_iter()
        .find(|row| row.agent_type == ChannelKind::Push.as_str() && row.config["endpointId"] == config["endpointId"])
        .map(|row| row.id))
}

/// A browser that subscribes again (new keys, or after the channel was disabled) renews its channel rather
/// than taking a second slot.
async fn renew_browser(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: SubscriptionId,
    config: Value,
    name: Option<String>,
    browser: &BrowserSubscription,
) -> Result<SubscriptionWithSecret, ApiError> {
    let changes = SubscriptionChanges {
        name: name.map(Some),
        config: Some(config),
        secret_ciphertext: Some(Some(seal_browser(state, id, browser)?)),
        enabled: Some(true),
        disabled_reason: Some(None),
        ..SubscriptionChanges::default()
    };
    let row = store::update(conn, owner, id, &changes).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    Ok(SubscriptionWithSecret { subscription: row.into(), signing_secret: None, verification: None })
}

pub async fn update(
    state: &AppState,
    user: &AuthUser,
    id: SubscriptionId,
    patch: SubscriptionPatch,
) -> Result<SubscriptionWithSecret, ApiError> {
    let mut conn = state.db.get().await?;
    let current = store::find_for(&mut conn, user.id, id).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    let kind = ChannelKind::of_agent_type(&current.agent_type).ok_or_else(|| ApiError::not_found("Subscription"))?;
    let mut changes = SubscriptionChanges::default();
    if let Some(name) = patch.name.as_deref() {
        changes.name = Some(clean_name(Some(name))?);
    }
    if let Some(config) = &patch.config {
        let kept = match kind {
            ChannelKind::Agent => store::secret_of(&mut conn, user.id, id).await?,
            _ => None,
        };
        let (config, sealed) =
            checked_config(state, &mut conn, (id, &current.agent_type, kind), config, kept.as_deref()).await?;
        if let Some(sealed) = &sealed {
            changes.secret_ciphertext = Some(sealed.ciphertext(state, id)?);
        }
        check_own_address(&mut conn, user.id, kind, &config).await?;
        // A new address has not agreed to anything yet.
        if verification::needed(kind) && config != current.config {
            changes.verified_at = Some(None);
        }
        changes.config = Some(config);
    }
    if let Some(enabled) = patch.enabled {
        changes.enabled = Some(enabled);
        if enabled {
            changes.disabled_reason = Some(None);
        }
    }
    let mut shown = None;
    if patch.rotate_secret == Some(true) {
        if kind != ChannelKind::Webhook {
            return Err(ApiError::field("rotateSecret", "only webhook subscriptions have a signing secret"));
        }
        let (plain, sealed) = new_secret(state, id)?;
        changes.previous_secret_ciphertext = Some(store::secret_of(&mut conn, user.id, id).await?);
        changes.previous_secret_expires_at = Some(Some(state.clock.now() + Duration::hours(ROTATION_OVERLAP_HOURS)));
        changes.secret_ciphertext = Some(Some(sealed));
        shown = Some(plain);
    }
    let readdressed = changes.verified_at.is_some();
    let row =
        store::update(&mut conn, user.id, id, &changes).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    drop(conn);
    let sent = match readdressed {
        true => Some(verification::send_first_code(state, &row).await?),
        false => None,
    };
    Ok(SubscriptionWithSecret { subscription: row.into(), signing_secret: shown, verification: sent })
}

pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<SubscriptionView>, ApiError> {
    let mut conn = state.db.get().await?;
    list_on(&mut conn, user.id).await
}

/// The owner's channels, on a connection the caller holds (a page that reads several things uses one).
pub async fn list_on(conn: &mut AsyncPgConnection, owner: UserId) -> Result<Vec<SubscriptionView>, ApiError> {
    Ok(store::list_for(conn, owner).await?.into_iter().map(Into::into).collect())
}

/// Deletes the subscription; its freed slot lets the oldest channel paused for the tier limit work again.
pub async fn delete(state: &AppState, user: &AuthUser, id: SubscriptionId) -> Result<(), ApiError> {
    let owner = user.id;
    use crate::billing::service::{Freed, delete_freeing_a_slot};
    let missing = || ApiError::not_found("Subscription");
    delete_freeing_a_slot(state, owner, Freed::Channel, missing, move |conn| Box::pin(store::delete(conn, owner, id)))
        .await
}

/// Sends a test notification now, through the same recipient resolution, delivery controls and channel a
/// real one uses. An unverified channel gets nothing but its code (409).
pub async fn test(state: &AppState, user: &AuthUser, id: SubscriptionId) -> Result<TestResult, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find_for(&mut conn, user.id, id).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    let kind = ChannelKind::of_agent_type(&row.agent_type).ok_or_else(|| ApiError::not_found("Subscription"))?;
    if kind == ChannelKind::Pull {
        return Err(ApiError::unprocessable(
            "A pull agent fetches its notifications itself; there is nothing to push.",
        ));
    }
    if !verification::verified(&row) {
        return Err(ApiError::conflict(format!(
            "This channel is not verified yet: enter the code we sent (POST /v1/agents/subscriptions/{id}/verify) \
             or ask for a new one (POST /v1/agents/subscriptions/{id}/verify/resend)."
        )));
    }
    let key = ("subscription".to_owned(), id.uuid(), kind);
    let resolved = targets::resolve(&mut conn, &state.config.encryption_key, std::slice::from_ref(&key)).await?;
    drop(conn);
    let recipient = resolved.recipients.get(&key).cloned().unwrap_or(Recipient::Gone { reason: "unknown".to_owned() });
    // Random on purpose, unlike an engine delivery's derived id: each test send is a new message (a receiver
    // deduplicating by `webhook-id` must not drop the second test), and none is stored or re-sent.
    let delivery_id = DeliveryId(Uuid::new_v4());
    let job = Job {
        delivery_id,
        user_id: user.id,
        attempt: 1,
        channel: kind,
        recipient,
        payload: json!({"type": "test", "title": "Test notification", "importance": "low", "tier": 0, "loop": 0}),
    };
    if let Recipient::Gone { reason } = &job.recipient {
        return Ok(TestResult { delivery_id, outcome: "failed".to_owned(), error: Some(reason.clone()), reason: None });
    }
    if let Admission::Suppressed(reason) = direct::admit(state, user.id, kind).await? {
        return Ok(TestResult { delivery_id, outcome: "suppressed".to_owned(), error: None, reason: Some(reason) });
    }
    let outcome = match Channels::from_state(state)?.get(kind) {
        Some(channel) => channel.send(&job).await,
        None => Outcome::Failed { error: "channel not available".to_owned() },
    };
    // An unknown outcome may have reached the phone: it stays counted.
    if !matches!(outcome, Outcome::Sent { .. } | Outcome::Unknown { .. }) {
        direct::refund(state, user.id, kind).await;
    }
    let (label, error) = match outcome {
        Outcome::Sent { .. } => ("sent", None),
        Outcome::Retry { error, .. } => ("retry", Some(error)),
        Outcome::Failed { error } => ("failed", Some(error)),
        Outcome::Gone { error } => ("gone", Some(error)),
        Outcome::Unknown { error } => ("unknown", Some(error)),
    };
    Ok(TestResult { delivery_id, outcome: label.to_owned(), error, reason: None })
}
