//! Square's REST API over reqwest: payment links for subscription checkout, cancellation at period end and
//! undoing it. The base URL comes from
//! `SQUARE_API_BASE` (tests point it at a local mock).

use std::time::Duration;

use anyhow::Context;
use reminder_core::tiers::Tier;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Config;
use crate::http::ApiError;

/// Where Square sends the buyer back after checkout: a console page (a person lands there, not an API client).
pub const RETURN_PATH: &str = "/billing/return";

/// The Square API version our requests are written against.
const SQUARE_VERSION: &str = "2025-01-23";
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Square<'a> {
    config: &'a Config,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct PaymentLinkReply {
    payment_link: PaymentLink,
}

/// A created payment link.
#[derive(Debug, Deserialize)]
pub struct PaymentLink {
    pub id: Option<String>,
    pub url: String,
    pub order_id: Option<String>,
}

impl<'a> Square<'a> {
    /// A client, or 503 when billing is not configured on this deployment.
    pub fn new(config: &'a Config) -> Result<Self, ApiError> {
        if config.square_access_token.is_none() || config.square_location_id.is_none() {
            return Err(ApiError::new(
                crate::http::ErrorCode::ServiceUnavailable,
                "Billing is not configured on this server.",
            ));
        }
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(ApiError::internal)?;
        Ok(Square { config, client })
    }

    /// The configured plan variation of a paid tier.
    pub fn plan_of(config: &Config, tier: Tier) -> Option<&str> {
        config.square_plans.iter().find(|(t, _)| *t == tier).and_then(|(_, plan)| plan.as_deref())
    }

    /// The paid tier a plan variation stands for.
    pub fn tier_of_plan(config: &Config, plan: &str) -> Option<Tier> {
        config.square_plans.iter().find(|(_, p)| p.as_deref() == Some(plan)).map(|(t, _)| *t)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = self.config.square_api_base.join(path).context("Square URL")?;
        let token = self.config.square_access_token.as_ref().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
        let mut request = self.client.request(method, url).bearer_auth(token).header("Square-Version", SQUARE_VERSION);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.context("Square request")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("Square answered {status}: {}", body["errors"]);
        }
        Ok(body)
    }

    /// A payment link that subscribes the buyer to `plan` at `price_cents` a month.
    pub async fn payment_link(
        &self,
        idempotency_key: &str,
        tier: Tier,
        plan: &str,
        price_cents: u32,
        buyer_email: &str,
    ) -> anyhow::Result<PaymentLink> {
        let body = json!({
            "idempotency_key": idempotency_key,
            "quick_pay": {
                "name": format!("Escalating Reminders {}", tier.as_str()),
                "price_money": {"amount": price_cents, "currency": "USD"},
                "location_id": self.config.square_location_id,
            },
            "checkout_options": {
                "subscription_plan_id": plan,
                // A page for the person coming back from the checkout, not the JSON API (which would answer 401).
                "redirect_url": self.config.api_url.join(RETURN_PATH).map(|u| u.to_string()).ok(),
            },
            "pre_populated_data": {"buyer_email": buyer_email},
        });
        let reply = self.call(reqwest::Method::POST, "/v2/online-checkout/payment-links", Some(body)).await?;
        Ok(serde_json::from_value::<PaymentLinkReply>(reply).context("Square payment link reply")?.payment_link)
    }

    /// Cancels at the end of the paid period; returns the date billing stops, when Square says.
    pub async fn cancel(&self, subscription_id: &str) -> anyhow::Result<Option<String>> {
        let reply =
            self.call(reqwest::Method::POST, &format!("/v2/subscriptions/{subscription_id}/cancel"), None).await?;
        Ok(reply["subscription"]["canceled_date"].as_str().map(str::to_owned))
    }

    /// Undoes a cancellation scheduled by [`Square::cancel`]. Square keeps a scheduled change as an action on
    /// the subscription; deleting its pending `CANCEL` action lets it renew as before.
    pub async fn undo_cancel(&self, subscription_id: &str) -> anyhow::Result<UndoCancel> {
        let path = format!("/v2/subscriptions/{subscription_id}");
        let reply = self.call(reqwest::Method::GET, &format!("{path}?include=actions"), None).await?;
        let subscription = &reply["subscription"];
        if matches!(subscription["status"].as_str(), Some("CANCELED" | "DEACTIVATED")) {
            return Ok(UndoCancel::Ended);
        }
        let actions = subscription["actions"].as_array().map(Vec::as_slice).unwrap_or_default();
        let cancels: Vec<&str> =
            actions.iter().filter(|a| a["type"] == "CANCEL").filter_map(|a| a["id"].as_str()).collect();
        for action in &cancels {
            self.call(reqwest::Method::DELETE, &format!("{path}/actions/{action}"), None).await?;
        }
        Ok(if cancels.is_empty() { UndoCancel::NothingScheduled } else { UndoCancel::Undone })
    }
}

/// What [`Square::undo_cancel`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoCancel {
    /// The pending cancellation was deleted: the subscription renews.
    Undone,
    /// Square had no cancellation pending (already undone): the subscription renews.
    NothingScheduled,
    /// The subscription has ended; only a new checkout starts another.
    Ended,
}
