//! Binary request bodies beside JSON: `Content-Type: application/octet-stream` carries vectors
//! as raw little-endian `f32` values, with the other parameters in the query string. A search
//! body is one vector (`dimensions × 4` bytes); a batch search body is `n × dimensions × 4`
//! bytes, `n` queries back to back. Parsing one is a copy, not a number parse per value.

use axum::http::StatusCode;

use super::errors::{ApiError, ApiResult};
use crate::ErrorCode;

/// The media type of a binary body.
pub const MEDIA_TYPE: &str = "application/octet-stream";

/// Little-endian `f32` values; the length must be a multiple of 4.
pub(crate) fn f32s(bytes: &[u8]) -> ApiResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidArgument.name(),
            format!("a binary body is little-endian f32 values: {} bytes is not a multiple of 4", bytes.len()),
        ));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// `key=value` pairs of a query string (no percent-decoding: the parameters are numbers,
/// booleans and plain words).
pub(crate) fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query.unwrap_or("").split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Parses a query parameter.
pub(crate) fn parse_param<T: std::str::FromStr>(key: &str, value: &str) -> ApiResult<T> {
    value.parse().map_err(|_| ApiError::invalid(format!("query parameter {key}: cannot parse {value:?}")))
}

/// A boolean query parameter (`true`/`1`/empty or `false`/`0`).
pub(crate) fn parse_bool(key: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::invalid(format!("query parameter {key} must be true or false, not {value:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip() {
        let v = [1.5f32, -0.25, 3.0e7];
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(f32s(&bytes).unwrap(), v);
        assert_eq!(f32s(&bytes[..5]).unwrap_err().status, StatusCode::BAD_REQUEST);
        let pairs: Vec<_> = query_pairs(Some("k=5&include_metadata=false&x")).collect();
        assert_eq!(pairs, [("k", "5"), ("include_metadata", "false"), ("x", "")]);
    }
}
