//! Admission of a routed request, and the work it starts.
//!
//! A request's body is read *before* it takes one of the `max_concurrent_requests` slots, so a
//! client that sends its body slowly holds a connection (bounded per peer and in total, see
//! [`super::conn`]) but never a slot. The body must arrive at a minimum rate: it may take
//! `body_timeout`, plus one second for every `min_body_rate` bytes received; a body that falls
//! behind gets 408 and its connection is closed. All bodies held at once share one byte budget
//! ([`super::budget`]): a body that would pass it gets 503 `overloaded`.
//!
//! The slot is then held by the request *and* by the blocking work it starts ([`blocking`],
//! [`cancellable`]): a request that times out (408) or whose client goes away sets its
//! [`Cancel`] flag, searches stop at their next check (each query of a batch, every block of an
//! exact scan), and the slot is released only when the work has really stopped. The body's
//! bytes stay reserved in the budget just as long.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;

use super::body::{accepted_media_type, media_type};
use super::budget::{BodyBytes, Reserved};
use super::deadline::Cancel;
use super::errors::{ApiError, ApiResult};
use super::state::AppState;

/// What the work of one request carries: its cancellation flag and its concurrency slot.
#[derive(Clone, Default)]
pub(crate) struct Job {
    cancel: Cancel,
    slot: Option<Arc<Slot>>,
}

/// A concurrency slot and the budget bytes of the request's body, released together.
struct Slot {
    _permit: OwnedSemaphorePermit,
    _body: Option<Reserved>,
}

tokio::task_local! {
    static JOB: Job;
}

fn current_job() -> Job {
    JOB.try_with(Job::clone).unwrap_or_default()
}

/// Runs database work on the blocking pool, holding the request's slot until it returns.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::Result<T> + Send + 'static) -> ApiResult<T> {
    cancellable(move |_| f()).await
}

/// Like [`blocking`], for work that checks the request's cancellation flag.
pub(crate) async fn cancellable<T: Send + 'static>(
    f: impl FnOnce(&AtomicBool) -> crate::Result<T> + Send + 'static,
) -> ApiResult<T> {
    let job = current_job();
    Ok(tokio::task::spawn_blocking(move || {
        let Job { cancel, slot } = job;
        let out = f(cancel.flag());
        drop(slot);
        out
    })
    .await??)
}

/// Like [`cancellable`], for work that is short by construction (a graph search with a bounded
/// beam, well under a millisecond) asked for while no other request is in flight: it runs right
/// here on the async worker. Sending it to the blocking pool and its result back costs two thread
/// wake-ups, more than the search itself on a busy machine (`needle-api/bench/REPORT.md`);
/// `block_in_place` saves the wait but hands the worker to a new thread each time. The other
/// worker threads keep accepting meanwhile, and with other requests in flight the caller uses
/// the pool. Not cancellable: it is over before a timeout could matter.
pub(crate) fn short<T>(f: impl FnOnce(&AtomicBool) -> crate::Result<T>) -> ApiResult<T> {
    let Job { cancel, slot } = current_job();
    let out = f(cancel.flag());
    drop(slot);
    Ok(out?)
}

/// How a body may arrive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyBudget {
    pub limit: usize,
    pub timeout: Duration,
    pub min_rate: u64,
}

/// Reads a whole body within `budget`: 413 past the size limit, 408 when it falls behind, 503
/// when the bodies held at once would pass `pool`'s limit. The buffer is reserved in `pool`
/// before it is allocated; the reservation comes back with the bytes.
pub(crate) async fn read_body(
    body: Body,
    declared: Option<u64>,
    budget: BodyBudget,
    pool: &Arc<BodyBytes>,
) -> ApiResult<(Bytes, Reserved)> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds the limit of {} bytes", budget.limit),
        )
    };
    if declared.is_some_and(|n| n > budget.limit as u64) {
        return Err(too_large());
    }
    let started = Instant::now();
    // Never allocate what a client merely declares: a slow client could make every connection
    // hold a full-size buffer. The buffer grows geometrically with what arrives, up to the
    // declared length.
    let most = declared.map_or(budget.limit, |d| d as usize).min(budget.limit);
    let mut reserved = pool.reserve();
    let mut buf: Vec<u8> = Vec::new();
    let mut body = body;
    loop {
        let allowed = budget.timeout + Duration::from_secs_f64(buf.len() as f64 / budget.min_rate.max(1) as f64);
        let frame = match tokio::time::timeout_at((started + allowed).into(), body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_too_slow",
                    format!(
                        "the request body arrived too slowly ({} bytes in {} ms; allowed: {} s plus 1 s per {} bytes)",
                        buf.len(),
                        started.elapsed().as_millis(),
                        budget.timeout.as_secs_f64(),
                        budget.min_rate
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(ApiError::invalid(format!("could not read the request body: {e}"))),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            let needed = buf.len() + data.len();
            if needed > budget.limit {
                return Err(too_large());
            }
            if needed > buf.capacity() {
                let capacity = buf.capacity().saturating_mul(2).min(most).max(needed);
                if !reserved.grow_to(capacity) {
                    return Err(bodies_over_budget(pool));
                }
                buf.reserve_exact(capacity - buf.len());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok((Bytes::from(buf), reserved))
}

/// 503 `overloaded`: the bodies held at once would pass the shared budget.
fn bodies_over_budget(pool: &BodyBytes) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        format!(
            "the request bodies this server holds at once would pass its limit of {} bytes ({} held); retry shortly",
            pool.limit(),
            pool.held()
        ),
    )
}

/// The route layer: body first (415 / 413 / 408 / 503 past the bodies budget), then a slot (503), then the handler, with the
/// request's job in scope for [`blocking`] and [`cancellable`].
pub(crate) async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let may_have_body = !http_body::Body::is_end_stream(&body) && declared != Some(0);
    let (body, reserved) = if may_have_body {
        match media_type(&parts.headers) {
            Some(m) if accepted_media_type(&m) => {}
            Some(m) => {
                return close(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected Content-Type: application/json (or {}), got {m:?}", super::binary::MEDIA_TYPE),
                ))
            }
            None => {
                return close(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "a request body needs Content-Type: application/json",
                ))
            }
        }
        let limits = state.limits();
        let budget =
            BodyBudget { limit: limits.max_body_bytes, timeout: limits.body_timeout, min_rate: limits.min_body_rate };
        match read_body(body, declared, budget, &state.inner.body_bytes).await {
            Ok((bytes, reserved)) => (Body::from(bytes), Some(reserved)),
            Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => return retry_later(close(e)),
            Err(e) => return close(e),
        }
    } else {
        (body, None)
    };
    let Ok(permit) = state.inner.in_flight.clone().try_acquire_owned() else {
        return retry_later(
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                format!("more than {} requests at once; retry shortly", state.limits().max_concurrent_requests),
            )
            .into_response(),
        );
    };
    let cancel = parts.extensions.get::<Cancel>().cloned().unwrap_or_default();
    let job = Job { cancel, slot: Some(Arc::new(Slot { _permit: permit, _body: reserved })) };
    JOB.scope(job, next.run(Request::from_parts(parts, body))).await
}

/// A 503 with `Retry-After: 1`.
fn retry_later(mut r: Response) -> Response {
    r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    r
}

/// An error after which the connection should not be reused (its body may be half read).
fn close(e: ApiError) -> Response {
    let mut r = e.into_response();
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}
