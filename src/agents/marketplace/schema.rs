//! JSON Schema checks: a manifest's schema must compile (draft 2020-12 unless it names another) and describe
//! an object; a user's config must satisfy it. Remote `$ref`s are not fetched (the crate's HTTP resolver is
//! off), so a schema cannot make the server call out.

use serde_json::{Map, Value};

use crate::http::FieldError;

/// At most this many bytes of schema.
const SCHEMA_MAX_BYTES: usize = 16 * 1024;

/// Checks a manifest's schema.
pub fn check_schema(schema: &Value) -> Result<(), FieldError> {
    if serde_json::to_vec(schema).map_or(usize::MAX, |bytes| bytes.len()) > SCHEMA_MAX_BYTES {
        return Err(FieldError::new("configSchema", format!("must be at most {SCHEMA_MAX_BYTES} bytes")));
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(FieldError::new("configSchema", "must be an object schema (\"type\": \"object\")"));
    }
    let top_level = write_only(schema).count();
    if count_write_only(schema) != top_level {
        return Err(FieldError::new(
            "configSchema",
            "may mark only its own top-level properties \"writeOnly\" (those are the settings stored sealed)",
        ));
    }
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|err| FieldError::new("configSchema", format!("is not a valid JSON Schema: {err}")))
}

/// How many `"writeOnly": true` the schema holds anywhere.
fn count_write_only(schema: &Value) -> usize {
    match schema {
        Value::Object(map) => {
            let here = usize::from(map.get("writeOnly") == Some(&Value::Bool(true)));
            here + map.values().map(count_write_only).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(count_write_only).sum(),
        _ => 0,
    }
}

/// Checks a user's config against the type's schema, one error per failed keyword, named by where it failed.
/// The crate's messages quote the value, so the values of `sealed` settings are taken out of every message:
/// a write-only setting is never shown, not even back to the person who typed it.
pub fn check_config(schema: &Value, config: &Value, sealed: &[&str]) -> Result<(), Vec<FieldError>> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|_| vec![FieldError::new("config", "the agent type's schema no longer compiles")])?;
    let hidden: Vec<String> = sealed.iter().filter_map(|name| config.get(*name)).map(Value::to_string).collect();
    let errors: Vec<FieldError> = validator
        .iter_errors(config)
        .take(20)
        .map(|err| {
            let at = err.instance_path().to_string();
            let field = if at.is_empty() { "config".to_owned() } else { format!("config{}", at.replace('/', ".")) };
            let on_sealed = sealed.iter().any(|name| at == format!("/{name}") || at.starts_with(&format!("/{name}/")));
            let message = if on_sealed {
                "is not valid for this setting (its value is not shown)".to_owned()
            } else {
                hidden.iter().fold(err.to_string(), |message, value| message.replace(value.as_str(), "(not shown)"))
            };
            FieldError::new(field, message)
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// The settings `schema` marks `"writeOnly": true` among its top-level properties: JSON Schema's own word for
/// a value that is given but never returned (an API token for the agent's own service, say). A subscriber's
/// write-only settings are stored sealed, sent to the agent with each delivery and never shown again.
pub fn write_only(schema: &Value) -> impl Iterator<Item = &str> {
    let properties = schema.get("properties").and_then(Value::as_object).into_iter().flatten();
    properties
        .filter(|(_, property)| property.get("writeOnly") == Some(&Value::Bool(true)))
        .map(|(name, _)| name.as_str())
}

/// Splits an object config into what is stored and shown, and the settings named `sealed`.
pub fn split_write_only<'a>(sealed: impl IntoIterator<Item = &'a str>, config: &Value) -> (Value, Map<String, Value>) {
    let mut shown = config.as_object().cloned().unwrap_or_default();
    let sealed = sealed.into_iter().filter_map(|name| Some((name.to_owned(), shown.remove(name)?))).collect();
    (Value::Object(shown), sealed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemas_and_configs_are_checked() {
        let schema = json!({"type": "object", "required": ["room"], "additionalProperties": false,
                            "properties": {"room": {"type": "string", "maxLength": 20}}});
        assert!(check_schema(&schema).is_ok());
        assert!(check_schema(&json!({"type": "string"})).is_err());
        assert!(check_schema(&json!({"type": "object", "properties": {"a": {"type": 7}}})).is_err());
        assert!(check_config(&schema, &json!({"room": "hall"}), &[]).is_ok());
        let errors = check_config(&schema, &json!({"room": 5}), &[]).unwrap_err();
        assert_eq!(errors[0].field, "config.room");
        assert!(check_config(&schema, &json!({}), &[]).is_err());
    }

    #[test]
    fn write_only_settings_are_split_from_the_shown_config() {
        let schema = json!({"type": "object", "properties": {
            "room": {"type": "string"}, "token": {"type": "string", "writeOnly": true},
            "pin": {"type": "string", "writeOnly": false}}});
        assert_eq!(write_only(&schema).collect::<Vec<_>>(), ["token"]);
        let (shown, sealed) =
            split_write_only(write_only(&schema), &json!({"room": "hall", "token": "t-1", "pin": "7"}));
        assert_eq!(shown, json!({"room": "hall", "pin": "7"}));
        assert_eq!(Value::Object(sealed), json!({"token": "t-1"}));
        let (shown, sealed) = split_write_only(write_only(&schema), &json!({"room": "hall"}));
        assert_eq!((shown, sealed.is_empty()), (json!({"room": "hall"}), true), "nothing to seal");
        assert_eq!(write_only(&json!({"type": "object"})).count(), 0, "a schema without properties");
    }

    #[test]
    fn write_only_is_taken_only_at_the_top_level_and_its_values_stay_out_of_errors() {
        let nested = json!({"type": "object", "properties": {"auth": {"type": "object", "properties": {
            "token": {"type": "string", "writeOnly": true}}}}});
        assert!(check_schema(&nested).unwrap_err().message.contains("top-level"), "it would be stored in the open");
        let schema = json!({"type": "object", "maxProperties": 1, "properties": {
            "token": {"type": "string", "minLength": 8, "writeOnly": true}, "room": {"type": "string"}}});
        assert!(check_schema(&schema).is_ok());
        let errors = check_config(&schema, &json!({"token": "sekrit", "room": "hall"}), &["token"]).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(errors.len(), 2, "{messages:?}");
        assert!(messages.iter().all(|m| !m.contains("sekrit")), "{messages:?}");
        let open = check_config(&schema, &json!({"token": "sekrit-but-long", "room": 5}), &[]).unwrap_err();
        assert!(open[0].message.contains('5'), "other values are still quoted: {}", open[0].message);
    }
}
