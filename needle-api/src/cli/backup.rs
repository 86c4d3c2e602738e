//! `needle backup`: a consistent copy of a database.
//!
//! When no other process has the database open for writing, the copy includes every
//! acknowledged write (the write-ahead log is replayed first). When one does (a running
//! `needle serve`), the file can only be read as of its last checkpoint: the command says so and
//! copies that; `POST /save` on the server first makes the copy current.

use std::path::PathBuf;

use clap::Args;

use super::common::{human_bytes, open_read};
use super::error::{invalid, io_at, CliResult};
use super::Global;
use crate::{Database, ErrorCode};

/// Arguments of `needle backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Database file.
    pub db: PathBuf,
    /// Where to write the copy (must not exist, unless --force).
    pub dest: PathBuf,
    /// Overwrite an existing destination.
    #[arg(long)]
    pub force: bool,
}

/// Runs `needle backup`.
pub fn run(a: BackupArgs, _g: Global) -> CliResult<()> {
    if !a.db.exists() {
        return Err(io_at(&a.db, std::io::Error::new(std::io::ErrorKind::NotFound, "no such database")));
    }
    if a.dest.exists() && !a.force {
        return Err(invalid(format!("{} exists (use --force to overwrite)", a.dest.display())));
    }
    if a.dest.canonicalize().ok().is_some_and(|d| a.db.canonicalize().ok().is_some_and(|s| s == d)) {
        return Err(invalid("the destination is the database itself"));
    }
    let db = match Database::open(&a.db) {
        Ok(db) => db,
        Err(e) if e.code() == ErrorCode::Locked => {
            eprintln!(
                "note: {} is open for writing in another process; copying its last checkpoint \
                 (writes since then are in its log; POST /save on the server first to include them)",
                a.db.display()
            );
            open_read(&a.db)?
        }
        Err(e) => return Err(e.into()),
    };
    db.backup_to(&a.dest)?;
    let bytes = std::fs::metadata(&a.dest).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({})", a.db.display(), a.dest.display(), human_bytes(bytes));
    Ok(())
}
