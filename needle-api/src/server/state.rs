//! What every handler shares: the database, limits, keys, and the group commit behind
//! `?wait=true` (for durability policies that do not sync every write).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, Semaphore};

use super::budget::BodyBytes;
use super::errors::{ApiError, ApiResult};
use super::keys::ApiKeys;
use super::limits::Limits;
use super::origin::CrossSite;
use crate::{Database, Durability};

/// Shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub db: Database,
    pub limits: Limits,
    pub keys: ApiKeys,
    pub in_flight: Arc<Semaphore>,
    /// The request bodies held at once (`max_total_body_bytes`).
    pub body_bytes: Arc<BodyBytes>,
    pub syncer: Syncer,
    pub shutting_down: AtomicBool,
    pub writes_sync: bool,
    pub cross_site: CrossSite,
    pub bound: IpAddr,
}

impl AppState {
    /// State over an open database; `durability` is the policy it was opened with. Cross-site
    /// checks assume a server bound to loopback with no extra hosts or origins (see
    /// [`with_cross_site`](Self::with_cross_site)).
    pub fn new(db: Database, limits: Limits, keys: ApiKeys, durability: Durability) -> AppState {
        Self::with_cross_site(db, limits, keys, durability, CrossSite::default(), IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// [`new`](Self::new) with the hosts and origins to answer, for a server bound to `bound`.
    pub fn with_cross_site(
        db: Database,
        limits: Limits,
        keys: ApiKeys,
        durability: Durability,
        cross_site: CrossSite,
        bound: IpAddr,
    ) -> AppState {
        let in_flight = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
        let body_bytes = BodyBytes::new(limits.max_total_body_bytes);
        AppState {
            inner: Arc::new(Inner {
                syncer: Syncer::new(db.clone()),
                db,
                limits,
                keys,
                in_flight,
                body_bytes,
                shutting_down: AtomicBool::new(false),
                // Immediate syncs before a write returns; Batched waits for the sync thread to
                // cover the write before it returns. Either way, answered means durable.
                writes_sync: matches!(durability, Durability::Immediate | Durability::Batched(_)),
                cross_site,
                bound,
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Requests holding a concurrency slot now (their bodies read, their work not finished).
    pub fn requests_in_flight(&self) -> usize {
        self.limits().max_concurrent_requests.max(1).saturating_sub(self.inner.in_flight.available_permits())
    }

    /// Bytes of request bodies held now (being read, or of requests at work), within
    /// [`Limits::max_total_body_bytes`].
    pub fn body_bytes_held(&self) -> usize {
        self.inner.body_bytes.held()
    }

    /// The keys.
    pub fn keys(&self) -> &ApiKeys {
        &self.inner.keys
    }

    /// The hosts and origins the server answers.
    pub fn cross_site(&self) -> &CrossSite {
        &self.inner.cross_site
    }

    /// The address the server is bound to.
    pub fn bound_ip(&self) -> IpAddr {
        self.inner.bound
    }

    /// Whether every write is durable before the library returns (`Immediate`, `Batched`).
    pub(crate) fn writes_sync(&self) -> bool {
        self.inner.writes_sync && self.inner.db.path().is_some()
    }

    /// The group commit.
    pub(crate) fn syncer(&self) -> &Syncer {
        &self.inner.syncer
    }

    /// Marks the server as draining (`/health/ready` then answers 503).
    pub(crate) fn set_shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Acquire)
    }
}

/// Group commit for `?wait=true`: a write takes a ticket once it is applied; waiting for the
/// ticket makes every write applied so far durable with one checkpoint, shared by all writers
/// waiting at the time (a writer that arrives while a checkpoint runs is covered by the next one).
pub(crate) struct Syncer {
    db: Database,
    applied: AtomicU64,
    durable: Mutex<u64>,
}

impl Syncer {
    fn new(db: Database) -> Syncer {
        Syncer { db, applied: AtomicU64::new(0), durable: Mutex::new(0) }
    }

    /// Called after a write has been applied in memory: the ticket to wait for.
    pub fn applied(&self) -> u64 {
        self.applied.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Returns once every write up to `ticket` is durable.
    pub async fn wait(&self, ticket: u64) -> ApiResult<()> {
        let mut durable = self.durable.lock().await;
        if *durable >= ticket {
            return Ok(());
        }
        // Everything applied before this load is in the checkpoint below: the checkpoint
        // takes the collections' locks after it.
        let target = self.applied.load(Ordering::Acquire);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.save()).await?.map_err(ApiError::from)?;
        *durable = target;
        Ok(())
    }
}
