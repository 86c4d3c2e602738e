//! `needle create`: a new collection in a database file (created when missing).

use std::path::PathBuf;

use clap::Args;

use super::common::{describe, open_write, CollectionOptions};
use super::error::CliResult;
use super::Global;

/// Arguments of `needle create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Database file (created when missing).
    pub db: PathBuf,
    /// Name of the new collection: 1-128 characters of A-Z a-z 0-9 _ - .
    pub collection: String,
    /// Vector dimensions.
    #[arg(long, value_name = "N")]
    pub dim: usize,
    /// How the collection is built.
    #[command(flatten)]
    pub options: CollectionOptions,
}

/// Runs `needle create`.
pub fn run(a: CreateArgs, _g: Global) -> CliResult<()> {
    crate::validate_collection_name(&a.collection)?;
    let config = a.options.config(&a.collection, a.dim);
    // Check the config before creating a file for it.
    crate::Database::in_memory().create_collection_with_config(config.clone())?;
    let db = open_write(&a.db, true)?;
    db.create_collection_with_config(config.clone())?;
    db.save()?;
    println!("created collection '{}' in {}: {}", a.collection, a.db.display(), describe(&config));
    Ok(())
}
