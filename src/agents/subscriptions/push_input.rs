//! A browser's push subscription as `PushSubscription.toJSON()` gives it (`{endpoint, expirationTime,
//! keys: {p256dh, auth}}`), checked: the endpoint passes the SSRF guard (HTTPS, as every push service is,
//! unless private addresses are allowed for tests and self-hosted push servers), the key is a point on P-256
//! and the secret is 16 bytes. What is stored in the open is only the push service's host and an id of the
//! endpoint (to recognise the same browser subscribing again); the rest is sealed.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::agents::push::{BrowserSubscription, browser_keys};
use crate::http::{ApiError, FieldError};

/// The open config and the subscription to seal.
pub fn clean(object: &Map<String, Value>, allow_private: bool) -> Result<(Value, BrowserSubscription), ApiError> {
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|key| !["endpoint", "expirationTime", "keys"].contains(&key.as_str()))
        .map(|key| FieldError::new(format!("config.{key}"), "is not a setting of this channel"))
        .collect();
    let endpoint = match object.get("endpoint") {
        Some(Value::String(url)) => match crate::agents::ssrf::check_https_url(url, allow_private) {
            Ok(url) => Some(url),
            Err(why) => {
                errors.push(FieldError::new("config.endpoint", why));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("config.endpoint", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("config.endpoint", "is required"));
            None
        }
    };
    if !matches!(object.get("expirationTime"), None | Some(Value::Null | Value::Number(_))) {
        errors.push(FieldError::new("config.expirationTime", "must be a number or null"));
    }
    let keys = object.get("keys").and_then(Value::as_object);
    if keys.is_none() {
        errors.push(FieldError::new("config.keys", "is required: an object with p256dh and auth"));
    }
    let key = |name: &str, errors: &mut Vec<FieldError>| -> String {
        match keys.map(|keys| keys.get(name)) {
            Some(Some(Value::String(text))) if text.len() <= 200 => text.trim().to_owned(),
            Some(_) => {
                errors.push(FieldError::new(format!("config.keys.{name}"), "is required: a base64url string"));
                String::new()
            }
            None => String::new(),
        }
    };
    let (p256dh, auth) = (key("p256dh", &mut errors), key("auth", &mut errors));
    if let Some(keys) = keys {
        errors.extend(
            keys.keys()
                .filter(|name| !["p256dh", "auth"].contains(&name.as_str()))
                .map(|name| FieldError::new(format!("config.keys.{name}"), "is not a key of a push subscription")),
        );
    }
    let (Some(endpoint), true) = (endpoint, errors.is_empty()) else { return Err(ApiError::validation(errors)) };
    let subscription = BrowserSubscription { endpoint: endpoint.to_string(), p256dh, auth };
    if browser_keys(&subscription).is_none() {
        return Err(ApiError::validation(vec![FieldError::new(
            "config.keys",
            "p256dh must be a P-256 public key and auth 16 bytes, both base64url",
        )]));
    }
    let open = json!({
        "service": endpoint.host_str().unwrap_or_default(),
        "endpointId": endpoint_id(&subscription.endpoint),
    });
    Ok((open, subscription))
}

/// A short id of an endpoint: the same browser subscribing again has the same one.
pub fn endpoint_id(endpoint: &str) -> String {
    hex::encode(&Sha256::digest(endpoint.as_bytes())[..12])
}
