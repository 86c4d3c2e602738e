//! Data sets: TEXMEX `.fvecs` / `.ivecs` files, slices of them, and exact ground truth by a
//! brute-force scan (float64 accumulation, ties to the smaller id — the rule the shared ground
//! truth files follow), cached under `results/.cache/`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use crate::config::DatasetConfig;

/// A loaded data set.
#[derive(Debug)]
pub struct Dataset {
    /// Name from the config.
    pub name: String,
    /// Base vectors file.
    pub base_path: PathBuf,
    /// Query vectors file.
    pub query_path: PathBuf,
    /// Dimensions.
    pub dim: usize,
    /// Base vectors, row-major.
    pub base: Vec<f32>,
    /// Query vectors, row-major.
    pub queries: Vec<f32>,
    /// For each query, the exact top-k row ids, nearest first.
    pub truth: Vec<Vec<u32>>,
    /// An `.ivecs` file holding `truth` (for the peer driver).
    pub truth_path: PathBuf,
    /// Describes where `truth` came from.
    pub truth_source: String,
    /// Metric of the ground truth.
    pub metric: String,
    /// Rows of the base file used (`limit`), if sliced.
    pub limit: Option<usize>,
}

impl Dataset {
    /// Base vectors.
    pub fn n(&self) -> usize {
        self.base.len() / self.dim
    }
    /// Queries.
    pub fn nq(&self) -> usize {
        self.queries.len() / self.dim
    }
    /// Base row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.base[i * self.dim..(i + 1) * self.dim]
    }
    /// Query `i`.
    pub fn query(&self, i: usize) -> &[f32] {
        &self.queries[i * self.dim..(i + 1) * self.dim]
    }

    /// Loads the files a config names; computes (or reuses cached) ground truth when the config has
    /// no ground truth file or slices the base.
    pub fn load(cfg: &DatasetConfig, workspace: &Path, cache_dir: &Path, k: usize) -> Result<Dataset> {
        let dir = cfg.resolve_dir(workspace);
        let base_path = dir.join(&cfg.base);
        let query_path = dir.join(&cfg.query);
        let (dim, base) = read_fvecs(&base_path, cfg.limit)?;
        let (qdim, queries) = read_fvecs(&query_path, cfg.queries)?;
        if dim != qdim {
            bail!("{}: base has {dim} dimensions, queries {qdim}", cfg.name);
        }
        let n = base.len() / dim;
        let nq = queries.len() / dim;
        if n <= k {
            bail!("{}: {n} base vectors is not more than k = {k}", cfg.name);
        }
        let gt_file = cfg.groundtruth.as_ref().filter(|_| cfg.limit.is_none()).map(|g| dir.join(g));
        let (truth, truth_path, truth_source) = match gt_file {
            Some(path) => {
                let (gdim, ids) = read_ivecs(&path, Some(nq))?;
                if gdim < k || ids.len() / gdim < nq {
                    bail!(
                        "{}: ground truth has {gdim} columns for {} queries; need {k} for {nq}",
                        path.display(),
                        ids.len() / gdim.max(1)
                    );
                }
                let truth = ids.chunks_exact(gdim).map(|r| r[..k].iter().map(|&i| i as u32).collect()).collect();
                let source = repo_relative(&path, workspace);
                (truth, path, source)
            }
            None => {
                std::fs::create_dir_all(cache_dir).with_context(|| format!("creating {}", cache_dir.display()))?;
                let key = cache_key(&[&base_path, &query_path], &[n, nq, k, dim], &cfg.metric);
                let path = cache_dir.join(format!("gt-{}-{n}x{nq}-k{k}-{key:016x}.ivecs", cfg.name));
                let source = format!(
                    "brute force over the first {n} base vectors ({}, cached in {})",
                    cfg.metric,
                    repo_relative(&path, workspace)
                );
                let truth = match read_ivecs(&path, None) {
                    Ok((d, ids)) if d == k && ids.len() == nq * k => {
                        eprintln!("[bench] {}: ground truth from cache {}", cfg.name, path.display());
                        ids.chunks_exact(k).map(|r| r.iter().map(|&i| i as u32).collect()).collect()
                    }
                    _ => {
                        let t0 = std::time::Instant::now();
                        let truth = brute_force(&base, &queries, dim, k, &cfg.metric);
                        eprintln!(
                            "[bench] {}: exact ground truth for {nq} queries over {n} vectors in {:.1} s",
                            cfg.name,
                            t0.elapsed().as_secs_f64()
                        );
                        write_ivecs(&path, k, &truth)?;
                        truth
                    }
                };
                (truth, path, source)
            }
        };
        Ok(Dataset {
            name: cfg.name.clone(),
            base_path,
            query_path,
            dim,
            base,
            queries,
            truth,
            truth_path,
            truth_source,
            metric: cfg.metric.clone(),
            limit: cfg.limit,
        })
    }
}

/// `path` as reports name it: relative to the workspace root `root` (or `../…` beside it, where
/// the shared data lives), so committed reports carry no machine's absolute paths.
pub fn repo_relative(path: &Path, root: &Path) -> String {
    let clean: PathBuf = path.components().fold(PathBuf::new(), |mut acc, c| {
        match c {
            std::path::Component::ParentDir if acc.file_name().is_some() => {
                acc.pop();
            }
            std::path::Component::CurDir => {}
            other => acc.push(other),
        }
        acc
    });
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if let Ok(rel) = clean.strip_prefix(&root) {
        return rel.display().to_string();
    }
    if let Some(parent) = root.parent() {
        if let Ok(rel) = clean.strip_prefix(parent) {
            return Path::new("..").join(rel).display().to_string();
        }
    }
    clean.display().to_string()
}

fn cache_key(paths: &[&Path], sizes: &[usize], metric: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in paths {
        p.hash(&mut h);
        if let Ok(m) = std::fs::metadata(p) {
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    }
    sizes.hash(&mut h);
    metric.hash(&mut h);
    h.finish()
}

fn read_records(path: &Path, limit: Option<usize>) -> Result<(usize, Vec<[u8; 4]>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() < 4 {
        bail!("{}: empty or truncated", path.display());
    }
    let dim = i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    if dim <= 0 {
        bail!("{}: bad dimension {dim} in the first record", path.display());
    }
    let dim = dim as usize;
    let record = 4 * (dim + 1);
    if bytes.len() % record != 0 {
        bail!("{}: {} bytes is not a whole number of {dim}-value records", path.display(), bytes.len());
    }
    let rows = (bytes.len() / record).min(limit.unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(rows * dim);
    for (r, rec) in bytes.chunks_exact(record).take(rows).enumerate() {
        if rec[..4] != bytes[..4] {
            bail!("{}: record {r} has a different dimension", path.display());
        }
        out.extend(rec[4..].chunks_exact(4).map(|c| <[u8; 4]>::try_from(c).expect("4 bytes")));
    }
    Ok((dim, out))
}

/// Reads up to `limit` rows of an `.fvecs` file: (dimensions, row-major values).
pub fn read_fvecs(path: &Path, limit: Option<usize>) -> Result<(usize, Vec<f32>)> {
    let (dim, words) = read_records(path, limit)?;
    Ok((dim, words.into_iter().map(f32::from_le_bytes).collect()))
}

/// Reads up to `limit` rows of an `.ivecs` file.
pub fn read_ivecs(path: &Path, limit: Option<usize>) -> Result<(usize, Vec<i32>)> {
    let (dim, words) = read_records(path, limit)?;
    Ok((dim, words.into_iter().map(i32::from_le_bytes).collect()))
}

/// Writes rows of `k` ids as `.ivecs`.
pub fn write_ivecs(path: &Path, k: usize, rows: &[Vec<u32>]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?);
    for r in rows {
        w.write_all(&(k as i32).to_le_bytes())?;
        for &id in &r[..k] {
            w.write_all(&(id as i32).to_le_bytes())?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// (distance, id) ordered by distance then id, so the max-heap drops the worst (and larger ids on ties).
#[derive(PartialEq)]
struct Scored(f64, u32);
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    // Eight independent partial sums keep the loop vectorisable.
    let mut acc = [0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += f64::from(x[i]) * f64::from(y[i]);
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    acc.iter().sum::<f64>() + tail
}

/// Exact top-k row ids per query (nearest first) under `metric` (`cosine`, `euclidean`, `dot`).
pub fn brute_force(base: &[f32], queries: &[f32], dim: usize, k: usize, metric: &str) -> Vec<Vec<u32>> {
    let norms: Vec<f64> = base.par_chunks_exact(dim).map(|r| dot64(r, r)).collect();
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            let qn = dot64(q, q);
            let mut heap = BinaryHeap::with_capacity(k + 1);
            for (i, row) in base.chunks_exact(dim).enumerate() {
                let ip = dot64(q, row);
                let d = match metric {
                    "cosine" => 1.0 - ip / (qn.sqrt() * norms[i].sqrt()).max(f64::MIN_POSITIVE),
                    "dot" => -ip,
                    _ => qn + norms[i] - 2.0 * ip,
                };
                let s = Scored(d, i as u32);
                if heap.len() < k {
                    heap.push(s);
                } else if heap.peek().is_some_and(|w| s < *w) {
                    heap.pop();
                    heap.push(s);
                }
            }
            heap.into_sorted_vec().into_iter().map(|s| s.1).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_fvecs(path: &Path, dim: usize, data: &[f32]) {
        let mut bytes = Vec::new();
        for row in data.chunks_exact(dim) {
            bytes.extend((dim as i32).to_le_bytes());
            for v in row {
                bytes.extend(v.to_le_bytes());
            }
        }
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn fvecs_roundtrip_limit_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fvecs");
        write_fvecs(&p, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(read_fvecs(&p, None).unwrap(), (2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        assert_eq!(read_fvecs(&p, Some(1)).unwrap(), (2, vec![1.0, 2.0]));
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
        assert!(read_fvecs(&p, None).is_err());
        let g = dir.path().join("g.ivecs");
        write_ivecs(&g, 2, &[vec![3, 1], vec![0, 2]]).unwrap();
        assert_eq!(read_ivecs(&g, None).unwrap(), (2, vec![3, 1, 0, 2]));
    }

    #[test]
    fn report_paths_are_repository_relative() {
        let root = Path::new("/nonexistent/ws/main");
        assert_eq!(
            repo_relative(Path::new("/nonexistent/ws/main/bench-harness/configs/a.toml"), root),
            "bench-harness/configs/a.toml"
        );
        assert_eq!(
            repo_relative(Path::new("/nonexistent/ws/main/../shared/data/x.fvecs"), root),
            "../shared/data/x.fvecs"
        );
        assert_eq!(repo_relative(Path::new("/elsewhere/x.fvecs"), root), "/elsewhere/x.fvecs");
    }

    #[test]
    fn brute_force_ranks_and_breaks_ties_by_id() {
        let base = [1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.7, 0.7];
        let q = [1.0, 0.1];
        let cos = brute_force(&base, &q, 2, 3, "cosine");
        assert_eq!(cos, vec![vec![0, 2, 3]], "rows 0 and 2 tie under cosine; the smaller id comes first");
        let l2 = brute_force(&base, &q, 2, 2, "euclidean");
        assert_eq!(l2, vec![vec![0, 3]]);
        let dot = brute_force(&base, &q, 2, 1, "dot");
        assert_eq!(dot, vec![vec![2]]);
    }
}
