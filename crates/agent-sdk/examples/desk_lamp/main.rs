//! A runnable example agent: a desk lamp that lights up when a reminder arrives and acknowledges it when its
//! button is pressed.
//!
//! ```text
//! SERVICE_URL=https://reminders.example.com AGENT_TYPE=x-desk-lamp AGENT_SECRET=whsec_… PORT=8088 \
//!   cargo run -p escalating-reminders-agent --example desk_lamp
//! curl -X POST localhost:8088/button        # press the button
//! ```
//!
//! Register the type with `callbackUrl` pointing at `/deliveries` here and the `receive` and `commands`
//! capabilities; once approved, subscribe to it and name it in a tier.

mod lamp;

use actix_web::{App, HttpServer};
use escalating_reminders_agent::{Client, Webhook};

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} is not set");
        std::process::exit(2)
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secret = setting("AGENT_SECRET");
    let client = Client::new(&setting("SERVICE_URL"), &setting("AGENT_TYPE"), &secret)
        .map_err(|err| std::io::Error::other(err.to_string()))?;
    let lamp = lamp::Lamp::new(Webhook::new(secret), client);
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8088);
    println!("desk lamp listening on port {port}");
    HttpServer::new(move || App::new().configure(lamp::routes(lamp.clone()))).bind(("0.0.0.0", port))?.run().await
}
