//! Pieces the subcommands share: collection options, opening databases, output helpers.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::error::{io_at, CliResult};
use super::Global;
use crate::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Error, QuantizationType};

/// How a new collection is built. Unset fields take the library defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct CollectionOptions {
    /// Distance: cosine, euclidean, dot, manhattan (or a registered id). [default: cosine]
    #[arg(long, value_name = "ID")]
    pub distance: Option<String>,
    /// Index: hnsw or flat (exact). [default: hnsw]
    #[arg(long, value_name = "ID")]
    pub index: Option<String>,
    /// HNSW M: links per node per layer. [default: 16]
    #[arg(long)]
    pub m: Option<usize>,
    /// HNSW ef_construction: candidate list size while building. [default: 200]
    #[arg(long, value_name = "N")]
    pub ef_construction: Option<usize>,
    /// HNSW ef_search used when a query sets none. [default: 64]
    #[arg(long, value_name = "N")]
    pub ef_search: Option<usize>,
    /// Quantization: none or sq8 (8-bit scalar codes, rescored exactly). [default: none]
    #[arg(long, value_name = "ID")]
    pub quantization: Option<String>,
    /// Seed for a reproducible index build.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl CollectionOptions {
    /// True when any option was given.
    pub fn any(&self) -> bool {
        self.distance.is_some()
            || self.index.is_some()
            || self.m.is_some()
            || self.ef_construction.is_some()
            || self.ef_search.is_some()
            || self.quantization.is_some()
            || self.seed.is_some()
    }

    /// The config for a new collection.
    pub fn config(&self, name: &str, dim: usize) -> CollectionConfig {
        let mut c = CollectionConfig::new(name, dim);
        if let Some(d) = &self.distance {
            c = c.with_distance(DistanceFunction::from_id(d));
        }
        if let Some(i) = &self.index {
            c = c.with_index(i.to_ascii_lowercase());
        }
        if let Some(m) = self.m {
            c = c.with_hnsw_m(m);
        }
        if let Some(ef) = self.ef_construction {
            c = c.with_hnsw_ef_construction(ef);
        }
        if let Some(ef) = self.ef_search {
            c = c.with_hnsw_ef_search(ef);
        }
        if let Some(q) = &self.quantization {
            c = c.with_quantization(QuantizationType::from_id(q));
        }
        if let Some(s) = self.seed {
            c = c.with_seed(s);
        }
        c
    }

    /// Fails when an option that was given differs from `existing` (e.g. `import --create
    /// --distance dot` into an existing cosine collection).
    pub fn check_matches(&self, existing: &CollectionConfig) -> CliResult<()> {
        let wanted = self.config(&existing.name, existing.dimensions);
        let mut diffs = Vec::new();
        let mut cmp = |set: bool, what: &str, a: String, b: String| {
            if set && a != b {
                diffs.push(format!("{what} {b} (asked for {a})"));
            }
        };
        cmp(self.distance.is_some(), "distance", wanted.distance.id().into(), existing.distance.id().into());
        cmp(self.index.is_some(), "index", wanted.index.clone(), existing.index.clone());
        cmp(self.m.is_some(), "m", wanted.hnsw_m.to_string(), existing.hnsw_m.to_string());
        let (a, b) = (wanted.ef_construction.to_string(), existing.ef_construction.to_string());
        cmp(self.ef_construction.is_some(), "ef_construction", a, b);
        cmp(self.ef_search.is_some(), "ef_search", wanted.ef_search.to_string(), existing.ef_search.to_string());
        let (a, b) = (wanted.quantization.id().to_string(), existing.quantization.id().to_string());
        cmp(self.quantization.is_some(), "quantization", a, b);
        cmp(self.seed.is_some(), "seed", wanted.seed.to_string(), existing.seed.to_string());
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(format!(
                "collection '{}' already exists with {}",
                existing.name,
                diffs.join(", ")
            ))
            .into())
        }
    }
}

/// One line describing a collection's configuration.
pub fn describe(c: &CollectionConfig) -> String {
    let mut s = format!("{} dims, {}, {}", c.dimensions, c.distance.id(), c.index);
    if c.index == "hnsw" {
        s += &format!(" (m={}, ef_construction={}, ef_search={})", c.hnsw_m, c.ef_construction, c.ef_search);
    }
    if c.quantization.id() != "none" {
        s += &format!(", {} quantization", c.quantization.id());
    }
    s
}

/// Opens an existing database without writing to it.
pub fn open_read(path: &Path) -> CliResult<Database> {
    if !path.exists() {
        return Err(io_at(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such database")));
    }
    Ok(Database::open_with_config(path, DatabaseConfig::new().with_read_only(true))?)
}

/// Opens a database for writing; a missing file is created only when `create` is set.
pub fn open_write(path: &Path, create: bool) -> CliResult<Database> {
    if !create && !path.exists() {
        return Err(io_at(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such database (create it with `needle create`)"),
        ));
    }
    Ok(Database::open(path)?)
}

/// A progress bar on stderr (hidden with `--quiet` or when stderr is not a terminal).
pub fn progress(g: Global, len: u64, msg: &'static str, bytes: bool) -> ProgressBar {
    if g.quiet {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{msg:>9} [{bar:40.cyan/blue}] {bytes}/{total_bytes} ({elapsed}, eta {eta})"
    } else {
        "{msg:>9} [{bar:40.cyan/blue}] {human_pos}/{human_len} ({elapsed}, eta {eta})"
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let pb = ProgressBar::new(len).with_style(style.progress_chars("=> ")).with_message(msg);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The text to show for a hit's metadata: its `text` field, a string value, or compact JSON.
pub fn metadata_text(meta: Option<&serde_json::Value>) -> String {
    match meta {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(m) => match m.get("text") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => m.to_string(),
        },
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes in binary units: `3.1 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        let m = serde_json::json!({"text": "hello", "n": 1});
        assert_eq!(metadata_text(Some(&m)), "hello");
        assert_eq!(metadata_text(Some(&serde_json::json!({"n": 1}))), r#"{"n":1}"#);
        assert_eq!(metadata_text(None), "");
    }

    #[test]
    fn options_build_and_compare_configs() {
        let o = CollectionOptions { distance: Some("l2".into()), m: Some(8), ..Default::default() };
        let c = o.config("x", 4);
        assert_eq!(c.distance, DistanceFunction::Euclidean);
        assert_eq!(c.hnsw_m, 8);
        assert!(o.check_matches(&c).is_ok());
        let other = CollectionConfig::new("x", 4);
        let e = o.check_matches(&other).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidConfig);
        assert!(e.to_string().contains("distance cosine (asked for euclidean)"), "{e}");
        assert!(CollectionOptions::default().check_matches(&other).is_ok());
    }
}
