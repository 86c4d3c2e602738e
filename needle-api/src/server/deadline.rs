//! The outermost middleware: every request, routed or not, gets a deadline
//! (`request_timeout`: 408 past it) and a cancellation flag ([`Cancel`]) that is set when it
//! times out or its client goes away. [`super::admit`] hands the flag to the work the request
//! starts, which stops at its next check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;

/// A request's cancellation flag: set when it times out or its client goes away.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Cancels when dropped (the request's future was dropped: timed out or disconnected).
pub(crate) struct CancelOnDrop(pub(crate) Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Bounds the time of every request (408, its work cancelled), routed or not. Runs outside the
/// router; the request's [`Cancel`] flag is created here and set when the request times out or
/// its future is dropped (the client went away).
pub(crate) async fn enforce(State(timeout): State<Duration>, mut req: Request, next: Next) -> Response {
    let cancel = Cancel::default();
    req.extensions_mut().insert(cancel.clone());
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            cancel.cancel();
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the request took longer than {} ms", timeout.as_millis()),
            )
            .into_response()
        }
    }
}
