//! Typed readers for environment values; each error names its variable.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use ipnet::IpNet;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;

use super::{DatabaseTarget, DbTls};

/// A configuration problem: which variable, and what is wrong with it. Never contains the value of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        ConfigError { variable, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {} {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Looks variables up; empty values count as unset (Railway and compose files often set `FOO=`).
pub(super) struct Source<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Source<F> {
    pub fn new(lookup: F) -> Self {
        Source { lookup }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.text(name).map(SecretString::from)
    }

    /// An error that quotes the (non-secret) value.
    pub fn bad(&self, name: &'static str, message: String) -> ConfigError {
        ConfigError::new(name, message)
    }

    pub fn number<T>(&self, name: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(text) = self.text(name) else { return Ok(default) };
        match text.parse::<T>() {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(ConfigError::new(name, format!("must be a whole number from {min} to {max}, got {text:?}"))),
        }
    }

    pub fn parsed<T: FromStr>(&self, name: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.text(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| ConfigError::new(name, format!("must be {what}, got {text:?}"))),
        }
    }

    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.text(name).map(|t| t.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::new(name, format!("must be true or false, got {other:?}"))),
        }
    }

    pub fn url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let text = self.text(name).unwrap_or_else(|| default.to_owned());
        let url = Url::parse(&text).map_err(|err| ConfigError::new(name, format!("is not a valid URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::new(name, "must be an http:// or https:// URL"));
        }
        Ok(url)
    }

    pub fn smtp_url(&self, name: &'static str) -> Result<Option<SecretString>, ConfigError> {
        let Some(secret) = self.secret(name) else { return Ok(None) };
        let url = Url::parse(secret.expose_secret())
            .map_err(|_| ConfigError::new(name, "is not a valid URL (expected smtp://user:pass@host:port)"))?;
        if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
            return Err(ConfigError::new(name, "must be smtp://host:port or smtps://host:port"));
        }
        // lettre reads STARTTLS from `?tls=`: required (refuse to continue without it) or opportunistic.
        if let Some((_, tls)) = url.query_pairs().find(|(key, _)| key == "tls")
            && !matches!(tls.as_ref(), "required" | "opportunistic")
        {
            return Err(ConfigError::new(name, "has tls= other than required or opportunistic"));
        }
        Ok(Some(secret))
    }

    /// An email address with an optional display name (`Name <user@example.com>`).
    pub fn mailbox(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        let text = self.text(name).unwrap_or_else(|| default.to_owned());
        match text.parse::<lettre::message::Mailbox>() {
            Ok(_) => Ok(text),
            Err(_) => {
                Err(ConfigError::new(name, format!("must be an address such as Name <user@example.com>, got {text:?}")))
            }
        }
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|text| text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    pub fn cidrs(&self, name: &'static str) -> Result<Vec<IpNet>, ConfigError> {
        self.list(name)
            .into_iter()
            .map(|item| {
                item.parse::<IpNet>().or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from)).map_err(|_| {
                    ConfigError::new(name, format!("has {item:?}, which is not a CIDR such as 10.0.0.0/8"))
                })
            })
            .collect()
    }
}

/// Splits `sslmode` out of a Postgres URL and checks the rest parses.
/// A URL behind a transaction-mode pooler (see `db/pooler.rs`), reached in plain TCP: a pooler runs next to
/// the app on a private network, and the statement rewriting needs to see the protocol.
pub(super) fn pooled_database_target(name: &'static str, text: &str) -> Result<DatabaseTarget, ConfigError> {
    let target = database_target(name, text)?;
    if target.tls == DbTls::Require {
        return Err(ConfigError::new(
            name,
            "must not require TLS: use sslmode=disable for a pooler on a private network",
        ));
    }
    Ok(DatabaseTarget { tls: DbTls::Disable, pooler: true, ..target })
}

pub(super) fn database_target(name: &'static str, text: &str) -> Result<DatabaseTarget, ConfigError> {
    let mut url = Url::parse(text).map_err(|err| ConfigError::new(name, format!("is not a valid URL: {err}")))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(ConfigError::new(name, "must start with postgres:// or postgresql://"));
    }
    let mut tls = DbTls::Prefer;
    let mut kept = Vec::new();
    for (key, value) in url.query_pairs() {
        if key == "sslmode" {
            tls = match value.as_ref() {
                "disable" => DbTls::Disable,
                "allow" | "prefer" => DbTls::Prefer,
                "require" | "verify-ca" | "verify-full" => DbTls::Require,
                other => return Err(ConfigError::new(name, format!("has unknown sslmode {other:?}"))),
            };
        } else {
            kept.push((key.into_owned(), value.into_owned()));
        }
    }
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    let stripped = url.to_string();
    tokio_postgres::Config::from_str(&stripped)
        .map_err(|err| ConfigError::new(name, format!("could not be parsed: {err}")))?;
    if url.path().trim_start_matches('/').is_empty() {
        return Err(ConfigError::new(name, "must name a database"));
    }
    Ok(DatabaseTarget { url: SecretString::from(stripped), tls, pooler: false })
}

/// Decodes a 32-byte key given as base64 (standard or URL-safe) or hex.
pub(super) fn key32(text: &str) -> Result<SecretBox<[u8; 32]>, String> {
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| "is not valid hex".to_owned())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "must be 32 bytes as base64 or 64 hex characters".to_owned())?
    };
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| format!("must be exactly 32 bytes, got {}", b.len()))?;
    Ok(SecretBox::new(Box::new(key)))
}

pub(super) fn random_key32() -> SecretBox<[u8; 32]> {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    SecretBox::new(Box::new(key))
}

/// A random URL-safe token for generated development secrets.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `+` followed by 8 to 15 digits, the first not zero.
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}
