//! Write an agent for Escalating Reminders.
//!
//! - [`Webhook`] verifies a delivery we POST to your callback (Standard Webhooks: `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`, HMAC-SHA256 with your type's `whsec_…` secret) and reads it
//!   as a [`Delivery`].
//! - [`Client`] sends a signed [`Command`] back (acknowledge, snooze, complete), each with a fresh id: a
//!   retry of the same [`SignedCommand`] is recognised and changes nothing the second time.
//! - [`PullClient`] polls the inbox with an API key instead, for an agent that cannot receive requests.
//!
//! `examples/desk_lamp` is a whole agent: a lamp that lights up when a reminder arrives and acknowledges it
//! when its button is pressed.

mod client;
mod payload;
mod signature;

pub use client::{Client, Command, CommandResult, PendingNotification, PullClient, SignedCommand};
pub use payload::{ActionLinks, Delivery, DeliveryData};
pub use signature::{TOLERANCE_SECS, Webhook, sign};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request was not signed with the secret, is too old, or lacks its headers.
    #[error("not a valid signed request: {0}")]
    Signature(&'static str),
    #[error("the body is not a delivery: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("the request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The service answered with its error envelope.
    #[error("the service answered {status}: {message}")]
    Refused { status: u16, code: String, message: String },
}
