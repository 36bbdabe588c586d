use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

fn variable_of(pairs: &[(&str, &str)]) -> &'static str {
    load(pairs).expect_err("configuration should be rejected").variable
}

#[test]
fn development_defaults_generate_secrets_and_use_the_local_database() {
    let config = load(&[]).unwrap();
    assert_eq!(config.app_env, AppEnv::Development);
    assert!(config.database_is_default);
    assert_eq!(config.port, 3801);
    assert!(config.generated_secrets.contains(&"JWT_SECRET"));
    assert!(config.generated_secrets.contains(&"ENCRYPTION_KEY"));
    assert!(config.database.url.expose_secret().ends_with("/escalating_reminders"));
}

#[test]
fn production_requires_every_secret() {
    assert_eq!(variable_of(&[("APP_ENV", "production")]), "JWT_SECRET");
    let secret = "x".repeat(40);
    assert_eq!(
        variable_of(&[("APP_ENV", "production"), ("JWT_SECRET", &secret), ("JWT_REFRESH_SECRET", &secret)]),
        "ENCRYPTION_KEY"
    );
}

#[test]
fn each_bad_value_names_its_variable() {
    assert_eq!(variable_of(&[("PORT", "abc")]), "PORT");
    assert_eq!(variable_of(&[("PORT", "70000")]), "PORT");
    assert_eq!(variable_of(&[("ENCRYPTION_KEY", "c2hvcnQ=")]), "ENCRYPTION_KEY");
    assert_eq!(variable_of(&[("DATABASE_URL", "not a url")]), "DATABASE_URL");
    assert_eq!(variable_of(&[("DATABASE_URL", "mysql://x/y")]), "DATABASE_URL");
    assert_eq!(variable_of(&[("DATABASE_URL", "postgres://h/db?sslmode=sometimes")]), "DATABASE_URL");
    assert_eq!(variable_of(&[("REDIS_URL", "http://x")]), "REDIS_URL");
    assert_eq!(variable_of(&[("APP_ENV", "staging")]), "APP_ENV");
    assert_eq!(variable_of(&[("LOG_FORMAT", "xml")]), "LOG_FORMAT");
    assert_eq!(variable_of(&[("DEFAULT_TIER", "GOLD")]), "DEFAULT_TIER");
    assert_eq!(variable_of(&[("TRUSTED_PROXIES", "10.0.0.0/99")]), "TRUSTED_PROXIES");
    assert_eq!(variable_of(&[("WEBHOOK_ALLOW_PRIVATE", "maybe")]), "WEBHOOK_ALLOW_PRIVATE");
    assert_eq!(variable_of(&[("SCHEDULER_TICK_MS", "0")]), "SCHEDULER_TICK_MS");
    assert_eq!(variable_of(&[("HTTP_WORKERS", "65")]), "HTTP_WORKERS");
    assert_eq!(variable_of(&[("IMAP_POLL_INTERVAL_SECS", "5m")]), "IMAP_POLL_INTERVAL_SECS");
    assert_eq!(variable_of(&[("IMAP_POLL_TICK_MS", "0")]), "IMAP_POLL_TICK_MS");
    assert_eq!(variable_of(&[("RETENTION_DELIVERY_DAYS", "0")]), "RETENTION_DELIVERY_DAYS");
    assert_eq!(variable_of(&[("DATABASE_URL_POOLED", "postgres://h/db?sslmode=require")]), "DATABASE_URL_POOLED");
    assert_eq!(variable_of(&[("RETENTION_AUDIT_DAYS", "a year")]), "RETENTION_AUDIT_DAYS");
    assert_eq!(variable_of(&[("JWT_SECRET", "short")]), "JWT_SECRET");
    assert_eq!(variable_of(&[("INBOUND_EMAIL_SECRET", "guessable-31-characters-long-xx")]), "INBOUND_EMAIL_SECRET");
    assert_eq!(variable_of(&[("METRICS_TOKEN", "short")]), "METRICS_TOKEN");
    assert_eq!(variable_of(&[("METRICS_ALLOW", "10.0.0.0/8, everyone")]), "METRICS_ALLOW");
    assert_eq!(variable_of(&[("TWILIO_ACCOUNT_SID", "AC1")]), "TWILIO_PHONE_NUMBER");
    assert_eq!(variable_of(&[("SMTP_URL", "http://mail")]), "SMTP_URL");
    assert_eq!(variable_of(&[("GOOGLE_CLIENT_ID", "id.apps")]), "GOOGLE_CLIENT_SECRET");
    assert_eq!(variable_of(&[("GOOGLE_CLIENT_SECRET", "s")]), "GOOGLE_CLIENT_ID");
    let google = [("GOOGLE_CLIENT_ID", "id.apps"), ("GOOGLE_CLIENT_SECRET", "s"), ("GOOGLE_ISSUER_URL", "accounts")];
    assert_eq!(variable_of(&google), "GOOGLE_ISSUER_URL");
    assert_eq!(variable_of(&[("SMTP_URL", "smtp://mail?tls=always")]), "SMTP_URL");
    assert!(load(&[("SMTP_URL", "smtp://u:p@mail:587?tls=required")]).is_ok());
    assert_eq!(variable_of(&[("EMAIL_FROM", "Reminders <not an address>")]), "EMAIL_FROM");
}

#[test]
fn encryption_key_accepts_base64_and_hex() {
    let hex_key = "ab".repeat(32);
    let config = load(&[("ENCRYPTION_KEY", &hex_key)]).unwrap();
    assert_eq!(config.encryption_key.expose_secret()[0], 0xab);
    let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let config = load(&[("ENCRYPTION_KEY", b64)]).unwrap();
    assert_eq!(config.encryption_key.expose_secret()[31], 31);
}

#[test]
fn sslmode_is_split_out_of_the_database_url() {
    let config =
        load(&[("DATABASE_URL", "postgres://u:p@db:5432/app?sslmode=verify-full&application_name=x")]).unwrap();
    assert_eq!(config.database.tls, DbTls::Require);
    assert!(!config.database.url.expose_secret().contains("sslmode"));
    assert!(config.database.url.expose_secret().contains("application_name=x"));
}

#[test]
fn errors_never_echo_secret_values() {
    let err = load(&[("ENCRYPTION_KEY", "supersecretvalue")]).unwrap_err();
    assert!(!err.to_string().contains("supersecretvalue"));
    let err = load(&[("SMTP_URL", "http://user:hunter2@mail")]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn help_lists_every_variable() {
    let help = variables_help();
    for (name, _, _) in VARIABLES {
        assert!(help.contains(name), "{name} missing from --help");
    }
}

#[test]
fn tier_limits_override_single_fields_and_bad_ones_name_the_variable() {
    let config = load(&[("TIER_LIMITS", r#"{"FREE": {"reminders": 7}}"#)]).expect("valid");
    assert_eq!(config.tier_limits.get(Tier::Free).reminders, Some(7));
    let err = load(&[("TIER_LIMITS", r#"{"FREE": {"reminders": "many"}}"#)]).unwrap_err();
    assert!(err.to_string().contains("TIER_LIMITS"), "{err}");
}
