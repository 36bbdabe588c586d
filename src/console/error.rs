//! What a console handler can fail with, rendered as a page (never the API's JSON).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use super::render;
use crate::http::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: go and sign in, then come back to `next`.
    #[error("sign-in required")]
    SignIn { next: String },
    /// A form without this session's token.
    #[error("missing or wrong form token")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::RateLimited { retry_after_secs } => ConsoleError::RateLimited { retry_after_secs },
            err if err.code() == ErrorCode::NotFound => ConsoleError::NotFound,
            err => ConsoleError::Api(err),
        }
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(err: diesel::result::Error) -> Self {
        ApiError::from(err).into()
    }
}

impl From<deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>> for ConsoleError {
    fn from(err: deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>) -> Self {
        ApiError::from(err).into()
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Api(err) => err.code().status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn { next } => {
                let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
                render::redirect(&format!("/login?{query}"))
            }
            ConsoleError::Forbidden => render::error(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed. Go back, reload the page and try again.",
            ),
            ConsoleError::NotFound => render::not_found(),
            ConsoleError::RateLimited { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60).max(1);
                let message = format!(
                    "You have made a lot of requests in a short time. Please wait about {minutes} minute{} and try again.",
                    if minutes == 1 { "" } else { "s" }
                );
                let mut response = render::error(StatusCode::TOO_MANY_REQUESTS, "Slow down a little", &message);
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            ConsoleError::Api(ApiError::Internal(err)) => {
                tracing::error!(error = format!("{err:#}"), "console request failed with an internal error");
                render::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Please try again in a moment.",
                )
            }
            ConsoleError::Api(err) => {
                let status = err.code().status();
                let message = match err {
                    ApiError::Client { message, .. } => message.as_str(),
                    _ => err.code().default_message(),
                };
                render::error(status, status.canonical_reason().unwrap_or("Error"), message)
            }
        }
    }
}

/// The field errors of a validation or unprocessable error, by the API's field path; None for other errors.
pub fn field_errors(err: &ApiError) -> Option<Vec<(String, String)>> {
    match err {
        ApiError::Client { code: ErrorCode::ValidationError | ErrorCode::UnprocessableEntity, message, details } => {
            Some(if details.is_empty() {
                vec![(String::new(), message.clone())]
            } else {
                details.iter().map(|d| (d.field.clone(), d.message.clone())).collect()
            })
        }
        _ => None,
    }
}

/// Shows a refused change on its form: field errors next to their fields (`field_for` maps the API's field
/// names; `field_for("")` is the form's own place), a refusal the person can act on (403: the plan or a
/// limit; 409: it exists already) above the form. Anything else passes through to the error page.
pub fn placed(
    err: ApiError,
    errors: &mut crate::console::forms::Errors,
    field_for: fn(&str) -> &'static str,
) -> Result<actix_web::http::StatusCode, ConsoleError> {
    let status = err.code().status();
    match (field_errors(&err), &err) {
        (Some(found), _) => crate::console::forms::place(errors, found, field_for),
        (None, ApiError::Client { code: ErrorCode::Forbidden | ErrorCode::Conflict, message, .. }) => {
            errors.insert(field_for("").to_owned(), message.clone());
        }
        (None, _) => return Err(err.into()),
    }
    Ok(status)
}
