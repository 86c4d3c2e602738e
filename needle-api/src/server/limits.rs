//! Request limits with safe defaults, and the middleware that enforces the time and concurrency
//! limits (sizes are checked where the body is read and where requests are validated).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::state::AppState;

/// Limits on what one request may ask for. Every field has a safe default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (default 32 MiB).
    pub max_body_bytes: usize,
    /// Most vectors in one batch insert, or queries in one batch search (default 1,000).
    pub max_batch: usize,
    /// Largest `k` of a search (default 1,000).
    pub max_k: usize,
    /// Most dimensions of a new collection (default 4,096).
    pub max_dimensions: usize,
    /// Largest `ef` of a search (default 4,096).
    pub max_ef: usize,
    /// A request that takes longer (including reading its body) gets 408 (default 30 s).
    pub request_timeout: Duration,
    /// Requests handled at once; more get 503 `overloaded` at once (default 256).
    pub max_concurrent_requests: usize,
    /// A connection that takes longer to send a request's headers is closed (default 10 s):
    /// slow-header clients cannot hold connections open.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 << 20,
            max_batch: 1000,
            max_k: 1000,
            max_dimensions: 4096,
            max_ef: 4096,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            header_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Checks a `k`.
    pub fn check_k(&self, k: usize) -> Result<(), ApiError> {
        if k == 0 {
            return Err(ApiError::invalid("k must be at least 1"));
        }
        if k > self.max_k {
            return Err(ApiError::invalid(format!("k = {k} exceeds this server's limit of {}", self.max_k)));
        }
        Ok(())
    }

    /// Checks an `ef`.
    pub fn check_ef(&self, ef: Option<usize>) -> Result<(), ApiError> {
        match ef {
            Some(0) => Err(ApiError::invalid("ef must be at least 1")),
            Some(ef) if ef > self.max_ef => {
                Err(ApiError::invalid(format!("ef = {ef} exceeds this server's limit of {}", self.max_ef)))
            }
            _ => Ok(()),
        }
    }

    /// Checks the size of a batch.
    pub fn check_batch(&self, n: usize, what: &str) -> Result<(), ApiError> {
        if n == 0 {
            return Err(ApiError::invalid(format!("the batch has no {what}")));
        }
        if n > self.max_batch {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                format!("the batch has {n} {what}; this server's limit is {}", self.max_batch),
            ));
        }
        Ok(())
    }
}

/// Caps concurrent requests (503 with `Retry-After` past the cap) and the time each may take
/// (408). Runs outside the router, so it covers every request, routed or not.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.inner.in_flight.clone().try_acquire_owned() else {
        let mut r = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("more than {} requests at once; retry shortly", state.limits().max_concurrent_requests),
        )
        .into_response();
        r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        return r;
    };
    let timeout = state.limits().request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {} ms", timeout.as_millis()),
        )
        .into_response(),
    }
}
