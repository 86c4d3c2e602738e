//! Errors as HTTP responses: `{"error": {"code": "...", "message": "..."}}` with a status chosen
//! from the error's stable code, plus the JSON body extractor that turns every malformed request
//! into such an error (never a 5xx).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;

use super::state::AppState;
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

/// A JSON request body, read within the body-size limit and parsed strictly, batch lists
/// counted as they are parsed ([`super::bounded`]). Every failure is a 4xx [`ApiError`]: 413
/// over the size or batch limit, 415 without a JSON content type, 400 for bad syntax, 422 for
/// well-formed JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

/// 415 unless the request says its body is JSON.
pub(crate) fn require_json(req: &Request) -> ApiResult<()> {
    let essence = super::admit::media_type(req.headers());
    match essence.as_deref() {
        Some(e) if e == "application/json" || e.ends_with("+json") => Ok(()),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            match other {
                Some(e) => format!("expected Content-Type: application/json, got {e:?}"),
                None => "a request body needs Content-Type: application/json".to_string(),
            },
        )),
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let empty = http_body::Body::is_end_stream(req.body());
        if !empty {
            require_json(&req)?;
        }
        let limits = state.limits();
        let bytes = read_body(req, limits.max_body_bytes).await?;
        parse_json_within(&bytes, limits.max_batch).map(ApiJson)
    }
}

/// [`parse_json`] with batch lists limited to `max_batch` items (413 `batch_too_large` past it).
pub fn parse_json_within<T: DeserializeOwned>(bytes: &[u8], max_batch: usize) -> ApiResult<T> {
    let (parsed, exceeded) = super::bounded::parse_within(max_batch, || parse_json(bytes));
    match (parsed, exceeded) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(limit)) => Err(super::limits::batch_too_large(format!(
            "the batch has more than {limit} items; this server's limit is {limit}"
        ))),
        (Err(e), None) => Err(e),
    }
}

/// Reads a whole body, failing with 413 past `limit` bytes.
pub async fn read_body(req: Request, limit: usize) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
        if len > limit as u64 {
            return Err(too_large());
        }
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        // axum reports the limit with http-body-util's `LengthLimitError`, which it does not
        // export: recognise it by its message anywhere in the chain.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains("length limit exceeded") {
                return too_large();
            }
            source = s.source();
        }
        ApiError::invalid(format!("could not read the request body: {e}"))
    })
}

/// Parses JSON: 400 `invalid_json` for syntax errors, 422 `invalid_json` for a wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson.name(), "the request body is empty"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, ErrorCode::InvalidJson.name(), format!("invalid JSON body: {e}"))
    })
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

    #[test]
    fn json_errors_are_classified() {
        let e = parse_json::<Vec<f32>>(b"[1, ").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse_json::<Vec<f32>>(br#"["NaN"]"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let e = parse_json::<Vec<f32>>(b"[1e400]").unwrap_err();
        assert!(e.status.is_client_error());
    }
}
