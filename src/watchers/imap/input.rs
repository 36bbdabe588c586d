//! The mailbox part of `POST /v1/watchers` with `provider: IMAP`, checked before anything is stored, and
//! what the API shows of a mailbox (never the password).

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::http::FieldError;

pub const DEFAULT_PORT: u16 = 993;
pub const DEFAULT_FOLDER: &str = "INBOX";
const HOST_MAX: usize = 253;
const FIELD_MAX: usize = 200;

/// Where a watcher's mail comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schema(as = WatcherProvider)]
pub enum Provider {
    /// Mail forwarded to the user's watcher address (`inboundAddress`).
    #[default]
    Email,
    /// Mail in the user's own mailbox, read over IMAP by the worker.
    Imap,
}

impl Provider {
    /// The `watchers.kind` value.
    pub fn kind(self) -> &'static str {
        match self {
            Provider::Email => "email",
            Provider::Imap => "imap",
        }
    }

    pub fn from_kind(kind: &str) -> Provider {
        if kind == "imap" { Provider::Imap } else { Provider::Email }
    }
}

/// The IMAP fields of an input, as given.
#[derive(Debug, Default)]
pub struct MailboxFields {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub user: Option<String>,
    pub app_password: Option<SecretString>,
    pub folder: Option<String>,
    pub tls: Option<bool>,
}

impl MailboxFields {
    /// The API names of the fields that were given.
    fn given(&self) -> Vec<&'static str> {
        let present = [
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("user", self.user.is_some()),
            ("appPassword", self.app_password.is_some()),
            ("folder", self.folder.is_some()),
            ("tls", self.tls.is_some()),
        ];
        present.into_iter().filter(|(_, given)| *given).map(|(name, _)| name).collect()
    }
}

/// The user name and app password, sealed together in `secret_ciphertext`.
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// A valid mailbox, before it is sealed and stored.
#[derive(Debug)]
pub struct NewMailbox {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub folder: String,
    pub credentials: Credentials,
}

/// Checks the mailbox fields for `provider`. Without `provider: IMAP` any of them is an error; with it the
/// mailbox is returned when every field is good. `allow_private` is `WEBHOOK_ALLOW_PRIVATE`: only tests and
/// local development may read a mailbox without TLS or at a private address (a host name is checked again
/// at every poll, once resolved).
pub fn validate(
    provider: Provider,
    fields: MailboxFields,
    allow_private: bool,
    errors: &mut Vec<FieldError>,
) -> Option<NewMailbox> {
    if provider != Provider::Imap {
        for name in fields.given() {
            errors.push(FieldError::new(name, "is only for a watcher with provider IMAP"));
        }
        return None;
    }
    let before = errors.len();
    let host = fields.host.map(|h| h.trim().to_ascii_lowercase()).unwrap_or_default();
    if !valid_host(&host) {
        errors.push(FieldError::new("host", "must be a host name or IP address (at most 253 characters)"));
    } else if !allow_private && host.parse().is_ok_and(crate::agents::ssrf::is_forbidden) {
        errors.push(FieldError::new("host", "must be a public address, not a private or reserved one"));
    }
    let port = match fields.port.unwrap_or(u32::from(DEFAULT_PORT)) {
        port @ 1..=65535 => u16::try_from(port).unwrap_or(DEFAULT_PORT),
        _ => {
            errors.push(FieldError::new("port", "must be from 1 to 65535"));
            DEFAULT_PORT
        }
    };
    let user = fields.user.map(|u| u.trim().to_owned()).unwrap_or_default();
    if let Some(why) = bad_text(&user) {
        errors.push(FieldError::new("user", why));
    }
    let password = fields.app_password.map(|p| p.expose_secret().to_owned()).unwrap_or_default();
    if let Some(why) = bad_text(&password) {
        errors.push(FieldError::new("appPassword", why));
    }
    let folder = fields.folder.map(|f| f.trim().to_owned()).unwrap_or_else(|| DEFAULT_FOLDER.to_owned());
    if let Some(why) = bad_text(&folder) {
        errors.push(FieldError::new("folder", why));
    }
    let tls = fields.tls.unwrap_or(true);
    if !tls && !allow_private {
        errors.push(FieldError::new("tls", "must be true: without TLS the app password would travel in clear"));
    }
    (errors.len() == before).then_some(NewMailbox {
        host,
        port,
        tls,
        folder,
        credentials: Credentials { user, password },
    })
}

/// Empty, too long, or with control characters (NUL or a line break would end an IMAP command early).
fn bad_text(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some("is required")
    } else if text.chars().count() > FIELD_MAX {
        Some("must be at most 200 characters")
    } else if text.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    }
}

/// An IP address, or a DNS name of letters, digits and hyphens in dot-separated labels.
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > HOST_MAX {
        return false;
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    host.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// How the last polls of a mailbox went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = WatcherMailboxStatus)]
pub enum MailboxStatus {
    /// Not read yet.
    Pending,
    /// The last poll succeeded.
    Ok,
    /// Three or more polls in a row failed; `lastError` says why.
    Failing,
}

impl MailboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxStatus::Pending => "pending",
            MailboxStatus::Ok => "ok",
            MailboxStatus::Failing => "failing",
        }
    }

    pub fn parse(text: &str) -> MailboxStatus {
        match text {
            "ok" => MailboxStatus::Ok,
            "failing" => MailboxStatus::Failing,
            _ => MailboxStatus::Pending,
        }
    }
}

/// An IMAP watcher's mailbox as the API shows it. The password is never shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WatcherMailbox)]
pub struct MailboxView {
    pub host: String,
    pub port: u16,
    /// Empty when the stored credentials cannot be read with this server's `ENCRYPTION_KEY`.
    pub user: String,
    pub folder: String,
    pub tls: bool,
    pub status: MailboxStatus,
    /// Why the last poll failed, in words; null after a success.
    pub last_error: Option<String>,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// Polls failed in a row.
    pub failures: i32,
    /// Why the mailbox is not read now (over the tier's allowance of mailbox watchers after a downgrade):
    /// it is not polled until it fits again. Null while in use.
    pub paused_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(host: &str) -> MailboxFields {
        MailboxFields {
            host: Some(host.to_owned()),
            user: Some("ada@example.com".to_owned()),
            app_password: Some(SecretString::from("app-password")),
            ..MailboxFields::default()
        }
    }

    fn bad_fields(provider: Provider, fields: MailboxFields, allow_private: bool) -> Vec<String> {
        let mut errors = Vec::new();
        validate(provider, fields, allow_private, &mut errors);
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_fill_port_folder_and_tls() {
        let mut errors = Vec::new();
        let mailbox = validate(Provider::Imap, fields("IMAP.Example.com"), false, &mut errors).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            (mailbox.host.as_str(), mailbox.port, mailbox.folder.as_str(), mailbox.tls),
            ("imap.example.com", 993, "INBOX", true)
        );
        assert!(!format!("{mailbox:?}").contains("app-password"), "the password never reaches a log");
    }

    #[test]
    fn bad_mailboxes_name_their_fields() {
        assert_eq!(bad_fields(Provider::Imap, fields("imap\0.example.com"), true), ["host"]);
        assert_eq!(bad_fields(Provider::Imap, fields("imap example.com"), true), ["host"]);
        assert_eq!(bad_fields(Provider::Imap, fields(&"a".repeat(254)), true), ["host"]);
        assert_eq!(bad_fields(Provider::Imap, fields("127.0.0.1"), true), Vec::<String>::new());
        assert_eq!(bad_fields(Provider::Imap, fields("::1"), true), Vec::<String>::new());
        assert_eq!(bad_fields(Provider::Imap, MailboxFields { port: Some(0), ..fields("h") }, true), ["port"]);
        assert_eq!(bad_fields(Provider::Imap, MailboxFields { port: Some(65_536), ..fields("h") }, true), ["port"]);
        let long = Some("x".repeat(201));
        assert_eq!(bad_fields(Provider::Imap, MailboxFields { user: long.clone(), ..fields("h") }, true), ["user"]);
        assert_eq!(bad_fields(Provider::Imap, MailboxFields { folder: long, ..fields("h") }, true), ["folder"]);
        let empty = MailboxFields { app_password: Some(SecretString::from("")), ..fields("h") };
        assert_eq!(bad_fields(Provider::Imap, empty, true), ["appPassword"]);
        assert_eq!(bad_fields(Provider::Imap, MailboxFields::default(), true), ["host", "user", "appPassword"]);
    }

    #[test]
    fn plaintext_and_private_addresses_need_private_addresses_allowed() {
        let plain = || MailboxFields { tls: Some(false), ..fields("imap.example.com") };
        assert_eq!(bad_fields(Provider::Imap, plain(), false), ["tls"]);
        assert_eq!(bad_fields(Provider::Imap, plain(), true), Vec::<String>::new());
        assert_eq!(bad_fields(Provider::Imap, fields("169.254.169.254"), false), ["host"]);
        assert_eq!(bad_fields(Provider::Imap, fields("10.0.0.1"), true), Vec::<String>::new());
        assert_eq!(bad_fields(Provider::Imap, fields("8.8.8.8"), false), Vec::<String>::new());
    }

    #[test]
    fn mailbox_fields_need_provider_imap() {
        assert_eq!(bad_fields(Provider::Email, fields("imap.example.com"), true), ["host", "user", "appPassword"]);
        assert_eq!(bad_fields(Provider::Email, MailboxFields::default(), true), Vec::<String>::new());
    }
}
