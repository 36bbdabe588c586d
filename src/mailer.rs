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
/// Build it inside a Tokio runtime: the pool starts a background task.
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
            let server = server_of(url.expose_secret());
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

    /// True when mail leaves this machine (SMTP or SendGrid), false in outbox mode: features that only work
    /// when the person gets the mail (a forgotten password) are offered only then.
    pub fn sends_email(&self) -> bool {
        matches!(self.transport, Transport::Smtp { .. })
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

/// `host:port` of an `SMTP_URL`, with the port lettre picks when none is given (465 for smtps, 587 for
/// STARTTLS, 25 for plain).
fn server_of(url: &str) -> String {
    let Ok(url) = url::Url::parse(url) else { return String::new() };
    let default = match (url.scheme(), url.query_pairs().any(|(key, _)| key == "tls")) {
        ("smtps", _) => 465,
        (_, true) => 587,
        _ => 25,
    };
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port().unwrap_or(default))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(pairs: &[(&str, &str)]) -> Mailer {
        let config = Config::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
            .expect("valid configuration");
        Mailer::from_config(&config).expect("a mailer")
    }

    // The pooled SMTP transport starts its reaper task at build time, so this needs a runtime.
    #[tokio::test]
    async fn smtp_url_wins_then_sendgrid_then_the_outbox() {
        let both =
            [("SMTP_URL", "smtp://user:secret@mail.example.com:2525?tls=required"), ("SENDGRID_API_KEY", "SG.x")];
        let described = mailer(&both).describe();
        assert_eq!(described, "SMTP mail.example.com:2525");
        assert!(!described.contains("secret"));
        assert_eq!(mailer(&[("SENDGRID_API_KEY", "SG.x")]).describe(), "SMTP smtp.sendgrid.net:587 (SendGrid)");
        assert!(mailer(&[("EMAIL_OUTBOX_DIR", "/tmp/box")]).describe().starts_with("outbox folder /tmp/box"));
        assert_eq!(mailer(&[("SMTP_URL", "smtps://mail.example.com")]).describe(), "SMTP mail.example.com:465");
        assert_eq!(
            mailer(&[("SMTP_URL", "smtp://mail.example.com?tls=required")]).describe(),
            "SMTP mail.example.com:587"
        );
    }

    #[test]
    fn message_ids_live_in_the_senders_domain() {
        let mailer = mailer(&[("EMAIL_FROM", "Reminders <reminders@example.org>")]);
        assert_eq!(mailer.message_id("abc"), "<abc@example.org>");
    }
}
