//! # Product quantization, as a Needle plugin
//!
//! Build this crate (`cargo build -p needle-plugin-pq`) and load `libneedle_plugin_pq.so`; a
//! collection then names the quantizer `pq`. The plugin is plain safe Rust implementing
//! `QuantizerFactory`; [`needle_core::export_plugin!`] provides the C ABI.
//!
//! A vector of `dim` floats is cut into `m` contiguous sub-vectors (sizes differ by at most one);
//! each sub-space gets 256 centroids learnt by k-means, and a code is one byte per sub-space.
//! Searching builds one table per query (`m × 256` partial distances) and scores a code with `m`
//! lookups. Every built-in metric decomposes over sub-spaces: squared L2, L1 and dot products add
//! up; cosine uses the dot table and per-centroid squared norms for `‖v̂‖`.
//!
//! Parameters (JSON): `{"m": sub-spaces}` (default `ceil(dim / 4)`, at most `dim` and 1024).
#![deny(unsafe_code)]

mod kmeans;
mod pq;

pub use pq::{PqFactory, ProductQuantizer, PQ_ID, PQ_VERSION};

needle_core::export_plugin!(quantizer: PqFactory, "product quantization: m sub-spaces x 256 centroids (Rust plugin)");
