//! Proof that an email address or phone number wants our messages. A new or re-addressed email or SMS
//! channel gets a six-digit code and nothing else until the code comes back
//! (`POST /v1/agents/subscriptions/{id}/verify`): the engine skips it, test sends are refused. Without this,
//! anyone could make us email any address or text any (premium-rate) number. Codes are stored as a keyed
//! hash, expire, allow a few guesses, and are sent within the outreach limits and the delivery controls
//! (a code by SMS costs budget like any text).

use chrono::Duration;
use rand::Rng;
use reminder_core::ChannelKind;
use reminder_core::ids::{SubscriptionId, UserId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::model::{SubscriptionRow, SubscriptionView};
use super::store;
use crate::accounts::users::notice::{self, Notice};
use crate::billing::direct::{self, Admission};
use crate::http::ApiError;
use crate::notifications::outreach;
use crate::state::AppState;

/// How long a code stays valid.
const CODE_TTL: Duration = Duration::minutes(30);
/// Wrong guesses allowed per code; then only a new code helps.
const MAX_ATTEMPTS: i32 = 5;

/// `POST /v1/agents/subscriptions/{id}/verify`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyInput {
    /// The six digits sent to the address or number.
    pub code: String,
}

/// What became of a verification code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    /// `sent`, `suppressed` (limits or delivery controls; nothing was sent) or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
    /// Until when the code is valid.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Whether channels of this kind must be verified: those that message an address we do not own.
pub fn needed(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Email | ChannelKind::Sms)
}

/// Whether this channel may receive anything but its code.
pub fn verified(row: &SubscriptionRow) -> bool {
    row.verified_at.is_some() || !ChannelKind::parse(&row.agent_type).is_some_and(needed)
}

fn address_of(kind: ChannelKind, config: &serde_json::Value) -> Option<String> {
    let field = if kind == ChannelKind::Sms { "phoneNumber" } else { "address" };
    config[field].as_str().map(str::to_owned)
}

fn hash(state: &AppState, id: SubscriptionId, code: &str) -> Vec<u8> {
    let key = crate::crypto::derive_key(state.config.encryption_key.expose_secret(), "channel-verification");
    crate::crypto::hmac_sha256(&key, format!("{id}:{code}").as_bytes())
}

/// Issues a new code for an unverified channel and sends it. The code is stored first, so it is valid
/// when it arrives. 429 when the outreach limits are reached.
pub async fn send_code(state: &AppState, row: &SubscriptionRow) -> Result<VerificationView, ApiError> {
    let kind = ChannelKind::parse(&row.agent_type).filter(|k| needed(*k));
    let (Some(kind), Some(address)) = (kind, kind.and_then(|k| address_of(k, &row.config))) else {
        return Err(ApiError::unprocessable("Only email and SMS channels are verified."));
    };
    if row.verified_at.is_some() {
        return Err(ApiError::conflict("This channel is already verified."));
    }
    outreach::take(state, row.user_id, &address, outreach::VERIFICATION).await?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let expires_at = state.clock.now() + CODE_TTL;
    let mut conn = state.db.get().await?;
    if !store::set_code(&mut conn, row.user_id, row.id, &hash(state, row.id, &code), expires_at).await? {
        return Err(ApiError::not_found("Subscription"));
    }
    drop(conn);
    let view = |outcome: &str, reason: Option<String>| VerificationView {
        outcome: outcome.to_owned(),
        reason,
        expires_at: Some(expires_at),
    };
    if let Admission::Suppressed(reason) = direct::admit(state, row.user_id, kind).await? {
        return Ok(view("suppressed", Some(reason)));
    }
    match deliver(state, kind, &address, &code).await {
        Ok(()) => Ok(view("sent", None)),
        Err(error) => {
            direct::refund(state, row.user_id, kind).await;
            tracing::warn!(subscription.id = %row.id, error, "a verification code could not be sent");
            Ok(view("failed", Some(error)))
        }
    }
}

/// [`send_code`] for a channel just created or re-addressed: a limit reached is reported in the answer
/// (the channel itself was saved) rather than as an error.
pub async fn send_first_code(state: &AppState, row: &SubscriptionRow) -> Result<VerificationView, ApiError> {
    match send_code(state, row).await {
        Err(ApiError::RateLimited { retry_after_secs }) => Ok(VerificationView {
            outcome: "suppressed".to_owned(),
            reason: Some(format!(
                "too many codes were sent to this address today; ask for a new one in {retry_after_secs} s"
            )),
            expires_at: None,
        }),
        other => other,
    }
}

/// The code's message: it says what it is for and carries nothing the account holder wrote.
async fn deliver(state: &AppState, kind: ChannelKind, address: &str, code: &str) -> Result<(), String> {
    if kind == ChannelKind::Sms {
        let links = crate::notifications::links::LinkSigner::new(&state.config);
        let sms = crate::agents::sms::TwilioSms::new(&state.config, links).map_err(|err| err.to_string())?;
        let body = format!(
            "Escalating Reminders code: {code}. Enter it to confirm this number should get reminders. Not you? \
             Ignore this text."
        );
        return match sms.text(address, &body, None).await {
            crate::agents::Outcome::Sent { .. } => Ok(()),
            outcome => Err(format!("{outcome:?}")),
        };
    }
    let notice = Notice {
        subject: format!("Your Escalating Reminders code: {code}"),
        text: format!(
            "Someone added this address to receive reminders from Escalating Reminders.\r\n\r\nIf it was you, \
             enter this code to confirm it. Your code: {code}\r\n\r\nIt is valid for 30 minutes. If it was not you, ignore \
             this email: nothing else will be sent to this address unless the code is entered.\r\n"
        ),
    };
    notice::email_to(state, address, notice).await.map_err(|err| format!("{err:#}"))
}

/// Checks a code; the right one verifies the channel. Every guess counts before it is compared, so
/// parallel guesses cannot exceed the limit.
pub async fn verify(
    state: &AppState,
    user: UserId,
    id: SubscriptionId,
    input: VerifyInput,
) -> Result<SubscriptionView, ApiError> {
    let code = input.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::field("code", "must be the six digits we sent"));
    }
    let mut conn = state.db.get().await?;
    let row = store::find_for(&mut conn, user, id).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    if verified(&row) {
        return Ok(row.into());
    }
    let Some((stored, expires_at)) = store::count_attempt(&mut conn, user, id, MAX_ATTEMPTS).await? else {
        return Err(ApiError::unprocessable(
            "No code is waiting, or too many wrong codes were entered: ask for a new one \
             (POST /v1/agents/subscriptions/{id}/verify/resend).",
        ));
    };
    if expires_at <= state.clock.now() {
        return Err(ApiError::unprocessable("This code has expired: ask for a new one."));
    }
    let given = hash(state, id, code);
    if !crate::crypto::constant_time_eq(&given, &stored) {
        return Err(ApiError::unprocessable("That is not the code we sent."));
    }
    let row = store::mark_verified(&mut conn, user, id, &stored, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::unprocessable("A newer code was sent meanwhile: enter that one."))?;
    Ok(row.into())
}

/// `POST /v1/agents/subscriptions/{id}/verify/resend`.
pub async fn resend(state: &AppState, user: UserId, id: SubscriptionId) -> Result<VerificationView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find_for(&mut conn, user, id).await?.ok_or_else(|| ApiError::not_found("Subscription"))?;
    drop(conn);
    send_code(state, &row).await
}
