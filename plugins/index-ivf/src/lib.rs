//! # An inverted-file (IVF) index, as a Needle plugin
//!
//! Build this crate and load `libneedle_plugin_ivf.so`; a collection then names the index `ivf`.
//! Plain safe Rust implementing `IndexFactory`; [`needle_core::export_plugin!`] provides the C ABI.
//!
//! Vectors are grouped into `nlist` lists, each headed by a *stored vector* (a slot) rather than a
//! computed centroid: an index only ever sees distances through its `VectorSource`, and heads that
//! are slots let it route queries with the collection's own distance — any built-in or plugin
//! metric, on quantized codes when the collection has them. Below `train_at` vectors there is one
//! list (exact search); lists are rebuilt, with `nlist ≈ √n`, whenever the live count doubles.
//!
//! A search scores the query against every head, then scans lists nearest-first until it has
//! looked at `max(ef, k) × probe_factor` vectors and holds `k` matching candidates (so it returns
//! `min(k, live matching)` results).
//!
//! Parameters (JSON, all optional): `nlist` (0 = `√n`), `probe_factor` (default 16),
//! `train_at` (default 256).
#![deny(unsafe_code)]

mod ivf;

pub use ivf::{IvfFactory, IvfIndex, IVF_ID, IVF_VERSION};

needle_core::export_plugin!(index: IvfFactory, "inverted-file index with stored-vector list heads (Rust plugin)");
