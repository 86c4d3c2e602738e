//! `needle collections`: the collection names in a database, with counts.

use std::path::PathBuf;

use clap::Args;

use super::common::{open_read, thousands};
use super::error::CliResult;
use super::Global;

/// Arguments of `needle collections`.
#[derive(Debug, Clone, Args)]
pub struct CollectionsArgs {
    /// Database file.
    pub db: PathBuf,
    /// Print JSON: [{"name", "count", "dimensions"}].
    #[arg(long)]
    pub json: bool,
}

/// Runs `needle collections`.
pub fn run(a: CollectionsArgs, _g: Global) -> CliResult<()> {
    let db = open_read(&a.db)?;
    let mut rows = Vec::new();
    for name in db.list_collections()? {
        let c = db.collection(&name)?;
        rows.push((name, c.count()?, c.dimensions()));
    }
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(name, count, dim)| serde_json::json!({"name": name, "count": count, "dimensions": dim}))
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max("name".len());
    for (name, count, dim) in &rows {
        println!("{name:<width$}  {:>11} vectors  {dim:>5} dims", thousands(*count));
    }
    if rows.is_empty() {
        eprintln!("{}: no collections", a.db.display());
    }
    Ok(())
}
