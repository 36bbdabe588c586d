//! The one way this server sends email: SMTP from `SMTP_URL`, SendGrid's SMTP relay when only
//! `SENDGRID_API_KEY` is set, or (neither set) the outbox folder and the log, never silently nowhere.
//! Notification emails and account notices both go through it.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, server: String },
    Outbox { dir: PathBuf },
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// Worth another attempt: a 4xx reply, a connection or TLS problem, a timeout, a full disk.
    Transient(String),
    /// Will not succeed as it is: a 5xx reply, an unusable address.
    Permanent(String),
}

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailError::Transient(why) | MailError::Permanent(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for MailError {}

/// Sends email with the configured transport; cheap to share (the SMTP transport pools connections).
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Mailer> {
        let from: Mailbox = config
            .email_from
            .parse()
            .map_err(|err| anyhow::anyhow!("EMAIL_FROM is not an email address with an optional name: {err}"))?;
        let transport = if let Some(url) = &config.smtp_url {
            let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|err| anyhow::anyhow!("SMTP_URL cannot be used: {err}"))?;
            let server = url::Url::parse(url.expose_secret())
                .ok()
                .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default().unwrap_or(25))))
                .unwrap_or_default();
            Transport::Smtp { transport: builder.timeout(Some(SMTP_TIMEOUT)).build(), server }
        } else if let Some(key) = &config.sendgrid_api_key {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::starttls_relay("smtp.sendgrid.net")?
                .port(587)
                .credentials(Credentials::new("apikey".to_owned(), key.expose_secret().to_owned()))
                .timeout(Some(SMTP_TIMEOUT))
                .build();
            Transport::Smtp { transport, server: "smtp.sendgrid.net:587 (SendGrid)".to_owned() }
        } else {
            Transport::Outbox { dir: config.email_outbox_dir.clone() }
        };
        Ok(Mailer { transport, from })
    }

    /// The sender (`EMAIL_FROM`).
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// A `Message-ID` for `local` (a delivery id, `notice-<id>`) in the sender's domain.
    pub fn message_id(&self, local: &str) -> String {
        format!("<{local}@{}>", self.from.email.domain())
    }

    /// Where mail goes, for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { server, .. } => format!("SMTP {server}"),
            Transport::Outbox { dir } => format!("outbox folder {} (no SMTP configured)", dir.display()),
        }
    }

    /// Sends `message`. In outbox mode it is written to `<name>.eml` (a retry overwrites its own file).
    pub async fn send(&self, message: &Message, name: &str) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp { transport, .. } => transport.send(message.clone()).await.map(drop).map_err(classify),
            Transport::Outbox { dir } => {
                let transient = |what: &str, err: std::io::Error| MailError::Transient(format!("{what}: {err}"));
                tokio::fs::create_dir_all(dir).await.map_err(|err| transient("outbox folder", err))?;
                let path = dir.join(format!("{name}.eml"));
                tokio::fs::write(&path, message.formatted()).await.map_err(|err| transient("outbox write", err))?;
                tracing::info!(path = %path.display(), "email written to the outbox (no SMTP configured)");
                Ok(())
            }
        }
    }
}

/// 5xx replies are permanent; 4xx replies, connection, TLS and timeout problems are worth a retry.
fn classify(err: lettre::transport::smtp::Error) -> MailError {
    if err.is_permanent() {
        MailError::Permanent(format!("the mail server refused the message: {err}"))
    } else if err.is_transient() {
        MailError::Transient(format!("the mail server deferred the message: {err}"))
    } else {
        MailError::Transient(format!("could not talk to the mail server: {err}"))
    }
}
