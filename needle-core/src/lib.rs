//! # needle-core
//!
//! The engine under [Needle](https://docs.rs/needle), an embedded vector database. It defines the
//! five extension points — [`Index`], [`Distance`], [`Quantizer`], [`Cipher`], [`StorageBackend`] —
//! and ships a real default for each: HNSW, SIMD distances (AVX-512 / AVX2+FMA / NEON, scalar
//! fallback, chosen at run time), scalar 8-bit quantization, AES-256-GCM, and an mmap'd file.
//! Components are found by stable string ids in a [`Registry`], so a collection's configuration
//! and its file say which ones it uses.
//!
//! Most programs use the `needle` crate instead; this crate is for writing components.
//!
//! # Unsafe code
//!
//! The crate denies `unsafe_code`; each exception is allowed on one item or module, with the
//! reason beside it and a SAFETY note at each block:
//!
//! - `distance::simd` and `quant::sq8::kernels` (`avx2`, `avx512`, `batch`): SIMD kernels behind
//!   `#[target_feature]`, called only after run-time CPU detection, and prefetch intrinsics;
//! - `storage::mmap_file::map_file`: the read-only memory map of a database file;
//! - `arena::aligned` (`as_full`, `as_full_mut`), `arena::mapped::MappedSlice::as_slice`,
//!   `quant::sq8::query::as_i8`: reinterpreting checked, plain bytes as the values they hold;
//! - [`plugin`]: the C ABI (loading libraries, vtable adapters, the SDK's `extern "C"` functions)
//!   — still here until it moves to a crate of its own (issue 16).
//!
//! ```
//! use needle_core::Registry;
//! let reg = Registry::with_builtins();
//! let cosine = reg.distance("cosine").unwrap();
//! let d = cosine.distance(&[1.0, 0.0], &[0.0, 1.0]);
//! assert!((d - 1.0).abs() < 1e-6);
//! assert!(reg.distance("no-such").is_err());
//! ```

#![deny(unsafe_code)]

pub mod arena;
pub mod cipher;
pub mod components;
pub mod distance;
pub mod error;
pub mod filter;
pub mod format;
pub mod fvecs;
pub mod index;
#[allow(unsafe_code)] // the C ABI: loader, vtable adapters and the SDK (see the list above)
pub mod plugin;
pub mod quant;
pub mod registry;
pub mod storage;
pub mod text;
pub mod traits;

pub use components::Components;
pub use error::{ComponentKind, Error, ErrorCode, Result};
pub use registry::Registry;
pub use traits::{
    Candidate, Cipher, CipherFactory, Codes, Distance, Index, IndexFactory, IndexSearch, Metric, PreparedQuery,
    Quantizer, QuantizerFactory, Rows, SearchStats, StorageBackend, StorageFactory, StorageOptions, VectorSource,
};
