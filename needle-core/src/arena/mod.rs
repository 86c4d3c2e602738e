//! Where a collection's vectors live in memory, and how an index scores them.
//!
//! [`VectorStore`] keeps every vector in one contiguous, 64-byte aligned arena (row stride rounded
//! up to 16 floats), the per-row norms a distance asks for, and the quantized codes. [`Scorer`]
//! joins a store with its distance and quantizer and is what an [`Index`](crate::Index) sees as its
//! [`VectorSource`](crate::VectorSource).
//!
//! Not to be confused with [`storage`](crate::storage): that is where a database's *bytes* go (the
//! [`StorageBackend`](crate::StorageBackend) built-ins, file or memory); this is the in-memory
//! arena of *vectors* an index scores, filled from those bytes (or borrowing them from a map).

mod aligned;
mod mapped;
mod scorer;
mod vectors;

pub use aligned::AlignedF32;
pub use mapped::{MappedSlice, Plain, Segment};
pub use scorer::Scorer;
pub use vectors::VectorStore;
