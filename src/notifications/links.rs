//! Signed action links: every notification carries `GET /a/{token}` links that acknowledge, complete or
//! snooze its episode (and, in emails, unsubscribe from the channel).
//!
//! A token is stateless: `base64url(version, delivery id, action, expiry, MAC)` where the MAC is HMAC-SHA256
//! under a key derived from `ENCRYPTION_KEY`, truncated to 96 bits (RFC 2104 allows truncation to at least
//! 80; every guess costs a request). It stays short because SMS carries three of them within two segments.
//! Single use is enforced by the `action_link_uses` row the acting transaction inserts, keyed by
//! [`LinkClaim::use_id`]: one use per delivery and action, however many times the notification was resent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use reminder_core::ids::DeliveryId;
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::crypto;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 16 + 1 + 4;
const MAC_LEN: usize = 12;

/// How long a link works after the notification was sent.
pub fn lifetime() -> Duration {
    Duration::hours(72)
}

/// How long the unsubscribe link works. Far longer than the action links: a mail client offers RFC 8058's
/// one-click unsubscribe whenever its user opens an old message, and an unsubscribe that fails then teaches
/// them to press "report spam" instead. It can only turn messages off, which the owner can undo.
pub fn unsubscribe_lifetime() -> Duration {
    Duration::days(365)
}

/// What a link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Complete,
    /// Snooze for one hour.
    Snooze,
    /// Snooze for 30 minutes (a push notification's button: a phone is at hand, the hour is too long).
    SnoozeHalfHour,
    /// Stop this channel (disable the subscription, or opt a trusted contact out).
    Unsubscribe,
}

impl LinkAction {
    const ALL: [LinkAction; 5] =
        [Self::Acknowledge, Self::Complete, Self::Snooze, Self::Unsubscribe, Self::SnoozeHalfHour];

    fn code(self) -> u8 {
        match self {
            Self::Acknowledge => 1,
            Self::Complete => 2,
            Self::Snooze => 3,
            Self::Unsubscribe => 4,
            Self::SnoozeHalfHour => 5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Complete => "complete",
            Self::Snooze => "snooze",
            Self::Unsubscribe => "unsubscribe",
            Self::SnoozeHalfHour => "snooze-30m",
        }
    }

    /// How long a snooze link snoozes for; None for the other actions.
    pub fn snooze_minutes(self) -> Option<i64> {
        match self {
            Self::Snooze => Some(60),
            Self::SnoozeHalfHour => Some(30),
            _ => None,
        }
    }
}

/// A verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkClaim {
    pub delivery_id: DeliveryId,
    pub action: LinkAction,
    pub expires_at: DateTime<Utc>,
}

impl LinkClaim {
    /// The `action_link_uses` key: one use per delivery and action.
    pub fn use_id(&self) -> Uuid {
        let mut hash = Sha256::new();
        hash.update(self.delivery_id.0.as_bytes());
        hash.update([self.action.code()]);
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    }
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Not a token we made (cut short, altered, another server's key).
    Invalid,
    Expired,
}

/// The three links every notification carries (the webhook payload's `actions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionLinks {
    pub acknowledge: String,
    pub complete: String,
    pub snooze: String,
}

/// Makes and checks action links.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
    base: String,
}

impl LinkSigner {
    pub fn new(config: &Config) -> Self {
        LinkSigner {
            key: crypto::derive_key(config.encryption_key.expose_secret(), "action-links/v1"),
            base: config.api_url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// The token for `action` on `delivery`, valid until `expires_at`.
    pub fn token(&self, delivery: DeliveryId, action: LinkAction, expires_at: DateTime<Utc>) -> String {
        let expiry = u32::try_from(expires_at.timestamp().max(0)).unwrap_or(u32::MAX);
        let mut bytes = Vec::with_capacity(BODY_LEN + MAC_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(delivery.0.as_bytes());
        bytes.push(action.code());
        bytes.extend_from_slice(&expiry.to_be_bytes());
        let mac = crypto::hmac_sha256(&self.key, &bytes);
        bytes.extend_from_slice(&mac[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The public URL of a token.
    pub fn url(&self, token: &str) -> String {
        format!("{}/a/{token}", self.base)
    }

    /// The URL for `action` on `delivery`, valid for [`lifetime`] from `now` ([`unsubscribe_lifetime`] for
    /// an unsubscribe link).
    pub fn link(&self, delivery: DeliveryId, action: LinkAction, now: DateTime<Utc>) -> String {
        let valid = if action == LinkAction::Unsubscribe { unsubscribe_lifetime() } else { lifetime() };
        self.url(&self.token(delivery, action, now + valid))
    }

    /// The links of a delivery with `payload`, or None for one that belongs to no episode (a test send).
    pub fn for_delivery(
        &self,
        delivery: DeliveryId,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Option<ActionLinks> {
        payload.get("escalationId").filter(|id| id.is_string())?;
        Some(ActionLinks {
            acknowledge: self.link(delivery, LinkAction::Acknowledge, now),
            complete: self.link(delivery, LinkAction::Complete, now),
            snooze: self.link(delivery, LinkAction::Snooze, now),
        })
    }

    /// Checks a token's signature, then its expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaim, LinkError> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| LinkError::Invalid)?;
        if bytes.len() != BODY_LEN + MAC_LEN || bytes[0] != VERSION {
            return Err(LinkError::Invalid);
        }
        let (body, mac) = bytes.split_at(BODY_LEN);
        let expected = crypto::hmac_sha256(&self.key, body);
        if !crypto::constant_time_eq(&expected[..MAC_LEN], mac) {
            return Err(LinkError::Invalid);
        }
        let delivery_id = DeliveryId(Uuid::from_slice(&body[1..17]).map_err(|_| LinkError::Invalid)?);
        let action = LinkAction::ALL.into_iter().find(|a| a.code() == body[17]).ok_or(LinkError::Invalid)?;
        let expiry = u32::from_be_bytes([body[18], body[19], body[20], body[21]]);
        let expires_at = DateTime::from_timestamp(i64::from(expiry), 0).ok_or(LinkError::Invalid)?;
        if expires_at <= now {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim { delivery_id, action, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner { key: [9u8; 32], base: "https://example.com".to_owned() }
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let now = Utc::now();
        let delivery = DeliveryId(Uuid::new_v4());
        let token = signer().token(delivery, LinkAction::Snooze, now + Duration::hours(1));
        assert!(token.len() <= 46, "short enough for SMS: {token}");
        let claim = signer().verify(&token, now).unwrap();
        assert_eq!((claim.delivery_id, claim.action), (delivery, LinkAction::Snooze));
        assert_eq!(signer().verify(&token, now + Duration::hours(2)), Err(LinkError::Expired));
    }

    #[test]
    fn altered_or_foreign_tokens_are_invalid() {
        let now = Utc::now();
        let token = signer().token(DeliveryId(Uuid::new_v4()), LinkAction::Acknowledge, now + Duration::hours(1));
        let mut altered = token.clone().into_bytes();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(signer().verify(&altered, now), Err(LinkError::Invalid));
        let other = LinkSigner { key: [1u8; 32], base: String::new() };
        assert_eq!(other.verify(&token, now), Err(LinkError::Invalid));
        assert_eq!(signer().verify("not a token", now), Err(LinkError::Invalid));
        assert_eq!(signer().verify(&token[..20], now), Err(LinkError::Invalid));
    }

    #[test]
    fn one_use_per_delivery_and_action() {
        let delivery = DeliveryId(Uuid::new_v4());
        let claim = |action, hours| LinkClaim {
            delivery_id: delivery,
            action,
            expires_at: Utc::now() + Duration::hours(hours),
        };
        assert_eq!(claim(LinkAction::Complete, 1).use_id(), claim(LinkAction::Complete, 5).use_id());
        assert_ne!(claim(LinkAction::Complete, 1).use_id(), claim(LinkAction::Acknowledge, 1).use_id());
    }
}
