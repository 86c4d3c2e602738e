//! The REST handlers, one file per resource. Each handler validates its input against the
//! [`Limits`](super::Limits), runs the database work on tokio's blocking pool (searches and
//! inserts are CPU-bound and take collection locks; the async workers never wait on either) and
//! answers JSON. Which route reaches which handler, and with which role, is in
//! [`routes`](super::routes).

pub mod collections;
pub mod health;
pub mod hybrid;
pub mod maintenance;
pub mod observability;
pub mod search;
pub mod vectors;
pub mod wait;

use super::errors::ApiResult;
use crate::{Collection, Database};

/// Database work on the blocking pool, holding the request's concurrency slot until it returns.
pub(crate) use super::admit::{blocking, cancellable};

fn collection(db: &Database, name: &str) -> ApiResult<Collection> {
    crate::validate_collection_name(name)?;
    Ok(db.collection(name)?)
}
