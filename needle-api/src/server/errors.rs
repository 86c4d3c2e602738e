//! Errors as HTTP responses: `{"error": {"code": "...", "message": "..."}}` with a status chosen
//! from the error's stable code. A leaf of the server: it imports nothing from `server/`, and
//! every other server file may use it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Error, ErrorCode};

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: a library [`ErrorCode`] name (`dimension_mismatch`,
    /// `collection_not_found`, ...) or a server one (`unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `payload_too_large`, `batch_too_large`, `timeout`, `overloaded`,
    /// `unsupported_media_type`, `not_implemented`, `internal`).
    pub code: String,
    /// For people.
    pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

/// Handler result.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// The HTTP status for a library error code. Bad input is always 4xx; only faults of the server
/// or its storage are 5xx.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidArgument
        | ErrorCode::InvalidId
        | ErrorCode::InvalidConfig
        | ErrorCode::UnknownComponent
        | ErrorCode::InvalidFilter
        | ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
        ErrorCode::DimensionMismatch
        | ErrorCode::NonFiniteVector
        | ErrorCode::ZeroVector
        | ErrorCode::VectorTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::CollectionNotFound | ErrorCode::VectorNotFound => StatusCode::NOT_FOUND,
        ErrorCode::CollectionExists | ErrorCode::DuplicateId => StatusCode::CONFLICT,
        ErrorCode::Locked => StatusCode::LOCKED,
        ErrorCode::ReadOnly => StatusCode::FORBIDDEN,
        ErrorCode::Io | ErrorCode::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }
    /// 400 `invalid_argument`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument.name(), message)
    }
    /// 404 `not_found` (no such route).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal.name(), message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let code = e.code();
        let status = status_for(code);
        if status.is_server_error() {
            tracing::error!(code = code.name(), error = %e, "request failed");
        }
        ApiError { status, code: code.name(), message: e.to_string() }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        tracing::error!(error = %e, "a blocking task failed");
        ApiError::internal(format!("a worker task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\"}}".to_vec());
        let mut r = (self.status, bytes).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }
}

/// 413 `batch_too_large`: a batch over `max_batch` items or `max_batch_results` hits.
pub(crate) fn batch_too_large(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_codes_are_4xx() {
        for code in [
            ErrorCode::InvalidArgument,
            ErrorCode::DimensionMismatch,
            ErrorCode::NonFiniteVector,
            ErrorCode::ZeroVector,
            ErrorCode::VectorTooLarge,
            ErrorCode::InvalidId,
            ErrorCode::CollectionExists,
            ErrorCode::CollectionNotFound,
            ErrorCode::DuplicateId,
            ErrorCode::VectorNotFound,
            ErrorCode::UnknownComponent,
            ErrorCode::InvalidConfig,
            ErrorCode::InvalidFilter,
            ErrorCode::InvalidJson,
        ] {
            assert!(status_for(code).is_client_error(), "{code}");
        }
        assert_eq!(status_for(ErrorCode::Corrupted), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status_for(ErrorCode::Locked), StatusCode::LOCKED);
        assert_eq!(status_for(ErrorCode::Closed), StatusCode::SERVICE_UNAVAILABLE);
    }
}
