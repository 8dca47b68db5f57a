//! The one HTTP error type. Status codes are chosen in exactly one place (`IntoResponse`); 4xx
//! bodies say what was wrong and how to fix it, 5xx bodies are generic and the cause is logged.

use axum::Json;
use axum::http::StatusCode;
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
    /// Something failed on our side; the message is logged, never sent.
    Internal(String),
}

impl ApiError {
    pub fn bad(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        ApiError::Internal(e.to_string())
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
                "this resource is read-only: use GET".to_string(),
            ),
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
