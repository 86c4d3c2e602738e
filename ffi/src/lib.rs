//! # libneedle — Needle's C ABI
//!
//! This crate builds `libneedle.so`; `include/needle.h` is generated from it by cbindgen (see
//! `tests/header.rs`). Conventions, which the header repeats per function:
//!
//! - Functions are named `needle_<noun>_<verb>`. Handles (`needle_db`, `needle_collection`) are
//!   opaque; each constructor has a destroyer that accepts NULL.
//! - Every fallible function returns a `needle_status` (0 = `NEEDLE_OK`); results come back
//!   through out-parameters. Its last argument, `needle_error *err` (may be NULL), receives the
//!   call's code and message; `needle_db_errcode`/`needle_db_errmsg` report the latest call on a
//!   handle; `needle_last_error_message()` the latest failure on the thread (see `error.rs`).
//! - Results are Needle-owned blocks freed by the matching `needle_*_free`.
//! - No panic crosses the boundary: each export runs its body inside `ffi_guard!`.
//! - All pointer casts live in `handle.rs`.
#![allow(non_camel_case_types)]

mod collection;
mod config;
mod db;
mod error;
mod error_api;
mod handle;
mod hybrid;
mod info;
mod maintenance;
mod panic;
mod results;
mod search_into;
mod status;

pub use collection::*;
pub use db::*;
pub use error::needle_error;
pub use error_api::{needle_error_clear, needle_last_error_message};
pub use hybrid::*;
pub use info::*;
pub use maintenance::*;
pub use results::*;
pub use search_into::*;
pub use status::*;
