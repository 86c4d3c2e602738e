//! `needle compact`: rewrites every collection without its deleted vectors and checkpoints, so
//! the file shrinks.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::common::{human_bytes, open_write};
use super::error::CliResult;
use super::Global;

/// Arguments of `needle compact`.
#[derive(Debug, Clone, Args)]
pub struct CompactArgs {
    /// Database file (not open for writing elsewhere; a running server compacts with
    /// `POST /collections/{name}/compact`).
    pub db: PathBuf,
}

/// Runs `needle compact`.
pub fn run(a: CompactArgs, _g: Global) -> CliResult<()> {
    let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = size(&a.db);
    let t = Instant::now();
    let db = open_write(&a.db, false)?;
    db.compact()?;
    drop(db);
    let after = size(&a.db);
    println!(
        "compacted {} in {:.2} s: {} -> {}",
        a.db.display(),
        t.elapsed().as_secs_f64(),
        human_bytes(before),
        human_bytes(after)
    );
    Ok(())
}
