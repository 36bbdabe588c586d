//! A desk lamp bridge: the lamp lights up when a reminder arrives, and pressing its button acknowledges that
//! reminder (a second press on a dark lamp does nothing). Its HTTP side has two routes: `POST /deliveries`
//! (our callback URL, verified with the SDK), `POST /button` (the physical button's wire, here a request)
//! and `GET /` (whether it is lit, and with what).

use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use escalating_reminders_agent::{Client, Command, Delivery, Webhook};

pub struct Lamp {
    webhook: Webhook,
    client: Client,
    lit: Mutex<Option<Delivery>>,
}

impl Lamp {
    pub fn new(webhook: Webhook, client: Client) -> Arc<Lamp> {
        Arc::new(Lamp { webhook, client, lit: Mutex::new(None) })
    }

    /// The title of the reminder the lamp shows, if it is lit.
    pub fn showing(&self) -> Option<String> {
        self.lit.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref().map(|d| d.data.title.clone())
    }

    /// The button: acknowledges the reminder the lamp shows and turns it off.
    pub async fn press(&self) -> Result<Option<String>, escalating_reminders_agent::Error> {
        let lit = self.lit.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let Some(delivery) = lit else { return Ok(None) };
        let result = self.client.send(delivery.data.delivery_id, Command::Acknowledge).await?;
        *self.lit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Ok(Some(result.status))
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn delivery(lamp: web::Data<Arc<Lamp>>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let now = chrono::Utc::now().timestamp();
    let verified = lamp.webhook.verify(
        header(&req, "webhook-id"),
        header(&req, "webhook-timestamp"),
        header(&req, "webhook-signature"),
        &body,
        now,
    );
    match verified {
        Ok(delivery) => {
            println!("lamp on: {} (tier {})", delivery.data.title, delivery.data.tier);
            *lamp.lit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(delivery);
            HttpResponse::NoContent().finish()
        }
        Err(err) => {
            eprintln!("refused a delivery: {err}");
            HttpResponse::Unauthorized().finish()
        }
    }
}

async fn button(lamp: web::Data<Arc<Lamp>>) -> HttpResponse {
    match lamp.press().await {
        Ok(Some(status)) => HttpResponse::Ok().json(serde_json::json!({"acknowledged": true, "status": status})),
        Ok(None) => HttpResponse::Ok().json(serde_json::json!({"acknowledged": false})),
        Err(err) => HttpResponse::BadGateway().json(serde_json::json!({"error": err.to_string()})),
    }
}

async fn status(lamp: web::Data<Arc<Lamp>>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"lit": lamp.showing().is_some(), "showing": lamp.showing()}))
}

/// The lamp's routes.
pub fn routes(lamp: Arc<Lamp>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(lamp))
            .route("/deliveries", web::post().to(delivery))
            .route("/button", web::post().to(button))
            .route("/", web::get().to(status));
    }
}
