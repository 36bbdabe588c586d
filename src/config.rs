//! Every environment variable, read once, typed and validated.
//!
//! A bad value stops the binary with exit code 2 and one line naming the variable. Secrets are held in
//! [`SecretString`] so they cannot reach a log by accident.

mod parse;
mod roles;
mod vapid;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use parse::Source;
pub use parse::{ConfigError, is_e164};
pub use roles::{Role, Roles};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;
pub use vapid::VapidConfig;

/// Where the binary runs: development generates missing secrets, production refuses to start without them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// How strictly the Postgres server certificate is checked when TLS is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgTlsVerify {
    /// Certificate chain and host name checked against webpki roots plus `PG_CA_FILE`.
    Full,
    /// Encrypt without verifying (libpq's `sslmode=require`), for providers with a private CA. Opt-in only.
    None,
}

/// Square API environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SquareEnvironment {
    Sandbox,
    Production,
}

use reminder_core::tiers::Tier;

/// A Postgres connection target with its TLS mode split out of the URL (tokio-postgres only knows
/// `disable|prefer|require`; we also accept libpq's `verify-ca` and `verify-full`).
#[derive(Clone, Debug)]
pub struct DatabaseTarget {
    /// The URL without `sslmode`, as tokio-postgres parses it.
    pub url: SecretString,
    pub tls: DbTls,
    /// Behind a transaction-mode pooler (pgbouncer, `DATABASE_URL_POOLED`): successive transactions may run
    /// on different server connections, so nothing session-scoped is set or cached (see `db/connect.rs`).
    pub pooler: bool,
}

/// Whether a database connection uses TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbTls {
    Disable,
    Prefer,
    Require,
}

/// Twilio credentials; all three or none.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub phone_number: String,
}

/// Sign in with Google (OpenID Connect); both credentials or neither.
#[derive(Clone, Debug)]
pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The provider's issuer: Google's, or a test's fake provider.
    pub issuer: Url,
}

/// The typed configuration, shared as `Arc<Config>`.
#[derive(Debug)]
pub struct Config {
    pub app_env: AppEnv,
    pub database: DatabaseTarget,
    pub database_pooled: Option<DatabaseTarget>,
    /// True when `DATABASE_URL` was not set and the default local database is used (created if missing).
    pub database_is_default: bool,
    pub database_pool_size: usize,
    pub pg_ca_file: Option<PathBuf>,
    pub pg_tls_verify: PgTlsVerify,
    pub redis_url: Option<SecretString>,
    pub redis_key_prefix: String,
    pub host: IpAddr,
    pub port: u16,
    pub api_url: Url,
    pub jwt_secret: SecretString,
    pub jwt_refresh_secret: SecretString,
    pub encryption_key: SecretBox<[u8; 32]>,
    pub square_access_token: Option<SecretString>,
    pub square_environment: SquareEnvironment,
    pub square_webhook_signature_key: Option<SecretString>,
    pub square_api_base: Url,
    pub square_location_id: Option<String>,
    pub square_plans: [(Tier, Option<String>); 3],
    pub twilio: Option<TwilioConfig>,
    pub twilio_api_base: Url,
    pub google: Option<GoogleConfig>,
    /// Web Push's VAPID identity; None turns the push channel off (production without keys).
    pub vapid: Option<VapidConfig>,
    pub sendgrid_api_key: Option<SecretString>,
    pub smtp_url: Option<SecretString>,
    pub email_from: String,
    pub email_outbox_dir: PathBuf,
    pub inbound_email_secret: Option<SecretString>,
    pub openai_api_key: Option<SecretString>,
    pub openai_api_base: Url,
    pub openai_model: String,
    pub sentry_dsn: Option<SecretString>,
    pub feature_social_escalation: bool,
    pub feature_marketplace: bool,
    pub log_format: LogFormat,
    pub default_tier: Tier,
    /// Limits and prices of every tier (defaults overridden by `TIER_LIMITS`).
    pub tier_limits: reminder_core::tiers::TierTable,
    pub trusted_proxies: Vec<IpNet>,
    /// Client networks that may read `/metrics`; with this or `metrics_token` set, nobody else may.
    pub metrics_allow: Vec<IpNet>,
    /// Bearer token that opens `/metrics` from anywhere.
    pub metrics_token: Option<SecretString>,
    pub cors_origins: Vec<String>,
    pub scheduler_tick: Duration,
    /// How many parts the reminders are split into, each with its own scheduler leader (`engine::Shard`).
    pub scheduler_shards: u16,
    pub worker_concurrency: usize,
    pub webhook_allow_private: bool,
    /// Benchmarks only (the queue-only scenario): channels that succeed without sending anything.
    pub worker_noop_channels: bool,
    pub offer_timeout: Duration,
    /// How often a calendar is fetched again (`CALENDAR_SYNC_INTERVAL_SECS`).
    pub calendar_sync_interval: chrono::Duration,
    pub delivery_lease: Duration,
    pub shutdown_grace: Duration,
    /// Threads serving HTTP (`HTTP_WORKERS`); 0: one per core, at most eight.
    pub http_workers: usize,
    /// How often an IMAP watcher's mailbox is read (after a success; failures back off from it).
    pub imap_poll_interval: Duration,
    /// How often the worker looks for IMAP watchers that are due.
    pub imap_poll_tick: Duration,
    pub usage_suspension_allowance_per_window: u32,
    pub usage_suspension_window_days: u32,
    /// Days a delivery of a closed episode is kept (the delivery log); its episode goes with the last one.
    pub retention_delivery_days: u32,
    /// Days the audit, event and admin action logs are kept.
    pub retention_audit_days: u32,
    /// Scales the per-user hourly limits of every tier (tests and benchmarks lower or raise them).
    pub rate_limit_multiplier: f64,
    /// Requests per minute per client IP on the unauthenticated auth routes.
    pub rate_limit_auth_per_minute: u32,
    /// Names of secrets that were generated because development mode had none (for the start-up warning).
    pub generated_secrets: Vec<&'static str>,
}

/// One documented variable: name, default (empty = none), meaning. `--help` prints this table.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("APP_ENV", "development", "development or production; production refuses to start without secrets"),
    (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/escalating_reminders",
        "PostgreSQL URL; sslmode=disable|prefer|require|verify-ca|verify-full",
    ),
    ("DATABASE_URL_POOLED", "", "optional pgbouncer URL used by the api role (transaction mode; plain TCP)"),
    ("DATABASE_POOL_SIZE", "16", "connections per pool: the process's, and the HTTP threads', split evenly among them"),
    ("PG_CA_FILE", "", "PEM file of extra CA certificates trusted for Postgres TLS"),
    ("PG_TLS_VERIFY", "full", "full, or none to encrypt without verifying (private-CA providers only)"),
    ("REDIS_URL", "", "optional Redis URL; without it workers poll Postgres"),
    ("REDIS_KEY_PREFIX", "er:", "prefix of every Redis key"),
    ("HOST", "0.0.0.0", "address every role binds (without the api role: /health, /health/ready, /metrics only)"),
    ("PORT", "3801", "port every role binds"),
    ("API_URL", "http://localhost:3801", "public base URL used in links"),
    ("JWT_SECRET", "", "HMAC secret for access tokens (required in production)"),
    ("JWT_REFRESH_SECRET", "", "secret for refresh tokens (required in production)"),
    ("ENCRYPTION_KEY", "", "32 bytes, base64 or hex: AES-256-GCM key for secrets at rest (required in production)"),
    ("SQUARE_ACCESS_TOKEN", "", "Square API token (billing)"),
    ("SQUARE_ENVIRONMENT", "sandbox", "sandbox or production"),
    ("SQUARE_WEBHOOK_SIGNATURE_KEY", "", "verifies x-square-hmacsha256-signature"),
    ("SQUARE_API_BASE", "", "override of the Square API base URL (tests)"),
    ("SQUARE_LOCATION_ID", "", "Square location for payment links"),
    ("SQUARE_PLAN_PERSONAL", "", "Square subscription plan variation id for PERSONAL"),
    ("SQUARE_PLAN_PRO", "", "Square subscription plan variation id for PRO"),
    ("SQUARE_PLAN_FAMILY", "", "Square subscription plan variation id for FAMILY"),
    ("TWILIO_ACCOUNT_SID", "", "Twilio account (SMS)"),
    ("TWILIO_AUTH_TOKEN", "", "Twilio auth token; also verifies inbound webhooks"),
    ("TWILIO_PHONE_NUMBER", "", "sender number in E.164"),
    ("TWILIO_API_BASE", "https://api.twilio.com", "override of the Twilio API base URL (tests)"),
    ("GOOGLE_CLIENT_ID", "", "OAuth client id: turns on Sign in with Google (needs GOOGLE_CLIENT_SECRET)"),
    ("GOOGLE_CLIENT_SECRET", "", "OAuth client secret of GOOGLE_CLIENT_ID"),
    ("GOOGLE_ISSUER_URL", "https://accounts.google.com", "OpenID issuer of Sign in with Google (tests)"),
    (
        "VAPID_PRIVATE_KEY",
        "",
        "Web Push: P-256 private key, base64url (generated in development; push is off without it)",
    ),
    ("VAPID_PUBLIC_KEY", "", "Web Push: its public key, base64url; checked against VAPID_PRIVATE_KEY when set"),
    ("VAPID_SUBJECT", "mailto: and the EMAIL_FROM address", "Web Push: mailto: or https: contact for push services"),
    ("SENDGRID_API_KEY", "", "used as SendGrid SMTP relay when SMTP_URL is not set"),
    ("SMTP_URL", "", "smtp://, smtps:// or smtp://...?tls=required URL with credentials"),
    ("EMAIL_FROM", "Escalating Reminders <reminders@localhost>", "sender address"),
    ("EMAIL_OUTBOX_DIR", "./outbox", "where emails go when no SMTP is configured (development)"),
    ("INBOUND_EMAIL_SECRET", "", "secret path segment protecting the inbound email webhook; at least 32 characters"),
    ("OPENAI_API_KEY", "", "optional fallback for snooze phrases the grammar cannot read"),
    ("OPENAI_API_BASE", "https://api.openai.com/v1", "override of the OpenAI base URL"),
    ("OPENAI_MODEL", "gpt-4o-mini", "model for the snooze fallback"),
    ("SENTRY_DSN", "", "report errors to Sentry (traces sample rate 0.1)"),
    ("FEATURE_SOCIAL_ESCALATION", "true", "trusted contacts"),
    ("FEATURE_MARKETPLACE", "false", "third-party agent callbacks"),
    ("LOG_FORMAT", "json when not a TTY", "json or pretty"),
    ("RUST_LOG", "info", "log filter"),
    ("DEFAULT_TIER", "FREE", "tier of a new user: FREE, PERSONAL, PRO or FAMILY"),
    ("TIER_LIMITS", "", "JSON overrides of tier limits, e.g. {\"FREE\":{\"reminders\":5,\"smsPerMonth\":0}}"),
    ("TRUSTED_PROXIES", "", "comma list of CIDRs whose X-Forwarded-For is believed"),
    (
        "METRICS_ALLOW",
        "",
        "comma list of CIDRs that may read /metrics; with it or METRICS_TOKEN set, others get 401/403",
    ),
    ("METRICS_TOKEN", "", "bearer token that opens /metrics from anywhere; at least 32 characters"),
    ("CORS_ORIGINS", "", "comma list of allowed browser origins, or *"),
    ("SCHEDULER_TICK_MS", "1000", "longest pause between scheduler ticks (it wakes sooner when something falls due)"),
    (
        "SCHEDULER_SHARDS",
        "1",
        "split reminders into this many parts, each led by one scheduler; the same value on every scheduler",
    ),
    ("WORKER_CONCURRENCY", "64", "sends in flight per worker"),
    ("WEBHOOK_ALLOW_PRIVATE", "false", "let webhooks reach loopback and private addresses"),
    ("OFFER_TIMEOUT_SECS", "30", "re-offer a pending delivery to the stream after this long"),
    ("CALENDAR_SYNC_INTERVAL_SECS", "3600", "how often each connected calendar is fetched again"),
    (
        "DELIVERY_LEASE_SECS",
        "15",
        "how long a worker holds a delivery before another may take it (renewed every third of it while sending)",
    ),
    ("SHUTDOWN_GRACE_SECS", "30", "how long in-flight work may take after SIGTERM"),
    ("HTTP_WORKERS", "0", "threads serving HTTP; 0: one per core, at most 8"),
    ("IMAP_POLL_INTERVAL_SECS", "300", "how often the worker reads each IMAP watcher's mailbox (failures back off)"),
    ("IMAP_POLL_TICK_MS", "2000", "how often the worker looks for IMAP watchers that are due"),
    ("USAGE_SUSPENSION_ALLOWANCE_PER_WINDOW", "3", "deliveries allowed per window while usage-suspended"),
    ("USAGE_SUSPENSION_WINDOW_DAYS", "3", "length of the usage-suspension window"),
    ("RETENTION_DELIVERY_DAYS", "90", "days the delivery log of closed episodes is kept (then episodes go too)"),
    ("RETENTION_AUDIT_DAYS", "365", "days the audit trail, event log and admin action log are kept"),
    (
        "RATE_LIMIT_MULTIPLIER",
        "1",
        "scales the per-user hourly limits (FREE 100, PERSONAL 1000, PRO/FAMILY 10000); 0.01 makes FREE 1",
    ),
    ("RATE_LIMIT_AUTH_PER_MINUTE", "30", "requests per minute per client IP to register, login, refresh, logout"),
    ("WORKER_NOOP_CHANNELS", "false", "benchmarks only: every send succeeds at once; refused when APP_ENV=production"),
];

/// The `--help` appendix listing every variable with its default.
pub fn variables_help() -> String {
    let mut out = String::from("Environment variables (a .env file is read when present):\n");
    for (name, default, meaning) in VARIABLES {
        let default = if default.is_empty() { "unset".to_owned() } else { format!("default {default}") };
        out.push_str(&format!("  {name:<40} {meaning} ({default})\n"));
    }
    out
}

impl Config {
    /// Reads the process environment (after `.env`, which `main` loads).
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let src = Source::new(lookup);
        let app_env = match src.text("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => return Err(src.bad("APP_ENV", format!("must be development or production, got {other:?}"))),
        };
        let mut generated = Vec::new();
        let mut secret = |name: &'static str| -> Result<SecretString, ConfigError> {
            match src.secret(name) {
                Some(value) => Ok(value),
                None if app_env == AppEnv::Development => {
                    generated.push(name);
                    Ok(SecretString::from(parse::random_token()))
                }
                None => Err(ConfigError::new(name, "is required when APP_ENV=production")),
            }
        };
        let jwt_secret = secret("JWT_SECRET")?;
        let jwt_refresh_secret = secret("JWT_REFRESH_SECRET")?;
        let inbound_email_secret = src.secret("INBOUND_EMAIL_SECRET");
        let metrics_token = src.secret("METRICS_TOKEN");
        // A short shared secret can be guessed, and the inbound email one is a URL path segment anyone may try.
        for (name, value) in [
            ("JWT_SECRET", Some(&jwt_secret)),
            ("JWT_REFRESH_SECRET", Some(&jwt_refresh_secret)),
            ("INBOUND_EMAIL_SECRET", inbound_email_secret.as_ref()),
            ("METRICS_TOKEN", metrics_token.as_ref()),
        ] {
            if value.is_some_and(|value| value.expose_secret().len() < 32) {
                return Err(ConfigError::new(name, "must be at least 32 characters"));
            }
        }
        let encryption_key = match src.text("ENCRYPTION_KEY") {
            Some(text) => parse::key32(&text).map_err(|why| ConfigError::new("ENCRYPTION_KEY", why))?,
            None if app_env == AppEnv::Development => {
                generated.push("ENCRYPTION_KEY");
                parse::random_key32()
            }
            None => return Err(ConfigError::new("ENCRYPTION_KEY", "is required when APP_ENV=production")),
        };

        let database_is_default = src.text("DATABASE_URL").is_none();
        let database = parse::database_target(
            "DATABASE_URL",
            &src.text("DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/escalating_reminders".to_owned()),
        )?;
        let database_pooled = src
            .text("DATABASE_URL_POOLED")
            .map(|text| parse::pooled_database_target("DATABASE_URL_POOLED", &text))
            .transpose()?;

        let twilio =
            match (src.text("TWILIO_ACCOUNT_SID"), src.secret("TWILIO_AUTH_TOKEN"), src.text("TWILIO_PHONE_NUMBER")) {
                (Some(account_sid), Some(auth_token), Some(phone_number)) => {
                    if !parse::is_e164(&phone_number) {
                        return Err(ConfigError::new(
                            "TWILIO_PHONE_NUMBER",
                            "must be an E.164 number such as +15551234567",
                        ));
                    }
                    Some(TwilioConfig { account_sid, auth_token, phone_number })
                }
                (None, None, None) => None,
                (sid, _, phone) => {
                    let missing = if sid.is_none() {
                        "TWILIO_ACCOUNT_SID"
                    } else if phone.is_none() {
                        "TWILIO_PHONE_NUMBER"
                    } else {
                        "TWILIO_AUTH_TOKEN"
                    };
                    return Err(ConfigError::new(missing, "is required when any TWILIO_* variable is set"));
                }
            };
        let google = match (src.text("GOOGLE_CLIENT_ID"), src.secret("GOOGLE_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => Some(GoogleConfig {
                client_id,
                client_secret,
                issuer: src.url("GOOGLE_ISSUER_URL", "https://accounts.google.com")?,
            }),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(ConfigError::new("GOOGLE_CLIENT_ID", "is required when GOOGLE_CLIENT_SECRET is set"));
            }
            (Some(_), None) => {
                return Err(ConfigError::new("GOOGLE_CLIENT_SECRET", "is required when GOOGLE_CLIENT_ID is set"));
            }
        };
        let email_from = src.mailbox("EMAIL_FROM", "Escalating Reminders <reminders@localhost>")?;
        let vapid = vapid::read(
            src.secret("VAPID_PRIVATE_KEY"),
            src.text("VAPID_PUBLIC_KEY"),
            src.text("VAPID_SUBJECT"),
            &email_from,
            app_env == AppEnv::Development,
        )?;
        if vapid.is_some() && src.secret("VAPID_PRIVATE_KEY").is_none() {
            generated.push("VAPID_PRIVATE_KEY");
        }
        let square_environment = match src.text("SQUARE_ENVIRONMENT").as_deref() {
            None | Some("sandbox") => SquareEnvironment::Sandbox,
            Some("production") => SquareEnvironment::Production,
            Some(other) => {
                return Err(src.bad("SQUARE_ENVIRONMENT", format!("must be sandbox or production, got {other:?}")));
            }
        };
        let square_default = match square_environment {
            SquareEnvironment::Sandbox => "https://connect.squareupsandbox.com",
            SquareEnvironment::Production => "https://connect.squareup.com",
        };
        let log_format = match src.text("LOG_FORMAT").as_deref() {
            None => {
                use std::io::IsTerminal;
                if std::io::stderr().is_terminal() { LogFormat::Pretty } else { LogFormat::Json }
            }
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => return Err(src.bad("LOG_FORMAT", format!("must be json or pretty, got {other:?}"))),
        };
        let default_tier = match src.text("DEFAULT_TIER") {
            None => Tier::Free,
            Some(text) => Tier::parse(&text).ok_or_else(|| {
                src.bad("DEFAULT_TIER", format!("must be FREE, PERSONAL, PRO or FAMILY, got {text:?}"))
            })?,
        };
        let redis_url = src.secret("REDIS_URL");
        if let Some(url) = &redis_url {
            let parsed = Url::parse(url.expose_secret())
                .map_err(|err| ConfigError::new("REDIS_URL", format!("is not a valid URL: {err}")))?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(ConfigError::new("REDIS_URL", "must start with redis:// or rediss://"));
            }
        }
        let config = Config {
            app_env,
            database,
            database_pooled,
            database_is_default,
            database_pool_size: src.number("DATABASE_POOL_SIZE", 16, 1, 500)?,
            pg_ca_file: src.text("PG_CA_FILE").map(PathBuf::from),
            pg_tls_verify: match src.text("PG_TLS_VERIFY").as_deref() {
                None | Some("full") => PgTlsVerify::Full,
                Some("none") => PgTlsVerify::None,
                Some(other) => return Err(src.bad("PG_TLS_VERIFY", format!("must be full or none, got {other:?}"))),
            },
            redis_url,
            redis_key_prefix: src.text("REDIS_KEY_PREFIX").unwrap_or_else(|| "er:".to_owned()),
            host: src.parsed(
                "HOST",
                "0.0.0.0".parse().map_err(|_| ConfigError::new("HOST", "internal default"))?,
                "an IP address",
            )?,
            port: src.number("PORT", 3801, 0, 65535)?,
            api_url: src.url("API_URL", "http://localhost:3801")?,
            jwt_secret,
            jwt_refresh_secret,
            encryption_key,
            square_access_token: src.secret("SQUARE_ACCESS_TOKEN"),
            square_environment,
            square_webhook_signature_key: src.secret("SQUARE_WEBHOOK_SIGNATURE_KEY"),
            square_api_base: src.url("SQUARE_API_BASE", square_default)?,
            square_location_id: src.text("SQUARE_LOCATION_ID"),
            square_plans: [
                (Tier::Personal, src.text("SQUARE_PLAN_PERSONAL")),
                (Tier::Pro, src.text("SQUARE_PLAN_PRO")),
                (Tier::Family, src.text("SQUARE_PLAN_FAMILY")),
            ],
            twilio,
            twilio_api_base: src.url("TWILIO_API_BASE", "https://api.twilio.com")?,
            google,
            sendgrid_api_key: src.secret("SENDGRID_API_KEY"),
            smtp_url: src.smtp_url("SMTP_URL")?,
            email_from,
            vapid,
            email_outbox_dir: PathBuf::from(src.text("EMAIL_OUTBOX_DIR").unwrap_or_else(|| "./outbox".to_owned())),
            inbound_email_secret,
            openai_api_key: src.secret("OPENAI_API_KEY"),
            openai_api_base: src.url("OPENAI_API_BASE", "https://api.openai.com/v1")?,
            openai_model: src.text("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_owned()),
            sentry_dsn: src.secret("SENTRY_DSN"),
            feature_social_escalation: src.flag("FEATURE_SOCIAL_ESCALATION", true)?,
            feature_marketplace: src.flag("FEATURE_MARKETPLACE", false)?,
            log_format,
            default_tier,
            tier_limits: match src.text("TIER_LIMITS") {
                None => reminder_core::tiers::TierTable::default(),
                Some(json) => {
                    reminder_core::tiers::TierTable::with_overrides(&json).map_err(|why| src.bad("TIER_LIMITS", why))?
                }
            },
            trusted_proxies: src.cidrs("TRUSTED_PROXIES")?,
            metrics_allow: src.cidrs("METRICS_ALLOW")?,
            metrics_token,
            cors_origins: src.list("CORS_ORIGINS"),
            scheduler_tick: Duration::from_millis(src.number("SCHEDULER_TICK_MS", 1000, 10, 60_000)?),
            scheduler_shards: src.number("SCHEDULER_SHARDS", 1, 1, 64)?,
            worker_concurrency: src.number("WORKER_CONCURRENCY", 64, 1, 4096)?,
            webhook_allow_private: src.flag("WEBHOOK_ALLOW_PRIVATE", false)?,
            worker_noop_channels: match src.flag("WORKER_NOOP_CHANNELS", false)? {
                true if app_env == AppEnv::Production => {
                    return Err(ConfigError::new(
                        "WORKER_NOOP_CHANNELS",
                        "would drop every notification in production",
                    ));
                }
                noop => noop,
            },
            offer_timeout: Duration::from_secs(src.number("OFFER_TIMEOUT_SECS", 30, 1, 3600)?),
            calendar_sync_interval: chrono::Duration::seconds(src.number(
                "CALENDAR_SYNC_INTERVAL_SECS",
                3600,
                1,
                86_400,
            )?),
            delivery_lease: Duration::from_secs(src.number("DELIVERY_LEASE_SECS", 15, 5, 3600)?),
            shutdown_grace: Duration::from_secs(src.number("SHUTDOWN_GRACE_SECS", 30, 0, 600)?),
            http_workers: src.number("HTTP_WORKERS", 0, 0, 64)?,
            imap_poll_interval: Duration::from_secs(src.number("IMAP_POLL_INTERVAL_SECS", 300, 1, 86_400)?),
            imap_poll_tick: Duration::from_millis(src.number("IMAP_POLL_TICK_MS", 2000, 50, 60_000)?),
            usage_suspension_allowance_per_window: src.number(
                "USAGE_SUSPENSION_ALLOWANCE_PER_WINDOW",
                3,
                0,
                1_000_000,
            )?,
            usage_suspension_window_days: src.number("USAGE_SUSPENSION_WINDOW_DAYS", 3, 1, 365)?,
            retention_delivery_days: src.number("RETENTION_DELIVERY_DAYS", 90, 1, 36_500)?,
            retention_audit_days: src.number("RETENTION_AUDIT_DAYS", 365, 1, 36_500)?,
            rate_limit_multiplier: src.number("RATE_LIMIT_MULTIPLIER", 1.0, 0.0001, 1000.0)?,
            rate_limit_auth_per_minute: src.number("RATE_LIMIT_AUTH_PER_MINUTE", 30, 1, 1_000_000)?,
            generated_secrets: generated,
        };
        Ok(config)
    }

    /// The database URL the api role uses: the pooled one when configured.
    pub fn api_database(&self) -> &DatabaseTarget {
        self.database_pooled.as_ref().unwrap_or(&self.database)
    }
}

#[cfg(test)]
mod tests;
