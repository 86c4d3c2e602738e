//! Plugins: components in shared libraries, loaded at run time.
//!
//! - [`abi`]: the `#[repr(C)]` descriptor and vtables (`include/needle_plugin.h` in C);
//! - `checked`: the host's copies of vtables, every required function checked present at load;
//! - [`foreign`]: `Foreign*` adapters implementing the Rust traits over a vtable;
//! - [`loader`]: loading libraries (libloading) and registering them in a [`crate::Registry`];
//! - [`sdk`]: the other direction, for plugin authors in Rust: [`export_plugin!`](crate::export_plugin)
//!   turns a trait implementation into a descriptor and vtable.
//!
//! Inside the engine a plugin is just another implementation of a trait; a collection names it by
//! id and the file records its id and version, like a built-in.

pub mod abi;
mod checked;
pub mod foreign;
pub mod loader;
pub mod sdk;

pub use foreign::PluginHandle;
pub use loader::{load_into, load_library, loaded, register, PluginInfo};

#[cfg(test)]
mod checked_tests;
#[cfg(test)]
mod kept_query_tests;
#[cfg(test)]
mod tests;
