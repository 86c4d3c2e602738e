//! `needle info`: what a database file holds, and how this build runs it.

use std::path::PathBuf;

use clap::Args;

use super::common::{human_bytes, open_read, thousands};
use super::error::CliResult;
use super::Global;

/// Arguments of `needle info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// Database file.
    pub db: PathBuf,
    /// Print JSON: {"path", "file_bytes", "simd_backend", "version", "collections": [...]}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `needle info`.
pub fn run(a: InfoArgs, _g: Global) -> CliResult<()> {
    let db = open_read(&a.db)?;
    let file_bytes = std::fs::metadata(&a.db).map(|m| m.len()).unwrap_or(0);
    let mut infos = Vec::new();
    for name in db.list_collections()? {
        infos.push(db.collection(&name)?.info()?);
    }
    let simd = crate::simd_backend();
    if a.json {
        let out = serde_json::json!({
            "path": a.db.display().to_string(),
            "file_bytes": file_bytes,
            "simd_backend": simd,
            "version": env!("CARGO_PKG_VERSION"),
            "collections": infos,
        });
        println!("{}", serde_json::to_string_pretty(&out).map_err(crate::Error::from)?);
        return Ok(());
    }
    println!("database     {} ({})", a.db.display(), human_bytes(file_bytes));
    println!("needle       {} (distance kernels: {simd})", env!("CARGO_PKG_VERSION"));
    println!("collections  {}", infos.len());
    for i in &infos {
        let c = &i.config;
        let k = &i.components;
        println!();
        println!("{}", c.name);
        println!("  vectors      {} ({} slots)", thousands(i.count), thousands(i.slots));
        println!("  dimensions   {}", c.dimensions);
        println!("  distance     {} ({} kernels)", k.distance, i.simd_backend);
        if k.index == "hnsw" {
            println!(
                "  index        hnsw (m={}, ef_construction={}, ef_search={}, seed={})",
                c.hnsw_m, c.ef_construction, c.ef_search, c.seed
            );
        } else {
            println!("  index        {} {}", k.index, k.index_params);
        }
        let active = if i.quantized { "searching on codes" } else { "not active" };
        let q = if k.quantizer == "none" { "none".to_string() } else { format!("{} ({active})", k.quantizer) };
        println!("  quantizer    {q}");
        println!("  memory       {}", human_bytes(i.memory_bytes as u64));
    }
    Ok(())
}
