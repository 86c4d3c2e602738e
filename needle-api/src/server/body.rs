//! Reading request bodies: their media type, and the JSON extractor ([`ApiJson`]) that reads a
//! body within the size limit and parses it strictly, batch lists counted as they are parsed
//! ([`super::bounded`]). Every malformed body becomes a 4xx [`ApiError`], never a 5xx.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::binary;
use super::bounded;
use super::errors::{batch_too_large, ApiError, ApiResult};
use super::state::AppState;
use crate::ErrorCode;

/// The media type of a request body (`Content-Type` without parameters, lower case).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("").to_ascii_lowercase();
    Some(ct.split(';').next().unwrap_or("").trim().to_string())
}

/// Whether a media type is one the API reads: JSON, or raw little-endian f32 vectors.
pub(crate) fn accepted_media_type(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json") || essence == binary::MEDIA_TYPE
}

/// A JSON request body, read within the body-size limit and parsed strictly, batch lists
/// counted as they are parsed ([`super::bounded`]). Every failure is a 4xx [`ApiError`]: 413
/// over the size or batch limit, 415 without a JSON content type, 400 for bad syntax, 422 for
/// well-formed JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

/// 415 unless the request says its body is JSON.
pub(crate) fn require_json(req: &Request) -> ApiResult<()> {
    let essence = media_type(req.headers());
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
    let (parsed, exceeded) = bounded::parse_within(max_batch, || parse_json(bytes));
    match (parsed, exceeded) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(limit)) => {
            Err(batch_too_large(format!("the batch has more than {limit} items; this server's limit is {limit}")))
        }
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
    fn json_errors_are_classified() {
        let e = parse_json::<Vec<f32>>(b"[1, ").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse_json::<Vec<f32>>(br#"["NaN"]"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let e = parse_json::<Vec<f32>>(b"[1e400]").unwrap_err();
        assert!(e.status.is_client_error());
    }
}
