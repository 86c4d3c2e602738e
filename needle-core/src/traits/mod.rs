//! The five extension points of the engine, one file each.
//!
//! Every trait is object-safe and `Send + Sync + Debug + 'static`, so a collection holds its
//! components as `Arc<dyn Trait>` and a plugin is just another implementation. Calls through `dyn`
//! always cover a batch (one query against many stored vectors, one byte range), never a single
//! pair, so the indirection costs little next to the work each call does.

pub mod cipher;
pub mod distance;
pub mod index;
pub mod quantizer;
pub mod storage;

pub use cipher::{Cipher, CipherFactory};
pub use distance::{Distance, Metric, Rows};
pub use index::{Candidate, Index, IndexFactory, IndexSearch, PreparedQuery, QuerySlot, SearchStats, VectorSource};
pub use quantizer::{Codes, Quantizer, QuantizerFactory};
pub use storage::{StorageBackend, StorageFactory, StorageOptions};
