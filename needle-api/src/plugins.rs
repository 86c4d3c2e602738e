//! Loading plugins (components in shared libraries) into a [`Registry`].
//!
//! Plugin paths come from the program's own configuration — [`DatabaseConfig::with_plugin`]
//! (or `plugin_paths`), the C ABI's config string, and the `NEEDLE_PLUGIN_PATH` environment
//! variable — never from a network request. `NEEDLE_PLUGIN_PATH` is a `:`-separated list of files
//! or directories (every `*.so` / `*.dylib` / `*.dll` in a directory is loaded, in name order).
//!
//! Loading is idempotent: the same library loaded again, or into the same registry again, is a
//! no-op. A plugin whose id is already taken by another component is an error naming both.
//!
//! [`DatabaseConfig::with_plugin`]: crate::DatabaseConfig::with_plugin

use std::path::{Path, PathBuf};
use std::sync::Arc;

use needle_core::{Error, Registry, Result};

pub use needle_core::plugin::PluginInfo;

/// The environment variable naming plugins to load whenever a database opens.
pub const PLUGIN_PATH_ENV: &str = "NEEDLE_PLUGIN_PATH";

/// Loads the plugin library at `path` into `registry`.
pub fn load(registry: &Arc<Registry>, path: impl AsRef<Path>) -> Result<PluginInfo> {
    needle_core::plugin::load_into(registry, path.as_ref())
}

fn is_library(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "so" || e == "dylib" || e == "dll")
}

/// The library files `NEEDLE_PLUGIN_PATH` names (directories expanded), in order.
pub fn env_paths() -> Result<Vec<PathBuf>> {
    let Some(value) = std::env::var_os(PLUGIN_PATH_ENV) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for entry in std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()) {
        if entry.is_dir() {
            let mut libs: Vec<PathBuf> = std::fs::read_dir(&entry)
                .map_err(|e| Error::Plugin(format!("{PLUGIN_PATH_ENV}: {}: {e}", entry.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_library(p))
                .collect();
            libs.sort();
            out.extend(libs);
        } else {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Loads `paths` and then everything `NEEDLE_PLUGIN_PATH` names into `registry`.
pub fn load_configured(registry: &Arc<Registry>, paths: &[PathBuf]) -> Result<Vec<PluginInfo>> {
    let mut infos = Vec::new();
    for p in paths.iter().cloned().chain(env_paths()?) {
        infos.push(load(registry, &p)?);
    }
    Ok(infos)
}

/// Every plugin library loaded in this process.
pub fn loaded() -> Vec<PluginInfo> {
    needle_core::plugin::loaded()
}
