//! `needle import`: bulk-load vectors from `.fvecs` or JSON lines.
//!
//! Two passes over the input: the first checks every record (syntax, id, dimension, finite
//! values, zero vectors under cosine, duplicate ids) and reports the first bad one by line or
//! record number before anything is written; the second inserts in batches through
//! [`Collection::insert_batch`](crate::Collection::insert_batch) and saves.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::common::{describe, open_write, progress, thousands, CollectionOptions};
use super::error::{invalid, CliResult, Context};
use super::source::{Format, Item, Source};
use super::Global;
use crate::{Collection, CollectionConfig, Database, Error, ErrorCode, Registry};

/// Arguments of `needle import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Database file.
    pub db: PathBuf,
    /// Collection to import into.
    pub collection: String,
    /// Input file: .fvecs (ids are row numbers) or .jsonl ({"id", "vector", "metadata"} per line).
    pub file: PathBuf,
    /// Input format [default: from the file extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Text file with one line per vector; line i becomes metadata {"text": ...} of row i (fvecs).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// Prefix added to every id (fvecs ids become <prefix><row>).
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub id_prefix: String,
    /// Vectors per insert batch.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = positive)]
    pub batch: usize,
    /// Import only the first N records.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Create the database file and the collection when missing.
    #[arg(long)]
    pub create: bool,
    /// Dimensions of a collection made by --create [default: the input's].
    #[arg(long, value_name = "N")]
    pub dim: Option<usize>,
    /// Options for a collection made by --create.
    #[command(flatten)]
    pub options: CollectionOptions,
}

fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a whole number of at least 1, got '{s}'")),
    }
}

/// Runs `needle import`.
pub fn run(a: ImportArgs, g: Global) -> CliResult<()> {
    if !a.create && (a.dim.is_some() || a.options.any()) {
        return Err(invalid("--dim and the collection options apply only with --create"));
    }
    crate::validate_collection_name(&a.collection)?;
    let mut src = Source::open(&a.file, a.format, a.texts.as_deref(), &a.id_prefix, a.limit)?;

    // Open the file only when it exists, so a failed check leaves no new file behind.
    let db = if a.db.exists() || !a.create { Some(open_write(&a.db, false)?) } else { None };
    let existing = match db.as_ref().map(|db| db.collection(&a.collection)) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) if e.code() == ErrorCode::CollectionNotFound && a.create => None,
        Some(Err(e)) => return Err(e.into()),
        None => None,
    };
    let config = match &existing {
        Some(c) => {
            a.options.check_matches(c.config())?;
            if let Some(d) = a.dim.filter(|&d| d != c.dimensions()) {
                return Err(Error::DimensionMismatch { expected: c.dimensions(), got: d })
                    .context(|| format!("--dim for existing collection '{}'", a.collection));
            }
            c.config().clone()
        }
        None => {
            let dim = match a.dim {
                Some(d) => d,
                None => src.dimension()?,
            };
            let config = a.options.config(&a.collection, dim);
            // Validates ids and parameters without touching the file.
            Database::in_memory().create_collection_with_config(config.clone())?;
            config
        }
    };

    let checked = check_all(&mut src, &config, existing.as_ref(), g)?;

    let db = match db {
        Some(db) => db,
        None => open_write(&a.db, true)?,
    };
    let created = existing.is_none();
    let c = match existing {
        Some(c) => c,
        None => db.create_collection_with_config(config.clone())?,
    };
    src.rewind()?;
    let start = Instant::now();
    let inserted = insert_all(&mut src, &c, a.batch, g)?;
    let seconds = start.elapsed().as_secs_f64();
    db.save()?;
    debug_assert_eq!(inserted, checked);
    println!(
        "imported {} vectors into '{}'{} in {:.2} s ({:.0} vectors/s); it now holds {}",
        thousands(inserted),
        a.collection,
        if created { format!(" (created: {})", describe(&config)) } else { String::new() },
        seconds,
        inserted as f64 / seconds.max(1e-9),
        thousands(c.count()?),
    );
    Ok(())
}

/// Pass 1: checks every record; returns how many there are.
fn check_all(
    src: &mut Source,
    config: &CollectionConfig,
    existing: Option<&Collection>,
    g: Global,
) -> CliResult<usize> {
    let rejects_zero = Registry::global().distance(config.distance.id())?.needs_norms();
    let (len, bytes) = src.progress_len();
    let pb = progress(g, len, "checking", bytes);
    let mut seen = HashSet::new();
    let mut n = 0;
    while let Some(item) = src.next_item() {
        let item = item?;
        check_item(&item, config, rejects_zero).context(|| item.at.clone())?;
        if let Some(c) = existing {
            if c.get(&item.id)?.is_some() {
                return Err(Error::DuplicateId(format!("{} (already in '{}')", item.id, c.name())))
                    .context(|| item.at.clone());
            }
        }
        if !seen.insert(item.id.clone()) {
            return Err(Error::DuplicateId(format!("{} (appears twice in the input)", item.id))).context(|| item.at);
        }
        n += 1;
        if n % 1024 == 0 {
            pb.set_position(src.progress_pos());
        }
    }
    pb.finish_and_clear();
    Ok(n)
}

/// The checks `Collection::insert` makes, done up front so errors can name the line.
fn check_item(item: &Item, config: &CollectionConfig, rejects_zero: bool) -> crate::Result<()> {
    crate::validate::id(&item.id)?;
    crate::validate::vector(&item.vector, config.dimensions, rejects_zero, config.distance.id())
}

/// Pass 2: inserts in batches.
fn insert_all(src: &mut Source, c: &Collection, batch: usize, g: Global) -> CliResult<usize> {
    let (len, bytes) = src.progress_len();
    let pb = progress(g, len, "importing", bytes);
    let mut buf = Vec::with_capacity(batch);
    let mut first_at = String::new();
    let mut inserted = 0;
    let mut flush = |buf: &mut Vec<_>, first_at: &str, pos: u64| -> CliResult<()> {
        c.insert_batch(buf)
            .context(|| format!("batch starting at {first_at} ({inserted} vectors before it were kept)"))?;
        inserted += buf.len();
        buf.clear();
        pb.set_position(pos);
        Ok(())
    };
    while let Some(item) = src.next_item() {
        let item = item?;
        if buf.is_empty() {
            first_at = item.at;
        }
        buf.push((item.id, item.vector, item.metadata));
        if buf.len() == batch {
            flush(&mut buf, &first_at, src.progress_pos())?;
        }
    }
    if !buf.is_empty() {
        flush(&mut buf, &first_at, src.progress_pos())?;
    }
    pb.finish_and_clear();
    Ok(inserted)
}
