//! The JSON body extractor: content type checked, size limited, NUL bytes refused, and every
//! deserialisation error reported with the JSON path of the bad field.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::MAX_BODY_BYTES;
use super::error::{ApiError, ErrorCode, FieldError};

/// A JSON request body of type `T` (use `#[serde(deny_unknown_fields)]` on `T`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "Send the body as application/json."));
            }
            if declared_length.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut body = Vec::with_capacity(declared_length.unwrap_or(1024).min(MAX_BODY_BYTES));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::bad_request("The request body could not be read."))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_body(&body).map(Json)
        })
    }
}

/// Parses a JSON body with the same rules as the extractor (also used for form-less raw bodies).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("The request body is empty; send a JSON object."));
    }
    if contains_nul(body) {
        return Err(ApiError::bad_request("NUL characters are not allowed."));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            let message = format!("Malformed JSON: {}", describe(&inner));
            ApiError::Client {
                code: ErrorCode::ValidationError,
                message,
                details: if path == "." { Vec::new() } else { vec![FieldError::new(path, describe(&inner))] },
            }
        } else {
            ApiError::validation(vec![FieldError::new(path, describe(&inner))])
        }
    })?;
    deserializer.end().map_err(|_| ApiError::bad_request("Malformed JSON: trailing characters after the value."))?;
    Ok(value)
}

/// For `Option<Option<T>>` patch fields: an absent field is `None`, an explicit `null` is `Some(None)`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, ErrorCode::PayloadTooLarge.default_message())
}

/// serde_json appends " at line X column Y"; keep the message short and without input excerpts.
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// A raw 0x00 byte, or the `\u0000` escape in any letter case.
fn contains_nul(body: &[u8]) -> bool {
    body.contains(&0) || body.windows(6).any(|w| w[0] == b'\\' && (w[1] | 0x20) == b'u' && &w[2..6] == b"0000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Sample {
        name: String,
        count: u32,
    }

    fn field_of(err: ApiError) -> Option<String> {
        match err {
            ApiError::Client { details, .. } => details.first().map(|d| d.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn reports_the_path_of_a_wrong_type() {
        let err = parse_body::<Sample>(br#"{"name":"a","count":"x"}"#).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("count"));
    }

    #[test]
    fn rejects_unknown_fields_huge_numbers_and_nul() {
        assert_eq!(
            parse_body::<Sample>(br#"{"name":"a","count":1,"x":1}"#).unwrap_err().code(),
            ErrorCode::ValidationError
        );
        let err = parse_body::<Sample>(br#"{"name":"a","count":99999999999999999999}"#).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("count"));
        assert!(parse_body::<Sample>(b"{\"name\":\"a\\u0000\",\"count\":1}").is_err());
        assert!(parse_body::<Sample>(b"{\"name\":\"a\\U0000\",\"count\":1}").is_err());
        assert!(parse_body::<Sample>(b"{\"name\":\"a\0\",\"count\":1}").is_err());
        assert!(parse_body::<Sample>(br#"{"name":"a","count":1} trailing"#).is_err());
        assert!(parse_body::<Sample>(br#"{"name":"a","count":1}"#).is_ok());
    }
}
