//! Built-in indexes: `hnsw` (approximate, the default) and `flat` (exact).
//!
//! An index holds structure only and names vectors by slot; distances come from the
//! [`VectorSource`](crate::VectorSource) the collection passes in, a batch of slots per call, so the
//! same index serves full-precision and quantized vectors alike.
//!
//! - [`hnsw`]: Hierarchical Navigable Small World graphs, the default: sub-linear search with
//!   recall tunable per query through `ef`.
//! - [`flat`]: scores every live slot; exact, the baseline and ground truth, and fine for small
//!   collections.
//! - [`topk`] and [`bitset`]: the pieces both share (ranking by distance, slot sets).

use std::sync::Arc;

use crate::{Error, IndexFactory, Result, VectorSource};

pub mod bitset;
pub mod flat;
pub mod hnsw;
pub mod topk;

#[cfg(test)]
pub(crate) mod testing;

pub use flat::{Flat, FlatFactory};
pub use hnsw::{Hnsw, HnswFactory};

/// The built-in index factories.
pub fn builtins() -> Vec<Arc<dyn IndexFactory>> {
    vec![Arc::new(HnswFactory), Arc::new(FlatFactory)]
}

/// Errors (instead of letting a distance kernel index out of bounds) when the index names slots
/// the source does not hold — possible only with a loaded index that does not match its vectors.
pub(crate) fn check_covers(slots: usize, source: &dyn VectorSource) -> Result<()> {
    if slots > source.slot_count() {
        return Err(Error::corrupted(
            "index",
            0,
            format!("the index refers to slot {} but the vector source holds {}", slots - 1, source.slot_count()),
        ));
    }
    Ok(())
}
