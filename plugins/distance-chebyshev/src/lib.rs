//! The Chebyshev distance plugin, written in C (`chebyshev.c`, against `include/needle_plugin.h`).
//!
//! Building this crate compiles the plugin into a shared library; [`LIBRARY`] is its path. The
//! plugin registers the distance id `chebyshev` (`max |qᵢ − vᵢ|`).
#![forbid(unsafe_code)]

/// Path of the compiled plugin library.
pub const LIBRARY: &str = env!("NEEDLE_CHEBYSHEV_SO");
