//! Request and connection limits with safe defaults, and the checks of a request's parameters
//! against them (sizes are checked where the body is read, the time a request may take by
//! [`super::deadline`], the concurrency cap once the body is in, by [`super::admit`]).

use std::time::Duration;

use super::errors::{batch_too_large, ApiError};

/// Limits on what one request, one connection and one client may ask for. Every field has a
/// safe default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (default 32 MiB).
    pub max_body_bytes: usize,
    /// Request-body bytes held at once across all connections, bodies being read and bodies of
    /// requests at work alike (default 256 MiB, eight bodies of the largest size; at least
    /// `max_body_bytes`). Buffers count as they are allocated, as bytes arrive; a body that would
    /// pass the limit gets 503 `overloaded` (`Retry-After`) and its connection is closed.
    pub max_total_body_bytes: usize,
    /// Most vectors in one batch insert, or queries in one batch search (default 1,000). Counted
    /// while the body is parsed: a longer list stops the parse.
    pub max_batch: usize,
    /// Most hits one batch search may return, queries × k (default 100,000): a batch asking for
    /// more gets 413 `batch_too_large` before it runs.
    pub max_batch_results: usize,
    /// Largest `k` of a search (default 1,000).
    pub max_k: usize,
    /// Most dimensions of a new collection (default 4,096).
    pub max_dimensions: usize,
    /// Largest `ef` of a search (default 4,096).
    pub max_ef: usize,
    /// A request that takes longer (including reading its body) gets 408 and its work is
    /// cancelled (default 30 s).
    pub request_timeout: Duration,
    /// Requests handled at once (their bodies read; default 256); more get 503 `overloaded`.
    pub max_concurrent_requests: usize,
    /// A connection that has not sent its first request's headers within this time, or takes
    /// longer to send any request's headers, is closed (default 10 s).
    pub header_timeout: Duration,
    /// A connection with no request in flight that moves no byte for this long is closed
    /// (HTTP/1 keep-alive and HTTP/2 alike; default 60 s).
    pub idle_timeout: Duration,
    /// A request body may take this long, plus one second per `min_body_rate` bytes received;
    /// one that falls behind gets 408 `body_too_slow` and its connection is closed (default 10 s).
    pub body_timeout: Duration,
    /// See `body_timeout`: the slowest sustained body rate allowed, bytes per second (default
    /// 16 KiB/s).
    pub min_body_rate: u64,
    /// Open connections at most (default 4,096, and never more than the process's descriptor
    /// limit allows); more are accepted and closed at once (plain HTTP: 503 first).
    pub max_connections: usize,
    /// Open connections from one IP address at most (default 256; 0: no limit). Behind a proxy
    /// every client shares its address: raise it or set 0 there.
    pub max_connections_per_peer: usize,
    /// Concurrent HTTP/2 streams per connection (default 64).
    pub max_streams_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 << 20,
            max_total_body_bytes: 256 << 20,
            max_batch: 1000,
            max_batch_results: 100_000,
            max_k: 1000,
            max_dimensions: 4096,
            max_ef: 4096,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            min_body_rate: 16 * 1024,
            max_connections: 4096,
            max_connections_per_peer: 256,
            max_streams_per_connection: 64,
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
            return Err(batch_too_large(format!(
                "the batch has {n} {what}; this server's limit is {}",
                self.max_batch
            )));
        }
        Ok(())
    }

    /// Checks the hits a batch search would return (queries × k).
    pub fn check_batch_results(&self, queries: usize, k: usize) -> Result<(), ApiError> {
        let hits = queries.saturating_mul(k);
        if hits > self.max_batch_results {
            return Err(batch_too_large(format!(
                "{queries} queries x k = {k} asks for {hits} results; this server returns at most {} per batch \
                 (split the batch or lower k)",
                self.max_batch_results
            )));
        }
        Ok(())
    }

    /// Checks that the limits fit together: a body of the largest size must fit the budget of
    /// all bodies.
    pub fn check(&self) -> Result<(), String> {
        if self.max_total_body_bytes < self.max_body_bytes {
            return Err(format!(
                "max_total_body_bytes ({}) is less than max_body_bytes ({}): no body of the largest size could be read",
                self.max_total_body_bytes, self.max_body_bytes
            ));
        }
        Ok(())
    }

    /// `max_connections` lowered, if need be, to what the descriptor limit leaves room for
    /// (the database, the log and the runtime keep some).
    pub fn effective_max_connections(&self) -> usize {
        match descriptor_limit() {
            Some(fds) => self.max_connections.min(fds.saturating_sub(64).max(16) as usize),
            None => self.max_connections,
        }
    }
}

/// The soft limit on open descriptors (Linux: from `/proc/self/limits`).
fn descriptor_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
