//! `needle export`: a collection as JSON lines (`{"id", "vector", "metadata"}` per line), the
//! format `needle import` reads back.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;

use super::common::{open_read, progress};
use super::error::{io_at, CliResult, Context};
use super::Global;

/// Arguments of `needle export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Database file.
    pub db: PathBuf,
    /// Collection to export.
    pub collection: String,
    /// Output file [default: standard output].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `needle export`.
pub fn run(a: ExportArgs, g: Global) -> CliResult<()> {
    let db = open_read(&a.db)?;
    let c = db.collection(&a.collection)?;
    let ids = c.ids()?;
    let mut out: Box<dyn Write> = match &a.output {
        // Plaintext vectors and metadata: owner-only like the database files (an existing file
        // keeps the mode it has). Never truncates a database in use, this one included (`locked`).
        Some(p) => {
            let file = crate::locks::exclusive_for_rewrite(p).map_err(|e| match e {
                crate::Error::Io(e) => io_at(p, e),
                other => other.into(),
            })?;
            Box::new(BufWriter::new(file))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let pb =
        progress(if a.output.is_some() { g } else { super::Global { quiet: true } }, ids.len() as u64, "export", false);
    let mut n = 0usize;
    for id in &ids {
        // A vector deleted meanwhile is skipped (the database is opened read-only, so none is).
        let Some(rec) = c.get(id)? else { continue };
        let line = serde_json::json!({"id": rec.id, "vector": rec.vector, "metadata": rec.metadata});
        writeln!(out, "{line}").context(|| "writing the export".to_string())?;
        n += 1;
        pb.inc(1);
    }
    out.flush().context(|| "writing the export".to_string())?;
    pb.finish_and_clear();
    if let Some(p) = &a.output {
        eprintln!("exported {n} vectors from '{}' to {}", a.collection, p.display());
    }
    Ok(())
}
