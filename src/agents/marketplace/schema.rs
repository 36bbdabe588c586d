//! JSON Schema checks: a manifest's schema must compile (draft 2020-12 unless it names another) and describe
//! an object; a user's config must satisfy it. Remote `$ref`s are not fetched (the crate's HTTP resolver is
//! off), so a schema cannot make the server call out.

use serde_json::Value;

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
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|err| FieldError::new("configSchema", format!("is not a valid JSON Schema: {err}")))
}

/// Checks a user's config against the type's schema, one error per failed keyword, named by where it failed.
pub fn check_config(schema: &Value, config: &Value) -> Result<(), Vec<FieldError>> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|_| vec![FieldError::new("config", "the agent type's schema no longer compiles")])?;
    let errors: Vec<FieldError> = validator
        .iter_errors(config)
        .take(20)
        .map(|err| {
            let at = err.instance_path().to_string();
            let field = if at.is_empty() { "config".to_owned() } else { format!("config{}", at.replace('/', ".")) };
            FieldError::new(field, err.to_string())
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
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
        assert!(check_config(&schema, &json!({"room": "hall"})).is_ok());
        let errors = check_config(&schema, &json!({"room": 5})).unwrap_err();
        assert_eq!(errors[0].field, "config.room");
        assert!(check_config(&schema, &json!({})).is_err());
    }
}
