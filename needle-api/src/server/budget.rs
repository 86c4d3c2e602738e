//! One byte budget for the request bodies the server holds at once, across every connection
//! (`Limits::max_total_body_bytes`). Each body is bounded by `max_body_bytes`, but connections ×
//! that limit can exceed memory: a body's buffer is reserved here before it is allocated, as its
//! bytes arrive (never on what a client merely declares), and given back when the request is done
//! or fails — a [`Reserved`] returns its bytes when dropped, so every path out (an error, a
//! client gone, a timeout dropping the request's future, the end of its work) releases them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The shared budget: bytes reserved now, and the most that may be.
#[derive(Debug)]
pub(crate) struct BodyBytes {
    held: AtomicUsize,
    limit: usize,
}

impl BodyBytes {
    pub fn new(limit: usize) -> Arc<BodyBytes> {
        Arc::new(BodyBytes { held: AtomicUsize::new(0), limit })
    }

    /// Bytes reserved now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The most that may be reserved at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// An empty reservation, to grow as a body arrives.
    pub fn reserve(self: &Arc<Self>) -> Reserved {
        Reserved { pool: self.clone(), bytes: 0 }
    }
}

/// Bytes reserved for one body; given back to the budget when dropped.
#[derive(Debug)]
pub(crate) struct Reserved {
    pool: Arc<BodyBytes>,
    bytes: usize,
}

impl Reserved {
    /// Grows the reservation to `total` bytes. False, and nothing reserved, when the budget
    /// cannot cover it.
    #[must_use]
    pub fn grow_to(&mut self, total: usize) -> bool {
        let extra = total.saturating_sub(self.bytes);
        if extra == 0 {
            return true;
        }
        let limit = self.pool.limit;
        let taken = self
            .pool
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| h.checked_add(extra).filter(|&n| n <= limit));
        if taken.is_ok() {
            self.bytes = total;
        }
        taken.is_ok()
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.pool.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_return_when_dropped() {
        let pool = BodyBytes::new(100);
        let mut a = pool.reserve();
        let mut b = pool.reserve();
        assert!(a.grow_to(60) && a.grow_to(40), "shrinking asks for nothing");
        assert!(!b.grow_to(41), "60 + 41 > 100");
        assert_eq!(pool.held(), 60, "a refusal reserves nothing");
        assert!(b.grow_to(40));
        assert_eq!(pool.held(), 100);
        drop(a);
        assert_eq!(pool.held(), 40);
        assert!(!b.grow_to(usize::MAX), "no overflow");
        drop(b);
        assert_eq!(pool.held(), 0);
    }
}
