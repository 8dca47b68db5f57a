//! The one HTTP error type. Status codes are chosen in exactly one place (`IntoResponse`); 4xx
//! bodies say what was wrong and how to fix it, 5xx bodies are generic and the cause is logged.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// A query or path parameter is missing, malformed or out of range.
    BadParameter {
        name: String,
        message: String,
    },
    /// A query parameter the endpoint does not know.
    UnknownParameter {
        name: String,
        allowed: String,
    },
    /// No such resource: a collection, a feature or a path.
    NotFound(String),
    MethodNotAllowed,
    /// A write to what only reads (the `events` collection); the message says where to write.
    ReadOnly(String),
    /// No token where one is needed, or a token no active account has.
    Unauthorized(String),
    /// The account's role or area does not allow this; the message says whose it is.
    Forbidden(String),
    /// Too many failed tokens from this client lately.
    TooManyAttempts {
        retry_after_s: u64,
    },
    /// A write that must name the version it changes (`If-Match`) did not.
    PreconditionRequired(String),
    /// `If-Match` named an older version of the feature; nothing was written.
    PreconditionFailed(String),
    /// A create of a feature that exists.
    Conflict(String),
    /// A written feature (or the dataset after the write) breaks a model rule.
    Invalid(String),
    /// A field of a JSON body is well formed but not acceptable (an unknown category, a point
    /// outside the county): the field and the fix.
    Unprocessable {
        name: String,
        message: String,
    },
    /// Too much is waiting already; try again in a second.
    Busy(String),
    /// A request body over the limit; the message says the limit.
    TooLarge(String),
    /// Not answered within the server's time limit; the message says the limit.
    TimedOut(String),
    /// The store cannot be reached; the write did not happen.
    Unavailable(String),
    /// The store went away while the write committed: it may have happened.
    Uncertain(String),
    /// Something failed on our side; the message is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// 422 naming a body field and the fix.
    pub fn field(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            name: name.to_string(),
            message: message.into(),
        }
    }

    pub fn bad(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Invalid(report) => ApiError::Invalid(report.to_string()),
            crate::Error::Stale(message) => ApiError::PreconditionFailed(message),
            crate::Error::Exists(message) | crate::Error::Refused(message) => {
                ApiError::Conflict(message)
            }
            crate::Error::Format { .. } => ApiError::Invalid(e.to_string()),
            // A 4xx body says what the database said, not where the store lives.
            crate::Error::Store {
                failure: crate::StoreFailure::Rejected,
                message,
                ..
            } => ApiError::Invalid(format!("the store refused the write: {message}")),
            crate::Error::Store {
                failure: crate::StoreFailure::Unreachable,
                ..
            } => ApiError::Unavailable(e.to_string()),
            crate::Error::Store {
                failure: crate::StoreFailure::Uncertain,
                ..
            } => ApiError::Uncertain(e.to_string()),
            crate::Error::Store { .. } => ApiError::Internal(e.to_string()),
            crate::Error::Io { .. } | crate::Error::Tile { .. } | crate::Error::Archive { .. } => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::BadParameter { name, message } => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("{name}: {message}"),
            ),
            ApiError::UnknownParameter { name, allowed } => (
                StatusCode::BAD_REQUEST,
                "unknown_parameter",
                format!("{name}: unknown parameter; this endpoint takes {allowed}"),
            ),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method: reads are GET; features are created with POST on /collections/{id}/items and changed with PUT, PATCH or DELETE on one item".to_string(),
            ),
            ApiError::ReadOnly(message) => {
                let body = Json(json!({"error": "method_not_allowed", "message": message}));
                let allow = [(header::ALLOW, "GET, HEAD")];
                return (StatusCode::METHOD_NOT_ALLOWED, allow, body).into_response();
            }
            ApiError::Unauthorized(message) => {
                let body = Json(json!({"error": "unauthorized", "message": message}));
                let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
                return (StatusCode::UNAUTHORIZED, challenge, body).into_response();
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message),
            ApiError::TooManyAttempts { retry_after_s } => {
                let body = Json(json!({
                    "error": "too_many_attempts",
                    "message": format!("too many wrong tokens from this address within a minute; try again in {retry_after_s} s with the right token"),
                }));
                let retry = [(header::RETRY_AFTER, retry_after_s.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry, body).into_response();
            }
            ApiError::PreconditionRequired(message) => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                message,
            ),
            ApiError::PreconditionFailed(message) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                message,
            ),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, "conflict", message),
            ApiError::Invalid(message) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_feature", message)
            }
            ApiError::Unprocessable { name, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{name}: {message}"),
            ),
            ApiError::Busy(message) => {
                let body = Json(json!({"error": "busy", "message": message}));
                return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body)
                    .into_response();
            }
            ApiError::TooLarge(message) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            // As Go's `http.TimeoutHandler` answers: the server, not a gateway, gave up.
            ApiError::TimedOut(message) => (StatusCode::SERVICE_UNAVAILABLE, "timeout", message),
            ApiError::Unavailable(cause) => {
                tracing::error!(%cause, "store unavailable for a write");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the store cannot be reached; nothing was written, try again".to_string(),
                )
            }
            ApiError::Uncertain(cause) => {
                tracing::error!(%cause, "the store went away while a write committed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_uncertain",
                    "the store went away while the write committed: it may have been written; read the feature again (its ETag tells) before trying again".to_string(),
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error".to_string(),
                )
            }
        };
        (status, Json(json!({"error": code, "message": message}))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreFailure;

    /// Each kind of store failure tells the client the truth: try again (503), fix the data
    /// (422), or our fault (500).
    #[test]
    fn store_failures_answer_by_kind() {
        for (failure, status) in [
            (StoreFailure::Unreachable, 503),
            (StoreFailure::Rejected, 422),
            (StoreFailure::Unreadable, 500),
            (StoreFailure::Failed, 500),
            (StoreFailure::Uncertain, 503),
        ] {
            let e = crate::Error::store_failure("store", failure, "why");
            let response = ApiError::from(e).into_response();
            assert_eq!(response.status().as_u16(), status, "{failure:?}");
        }
    }
}
