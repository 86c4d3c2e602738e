//! `?wait=true` on writes: the query parameter and the wait for durability after a write.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::server::errors::{ApiError, ApiResult};
use crate::server::state::AppState;

/// `?wait=true`: answer only once the write is durable.
#[derive(Debug, Default, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParam {
    /// Return only once the write is durable (on disk). Under the `immediate` (default) and
    /// `batched:MS` durability policies every write is durable (its log record synced) before it
    /// is answered anyway; under `on-save` a write without `wait` is applied and searchable when
    /// answered and becomes durable with the next checkpoint, which `wait` forces.
    #[serde(default)]
    pub wait: bool,
}

impl FromRequestParts<AppState> for WaitParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let mut wait = false;
        for pair in parts.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
            match k {
                "wait" => {
                    wait = match v {
                        "true" | "1" | "" => true,
                        "false" | "0" => false,
                        _ => return Err(ApiError::invalid(format!("wait must be true or false, not {v:?}"))),
                    }
                }
                _ => return Err(ApiError::invalid(format!("unknown query parameter {k:?} (only `wait`)"))),
            }
        }
        Ok(WaitParam { wait })
    }
}

/// After a write: with `?wait=true`, returns once it is durable. Under the `Immediate` and
/// `Batched` policies the library has synced the write-ahead log (itself or through the sync
/// thread) before the write returned, so there is nothing to wait for — in particular no
/// checkpoint; under `OnSave` a checkpoint (shared by concurrent waiters) makes it durable.
/// Returns whether the write is known to be durable.
pub(super) async fn made_durable(state: &AppState, wait: WaitParam) -> ApiResult<bool> {
    let ticket = state.syncer().applied();
    if state.writes_sync() {
        return Ok(true);
    }
    if wait.wait {
        state.syncer().wait(ticket).await?;
    }
    Ok(wait.wait)
}
