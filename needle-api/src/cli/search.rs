//! `needle search`: the k nearest vectors to a query given inline, by a stored id, or as a row
//! of an `.fvecs` file.

use std::path::PathBuf;
use std::time::Instant;

use clap::{ArgGroup, Args};

use super::common::{metadata_text, open_read, truncate};
use super::error::{invalid, CliResult, Context};
use super::source::FvecsFile;
use super::Global;
use crate::{Collection, Error, Filter, SearchParams, SearchProfile, SearchResult};

/// Arguments of `needle search`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("query").required(true).args(["vector", "vector_json", "like", "query_fvecs"])))]
pub struct SearchArgs {
    /// Database file.
    pub db: PathBuf,
    /// Collection to search.
    pub collection: String,
    /// Query vector as comma- or space-separated numbers: "0.1,0.2,...".
    #[arg(long, value_name = "NUMBERS", allow_hyphen_values = true)]
    pub vector: Option<String>,
    /// Query vector as a JSON array: '[0.1, 0.2, ...]'.
    #[arg(long, value_name = "JSON")]
    pub vector_json: Option<String>,
    /// Search with the vector stored under this id (the id itself comes first, at distance 0).
    #[arg(long, value_name = "ID")]
    pub like: Option<String>,
    /// Take the query from an .fvecs file (with --row).
    #[arg(long, value_name = "FILE", requires = "row")]
    pub query_fvecs: Option<PathBuf>,
    /// Row of --query-fvecs to use (0-based).
    #[arg(long, value_name = "N", requires = "query_fvecs")]
    pub row: Option<usize>,
    /// Number of results.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// HNSW ef_search for this query [default: the collection's].
    #[arg(long, value_name = "N")]
    pub ef: Option<usize>,
    /// Only vectors whose metadata matches this filter, e.g. '{"year": {"$gte": 2000}}'
    /// ($eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not; dotted paths).
    #[arg(long, value_name = "JSON")]
    pub filter: Option<String>,
    /// Also print how the search ran: strategy, ef, layers, nodes visited, distance
    /// computations, candidates rescored, time per phase.
    #[arg(long)]
    pub explain: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints a search profile, one field per line.
pub fn print_profile(p: &SearchProfile) {
    println!("strategy:              {}", p.strategy);
    println!("index:                 {}", p.index);
    println!("k / ef:                {} / {}", p.k, p.ef);
    if let (Some(m), Some(s)) = (p.filter_matches, p.selectivity) {
        println!("filter matches:        {m} of {} ({:.3}%)", p.live, s * 100.0);
    }
    println!("layers traversed:      {}", p.layers_traversed);
    println!("nodes visited:         {}", p.nodes_visited);
    println!("distance computations: {}", p.distance_computations);
    println!("candidates rescored:   {}{}", p.candidates_rescored, if p.quantized { " (quantized)" } else { "" });
    let t = &p.phases;
    println!(
        "time (us):             filter {:.1}, plan {:.1}, search {:.1}, rescore {:.1}, fetch {:.1}, total {:.1}",
        t.filter_us, t.plan_us, t.search_us, t.rescore_us, t.fetch_us, t.total_us
    );
}

/// Parses "0.1, 0.2 0.3" (commas and/or whitespace, optional brackets).
pub fn parse_numbers(s: &str) -> CliResult<Vec<f32>> {
    let body = s.trim().trim_start_matches('[').trim_end_matches(']');
    body.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, t)| t.parse::<f32>().map_err(|_| invalid(format!("--vector: component {i} ({t:?}) is not a number"))))
        .collect()
}

fn query_vector(a: &SearchArgs, c: &Collection) -> CliResult<Vec<f32>> {
    if let Some(s) = &a.vector {
        return parse_numbers(s);
    }
    if let Some(s) = &a.vector_json {
        return serde_json::from_str::<Vec<f32>>(s)
            .map_err(|e| Error::InvalidJson(e.to_string()))
            .context(|| "--vector-json".to_string());
    }
    if let Some(id) = &a.like {
        return match c.get(id)? {
            Some(r) => Ok(r.vector),
            None => Err(Error::VectorNotFound(format!("{id} (in collection '{}')", c.name())).into()),
        };
    }
    if let (Some(file), Some(row)) = (&a.query_fvecs, a.row) {
        return FvecsFile::open(file)?.read_row(row);
    }
    Err(invalid("give a query: --vector, --vector-json, --like or --query-fvecs with --row"))
}

/// Prints hits as an aligned table: rank, id, distance, text.
pub fn print_table(hits: &[SearchResult]) {
    let idw = hits.iter().map(|h| h.id.chars().count()).max().unwrap_or(0).clamp(2, 40);
    println!("{:>4}  {:<idw$}  {:>9}  text", "rank", "id", "distance");
    for (i, h) in hits.iter().enumerate() {
        let text = truncate(&metadata_text(h.metadata.as_ref()), 100);
        // 1 − cos of a vector with itself can round to -0.00000003; show it as 0.
        let d = if h.distance.abs() < 5e-5 { 0.0 } else { h.distance };
        println!("{:>4}  {:<idw$}  {d:>9.4}  {text}", i + 1, truncate(&h.id, 40));
    }
}

/// Runs `needle search`.
pub fn run(a: SearchArgs, _g: Global) -> CliResult<()> {
    let db = open_read(&a.db)?;
    let c = db.collection(&a.collection)?;
    let q = query_vector(&a, &c)?;
    let mut params = SearchParams::new(a.k);
    if let Some(ef) = a.ef {
        params = params.with_ef_search(ef);
    }
    if let Some(f) = &a.filter {
        params = params.with_filter(f.parse::<Filter>().context(|| "--filter".to_string())?);
    }
    let start = Instant::now();
    let explained = c.search_explain_with(&q, &params)?;
    let (hits, profile) = (explained.results, explained.profile);
    let took = (start.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    if a.json {
        let results: Vec<_> = hits
            .iter()
            .enumerate()
            .map(
                |(i, h)| serde_json::json!({"rank": i + 1, "id": h.id, "distance": h.distance, "metadata": h.metadata}),
            )
            .collect();
        let mut out = serde_json::json!({
            "collection": a.collection, "k": a.k, "took_ms": took, "results": results,
        });
        if a.explain {
            out["explain"] = serde_json::to_value(&profile).map_err(|e| Error::Internal(e.to_string()))?;
        }
        println!("{out}");
        return Ok(());
    }
    if let Some(id) = &a.like {
        let text = c.get(id)?.and_then(|r| r.metadata).map(|m| metadata_text(Some(&m))).unwrap_or_default();
        println!("nearest to {id}: {}", truncate(&text, 110));
    }
    print_table(&hits);
    eprintln!("{} results in {took:.2} ms", hits.len());
    if a.explain {
        print_profile(&profile);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_commas_spaces_and_brackets() {
        assert_eq!(parse_numbers("0.5,-1, 2 3e-1").unwrap(), [0.5, -1.0, 2.0, 0.3]);
        assert_eq!(parse_numbers("[1,2]").unwrap(), [1.0, 2.0]);
        assert!(parse_numbers("1,x").unwrap_err().to_string().contains("component 1"));
    }
}
