//! One error type for every handler, rendered as the API's JSON error envelope.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::envelope::Meta;

/// The `error.code` values of the API contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    /// 403: the account's own address is not confirmed yet, and the request needs it to be.
    EmailNotVerified,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    UnprocessableEntity,
    RateLimited,
    InternalError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationError => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::EmailNotVerified => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnprocessableEntity => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code for a bare status produced outside our handlers (actix's own 404, 405, 413…).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::UnprocessableEntity,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            400..=499 => ErrorCode::ValidationError,
            _ => ErrorCode::InternalError,
        }
    }

    /// A safe default message for the code.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "The request is not valid.",
            ErrorCode::Unauthorized => "Authentication is required.",
            ErrorCode::Forbidden => "You are not allowed to do this.",
            ErrorCode::EmailNotVerified => "Confirm your email address first.",
            ErrorCode::NotFound => "Not found.",
            ErrorCode::MethodNotAllowed => "This method is not allowed on this resource.",
            ErrorCode::Conflict => "The request conflicts with the current state.",
            ErrorCode::PayloadTooLarge => "The request body is larger than 256 KiB.",
            ErrorCode::UnsupportedMediaType => "Send the body as application/json.",
            ErrorCode::UnprocessableEntity => "The request cannot be carried out.",
            ErrorCode::RateLimited => "Too many requests; try again later.",
            ErrorCode::InternalError => "Something went wrong on our side. Quote the request id when you report it.",
            ErrorCode::ServiceUnavailable => "The service is temporarily unavailable; try again shortly.",
        }
    }
}

/// One invalid field: its JSON path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// A required text field, trimmed: 1 to `max` characters and no control characters, or an error on
/// `field` is added to `errors`.
pub fn required_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(field, format!("must be 1 to {max} characters, without control characters")));
    }
    value.to_owned()
}

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client { code: ErrorCode, message: String, details: Vec<FieldError> },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// Anything unexpected: logged with its cause, answered with a generic 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client { code, message: message.into(), details: Vec::new() }
    }

    /// 400 listing every bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid.", details.len()),
        };
        ApiError::Client { code: ErrorCode::ValidationError, message, details }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404 that never says whether the thing exists for someone else.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnprocessableEntity, message)
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::not_found("Resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::conflict("A resource with these values already exists.")
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::new(ErrorCode::ServiceUnavailable, "The request raced another one; retry it.")
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>> for ApiError {
    fn from(err: deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>) -> Self {
        tracing::error!(error = %err, "database pool could not provide a connection");
        ApiError::new(ErrorCode::ServiceUnavailable, ErrorCode::ServiceUnavailable.default_message())
    }
}

/// The error envelope as the OpenAPI document describes it (`envelope_response` renders it).
#[derive(utoipa::ToSchema)]
pub struct ErrorResponse {
    /// Always false.
    pub success: bool,
    pub error: ErrorDetail,
    pub meta: Meta,
}

/// What went wrong.
#[derive(utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// Every invalid field, for validation errors.
    pub details: Option<Vec<FieldError>>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    details: &'a [FieldError],
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    success: bool,
    error: ErrorBody<'a>,
    meta: Meta,
}

/// Renders the error envelope; used by `ApiError` and by the middleware that wraps actix's own errors.
pub fn envelope_response(code: ErrorCode, message: &str, details: &[FieldError]) -> HttpResponse {
    let body = ErrorEnvelope { success: false, error: ErrorBody { code, message, details }, meta: Meta::now() };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"success\":false}".to_vec());
    let mut response = HttpResponse::build(code.status());
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
    response.body(json)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Client { code, message, details } => envelope_response(*code, message, details),
            ApiError::RateLimited { retry_after_secs } => {
                let mut response =
                    envelope_response(ErrorCode::RateLimited, ErrorCode::RateLimited.default_message(), &[]);
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            ApiError::Internal(err) => {
                // The one place the cause is recorded; the client sees only the request id.
                tracing::error!(error = format!("{err:#}"), "request failed with an internal error");
                envelope_response(ErrorCode::InternalError, ErrorCode::InternalError.default_message(), &[])
            }
        }
    }
}
