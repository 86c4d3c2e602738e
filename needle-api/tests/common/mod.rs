//! Helpers shared by the integration tests: locating the real data set and exact ground truth.
#![allow(dead_code)]

use std::path::PathBuf;

use needle_core::fvecs::{read_fvecs, Matrix};

/// `$NEEDLE_DATA_DIR`, or `../shared/data` beside the workspace. Missing data fails the test:
/// CI must never skip the real-data tests silently.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("NEEDLE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")));
    assert!(
        dir.join("wordnet-minilm/base.fvecs").exists(),
        "real data not found at {} (set NEEDLE_DATA_DIR to the folder holding wordnet-minilm/)",
        dir.display()
    );
    dir
}

/// The first `n` base vectors and first `q` queries of wordnet-minilm.
pub fn wordnet(n: usize, q: usize) -> (Matrix<f32>, Matrix<f32>) {
    let d = data_dir().join("wordnet-minilm");
    (read_fvecs(d.join("base.fvecs"), Some(n)).unwrap(), read_fvecs(d.join("query.fvecs"), Some(q)).unwrap())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        d += (*x as f64) * (*y as f64);
        na += (*x as f64) * (*x as f64);
        nb += (*y as f64) * (*y as f64);
    }
    (1.0 - d / (na.sqrt() * nb.sqrt())) as f32
}

/// Exact top-k row numbers by cosine distance (ties by smaller row), brute force in f64.
pub fn exact_topk(base: &Matrix<f32>, query: &[f32], k: usize) -> Vec<usize> {
    let mut all: Vec<(f32, usize)> = (0..base.len()).map(|i| (cosine(query, base.row(i)), i)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    all.into_iter().map(|(_, i)| i).collect()
}

/// Fraction of `truth` found in `got`.
pub fn recall(got: &[usize], truth: &[usize]) -> f64 {
    let hits = truth.iter().filter(|t| got.contains(t)).count();
    hits as f64 / truth.len() as f64
}
