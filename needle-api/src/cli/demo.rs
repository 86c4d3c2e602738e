//! `needle demo`: builds `vectors.needle` from the sample committed in `docs/sample/` (2,000
//! WordNet glosses embedded with all-MiniLM-L6-v2) and searches it by some of the glosses'
//! own vectors, printing the nearest glosses.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::common::{metadata_text, open_read, open_write, truncate, CollectionOptions};
use super::error::{invalid, CliResult};
use super::import::{self, ImportArgs};
use super::search::print_table;
use super::source::Format;
use super::Global;
use crate::{Error, SearchParams};

/// Sample rows searched when `--queries` is not given: a motor tool, a rope, a swan, a river.
const DEFAULT_QUERIES: [usize; 4] = [12, 5, 18, 383];

/// Arguments of `needle demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Database file (created when missing; only the demo collection in it is replaced).
    #[arg(long, default_value = "vectors.needle")]
    pub db: PathBuf,
    /// Collection to (re)create.
    #[arg(long, default_value = "wordnet")]
    pub collection: String,
    /// Directory holding wordnet-2k.fvecs and wordnet-2k.txt [default: the repository's docs/sample].
    #[arg(long, value_name = "DIR")]
    pub sample_dir: Option<PathBuf>,
    /// Neighbours shown per query.
    #[arg(short, long, default_value_t = 5)]
    pub k: usize,
    /// Sample rows whose vectors are the queries (comma-separated).
    #[arg(long, value_name = "ROWS", value_delimiter = ',')]
    pub queries: Vec<usize>,
}

fn sample_dir(given: Option<&Path>) -> CliResult<PathBuf> {
    let candidates: Vec<PathBuf> = match given {
        Some(d) => vec![d.to_path_buf()],
        None => vec![
            PathBuf::from("docs/sample"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("sample"),
        ],
    };
    for d in &candidates {
        if d.join("wordnet-2k.fvecs").is_file() && d.join("wordnet-2k.txt").is_file() {
            return Ok(d.clone());
        }
    }
    let tried: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    Err(invalid(format!(
        "sample not found (looked for wordnet-2k.fvecs and wordnet-2k.txt in {}); pass --sample-dir",
        tried.join(", ")
    )))
}

/// Runs `needle demo`.
pub fn run(a: DemoArgs, g: Global) -> CliResult<()> {
    let dir = sample_dir(a.sample_dir.as_deref())?;
    crate::validate_collection_name(&a.collection)?;
    if a.db.exists() {
        let db = open_write(&a.db, false)?;
        if db.collection(&a.collection).is_ok() {
            db.drop_collection(&a.collection)?;
            db.save()?;
            println!("replacing collection '{}' in {}", a.collection, a.db.display());
        }
    }
    let import = ImportArgs {
        db: a.db.clone(),
        collection: a.collection.clone(),
        file: dir.join("wordnet-2k.fvecs"),
        format: Some(Format::Fvecs),
        texts: Some(dir.join("wordnet-2k.txt")),
        id_prefix: String::new(),
        batch: 1000,
        limit: None,
        create: true,
        dim: None,
        options: CollectionOptions::default(),
    };
    import::run(import, g)?;

    let db = open_read(&a.db)?;
    let c = db.collection(&a.collection)?;
    let rows = if a.queries.is_empty() { DEFAULT_QUERIES.to_vec() } else { a.queries.clone() };
    for row in rows {
        let id = row.to_string();
        let rec = c.get(&id)?.ok_or_else(|| Error::VectorNotFound(format!("{id} (sample rows are 0..2000)")))?;
        let start = Instant::now();
        // One extra hit: the query's own vector comes back first, at distance 0.
        let mut hits = c.search_with(&rec.vector, &SearchParams::new(a.k + 1))?;
        let took = start.elapsed().as_secs_f64() * 1e3;
        hits.retain(|h| h.id != id);
        hits.truncate(a.k);
        println!();
        println!("query {id} ({took:.2} ms): {}", truncate(&metadata_text(rec.metadata.as_ref()), 110));
        print_table(&hits);
    }
    let db_path = a.db.display();
    println!();
    println!("try next (from the repository, `needle` is `cargo run --release -p needle --`):");
    println!("  needle search {db_path} {} --like 42 -k 5", a.collection);
    println!("  needle info {db_path}");
    Ok(())
}
