//! Tests of the four built-in distances on every available backend.

use super::*;
use crate::traits::distance::l2_norm;

/// Each built-in distance on each backend that can run here.
fn all_distances() -> Vec<Box<dyn Distance>> {
    let mut distances: Vec<Box<dyn Distance>> = Vec::new();
    for backend in Backend::available() {
        distances.push(Box::new(CosineDistance::with_backend(backend).unwrap()));
        distances.push(Box::new(EuclideanDistance::with_backend(backend).unwrap()));
        distances.push(Box::new(DotDistance::with_backend(backend).unwrap()));
        distances.push(Box::new(ManhattanDistance::with_backend(backend).unwrap()));
    }
    distances
}

fn on_every_backend<D: Distance>(make: fn(Backend) -> Option<D>) -> Vec<D> {
    let distances: Vec<D> = Backend::available().into_iter().map(|b| make(b).unwrap()).collect();
    assert!(!distances.is_empty());
    distances
}

fn assert_close(got: f32, expected: f32, what: &str) {
    assert!((got - expected).abs() <= 1e-5 * (1.0 + expected.abs()), "{what}: got {got}, expected {expected}");
}

/// Stored rows with a padded stride and their norms, like a `VectorStore` keeps them.
struct Stored {
    data: Vec<f32>,
    norms: Vec<f32>,
    dim: usize,
    stride: usize,
}

impl Stored {
    fn new(vectors: &[Vec<f32>], stride: usize) -> Self {
        let dim = vectors[0].len();
        let mut data = vec![0.0; vectors.len() * stride];
        for (i, v) in vectors.iter().enumerate() {
            data[i * stride..i * stride + dim].copy_from_slice(v);
        }
        Stored { data, norms: vectors.iter().map(|v| l2_norm(v)).collect(), dim, stride }
    }

    fn rows(&self) -> Rows<'_> {
        Rows { data: &self.data, stride: self.stride, dim: self.dim, norms: &self.norms }
    }
}

/// Deterministic vectors with values in [-1, 1).
fn vectors(count: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    (0..count).map(|_| (0..dim).map(|_| next()).collect()).collect()
}

/// The user-facing value of each metric, computed directly in f64.
fn reference(metric: Metric, q: &[f32], v: &[f32]) -> f32 {
    let pairs = q.iter().zip(v).map(|(&x, &y)| (f64::from(x), f64::from(y)));
    let value = match metric {
        Metric::Cosine => {
            let dot: f64 = pairs.clone().map(|(x, y)| x * y).sum();
            let nq: f64 = q.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let nv: f64 = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            1.0 - dot / (nq * nv)
        }
        Metric::Euclidean => pairs.map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt(),
        Metric::Dot => -pairs.map(|(x, y)| x * y).sum::<f64>(),
        Metric::Manhattan => pairs.map(|(x, y)| (x - y).abs()).sum(),
    };
    value as f32
}

#[test]
fn cosine_known_values() {
    for d in on_every_backend(CosineDistance::with_backend) {
        let what = d.backend_name();
        assert_close(d.distance(&[1.0, 0.0], &[0.0, 1.0]), 1.0, what);
        assert_close(d.distance(&[0.3, -2.0, 5.0], &[0.3, -2.0, 5.0]), 0.0, what);
        assert_close(d.distance(&[1.0, 2.0, 3.0], &[-1.0, -2.0, -3.0]), 2.0, what);
        // Scale does not matter to cosine.
        assert_close(d.distance(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 0.0, what);
        assert_close(d.distance(&[1.0, 0.0], &[1.0, 1.0]), 1.0 - std::f32::consts::FRAC_1_SQRT_2, what);
    }
}

#[test]
fn cosine_of_a_zero_vector_is_one_not_nan() {
    for d in on_every_backend(CosineDistance::with_backend) {
        assert_eq!(d.distance(&[0.0, 0.0, 0.0], &[1.0, 2.0, 3.0]), 1.0, "{}", d.backend_name());
        assert_eq!(d.distance(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]), 1.0, "{}", d.backend_name());
        assert_eq!(d.distance(&[0.0; 3], &[0.0; 3]), 1.0, "{}", d.backend_name());
    }
}

#[test]
fn cosine_self_distance_is_never_negative() {
    // Random 384-d vectors: rounding puts q·q / |q|² above 1 for some of them (-1.19e-7 before
    // the clamp); the distance of a vector to itself is 0 on every backend.
    for d in on_every_backend(CosineDistance::with_backend) {
        for (i, v) in vectors(200, 384, 7).iter().enumerate() {
            let self_distance = d.distance(v, v);
            assert!((0.0..1e-5).contains(&self_distance), "{} vector {i}: {self_distance}", d.backend_name());
        }
    }
}

#[test]
fn cosine_reads_the_stored_norms() {
    let stored = Stored::new(&vectors(5, 19, 3), 32);
    let query = vectors(1, 19, 4).remove(0);
    let query_norm = l2_norm(&query);
    // Deliberately wrong norms: twice the truth for even rows, half for odd rows.
    let scaled: Vec<f32> =
        stored.norms.iter().enumerate().map(|(i, n)| if i % 2 == 0 { n * 2.0 } else { n * 0.5 }).collect();
    let rows = Rows { norms: &scaled, ..stored.rows() };
    let ids = [4, 1, 0, 3, 2];
    for d in on_every_backend(CosineDistance::with_backend) {
        let mut by_id = [0.0; 5];
        d.distances_to_ids(&query, query_norm, &rows, &ids, &mut by_id);
        let mut all = [0.0; 5];
        d.distances_to_all(&query, query_norm, &rows, &mut all);
        for (j, &id) in ids.iter().enumerate() {
            let row = rows.row(id as usize);
            let dot: f32 = row.iter().zip(&query).map(|(x, y)| x * y).sum();
            let expected = 1.0 - dot / (query_norm * scaled[id as usize]);
            assert_close(by_id[j], expected, "distances_to_ids");
            assert_close(all[id as usize], expected, "distances_to_all");
            let with_true_norm = 1.0 - dot / (query_norm * stored.norms[id as usize]);
            assert!((by_id[j] - with_true_norm).abs() > 1e-3, "row {id}: the stored norm was not used");
        }
        // The query norm is taken as given as well.
        d.distances_to_ids(&query, query_norm * 4.0, &rows, &ids, &mut by_id);
        let row = rows.row(4);
        let dot: f32 = row.iter().zip(&query).map(|(x, y)| x * y).sum();
        assert_close(by_id[0], 1.0 - dot / (query_norm * 4.0 * scaled[4]), "query norm");
    }
}

#[test]
#[should_panic(expected = "needs a stored norm per row")]
fn cosine_without_norms_panics_with_a_clear_message() {
    let stored = Stored::new(&vectors(3, 4, 5), 4);
    let rows = Rows { norms: &[], ..stored.rows() };
    let mut out = [0.0; 1];
    CosineDistance::new().distances_to_ids(&[1.0; 4], 2.0, &rows, &[0], &mut out);
}

#[test]
fn euclidean_known_values() {
    for d in on_every_backend(EuclideanDistance::with_backend) {
        let what = d.backend_name();
        assert_eq!(d.distance(&[0.0, 0.0], &[3.0, 4.0]), 5.0, "{what}");
        assert_eq!(d.distance(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0]), 0.0, "{what}");
        assert_eq!(d.distance(&[1.0, 2.0], &[-1.0, -2.0]), 20.0f32.sqrt(), "{what}");
        assert_eq!(d.distance(&[1.0, 0.0], &[0.0, 1.0]), 2.0f32.sqrt(), "{what}");
    }
}

#[test]
fn dot_known_values() {
    for d in on_every_backend(DotDistance::with_backend) {
        let what = d.backend_name();
        assert_eq!(d.distance(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), -32.0, "{what}");
        assert_eq!(d.distance(&[1.0, 0.0], &[0.0, 1.0]), 0.0, "{what}");
        assert_eq!(d.distance(&[1.0, 2.0], &[-1.0, -2.0]), 5.0, "{what}");
        assert_eq!(d.distance(&[2.0, 0.0], &[2.0, 0.0]), -4.0, "{what}");
    }
}

#[test]
fn manhattan_known_values() {
    for d in on_every_backend(ManhattanDistance::with_backend) {
        let what = d.backend_name();
        assert_eq!(d.distance(&[1.0, -2.0, 3.0], &[4.0, 0.0, -1.0]), 9.0, "{what}");
        assert_eq!(d.distance(&[0.0, 0.0], &[3.0, 4.0]), 7.0, "{what}");
        assert_eq!(d.distance(&[5.0, 5.0], &[5.0, 5.0]), 0.0, "{what}");
        assert_eq!(d.distance(&[1.0, 2.0], &[-1.0, -2.0]), 6.0, "{what}");
    }
}

#[test]
fn batches_equal_per_pair_distances_and_the_formula() {
    for (dim, stride) in [(1, 16), (7, 16), (37, 48), (128, 128), (131, 144), (384, 384)] {
        let stored = Stored::new(&vectors(50, dim, dim as u64), stride);
        let rows = stored.rows();
        let query = vectors(1, dim, 99).remove(0);
        let query_norm = l2_norm(&query);
        // Out of order, with repeats, not covering every row.
        let ids: Vec<u32> = (0..70).map(|i| (i * 17 + 3) % 50).collect();
        for d in all_distances() {
            let what = format!("{} on {} (dim {dim})", d.id(), d.backend_name());
            let metric = d.metric().unwrap();
            let mut by_id = vec![f32::NAN; ids.len()];
            d.distances_to_ids(&query, query_norm, &rows, &ids, &mut by_id);
            let mut all = vec![f32::NAN; rows.len()];
            d.distances_to_all(&query, query_norm, &rows, &mut all);
            for (j, &id) in ids.iter().enumerate() {
                let row = rows.row(id as usize);
                assert_eq!(by_id[j], d.distance(&query, row), "{what}: id {id} vs pairwise");
                assert_eq!(by_id[j], all[id as usize], "{what}: id {id} vs distances_to_all");
                let expected = reference(metric, &query, row);
                let scale = match metric {
                    Metric::Cosine => 1.0,
                    _ => expected.abs().max(1.0),
                };
                assert!((by_id[j] - expected).abs() <= 1e-4 * scale, "{what}: id {id}: {} vs {expected}", by_id[j]);
            }
        }
    }
}

#[test]
fn every_batch_length_gives_position_independent_results() {
    // Backends score rows in blocks; whatever block or leftover a row falls in, its distance must
    // be exactly the pairwise one. 85 = 64 + 16 + 5 floats reaches every part of every backend's
    // loop (full groups, leftover chunks, a partial tail); 45 has no full group on AVX-512.
    for dim in [45, 85] {
        let stored = Stored::new(&vectors(12, dim, 7), 96);
        let rows = stored.rows();
        let query = vectors(1, dim, 8).remove(0);
        let query_norm = l2_norm(&query);
        for d in all_distances() {
            let pairwise: Vec<f32> = (0..rows.len()).map(|i| d.distance(&query, rows.row(i))).collect();
            for count in 0..=rows.len() {
                let what = format!("{} on {}, dim {dim}, {count} rows", d.id(), d.backend_name());
                let ids: Vec<u32> = (0..count as u32).rev().collect();
                let mut out = vec![f32::NAN; count];
                d.distances_to_ids(&query, query_norm, &rows, &ids, &mut out);
                for (j, &id) in ids.iter().enumerate() {
                    assert_eq!(out[j], pairwise[id as usize], "{what}: distances_to_ids");
                }
                let prefix =
                    Rows { data: &stored.data[..count * stored.stride], norms: &stored.norms[..count], ..rows };
                let mut all = vec![f32::NAN; count];
                d.distances_to_all(&query, query_norm, &prefix, &mut all);
                assert_eq!(all, pairwise[..count], "{what}: distances_to_all");
            }
        }
    }
}

#[test]
fn empty_batches_are_fine() {
    let stored = Stored::new(&vectors(3, 8, 1), 16);
    for d in all_distances() {
        d.distances_to_ids(&[0.5; 8], 1.0, &stored.rows(), &[], &mut []);
        let empty = Rows { data: &[], stride: 16, dim: 8, norms: &[] };
        d.distances_to_all(&[0.5; 8], 1.0, &empty, &mut []);
    }
}

/// Whether `f` panics.
fn panics(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

#[test]
fn shape_mismatches_panic() {
    let stored = Stored::new(&vectors(3, 8, 1), 16);
    for d in all_distances() {
        let rows = stored.rows();
        let wrong_query = panics(|| d.distances_to_ids(&[0.5; 7], 1.0, &rows, &[0], &mut [0.0]));
        assert!(wrong_query, "{}: query of the wrong dimension accepted", d.id());
        let wrong_out = panics(|| d.distances_to_ids(&[0.5; 8], 1.0, &rows, &[0, 1], &mut [0.0]));
        assert!(wrong_out, "{}: output of the wrong length accepted", d.id());
        let bad_id = panics(|| d.distances_to_ids(&[0.5; 8], 1.0, &rows, &[3], &mut [0.0]));
        assert!(bad_id, "{}: id out of range accepted", d.id());
        let wrong_all = panics(|| d.distances_to_all(&[0.5; 8], 1.0, &rows, &mut [0.0; 2]));
        assert!(wrong_all, "{}: output of the wrong length accepted", d.id());
    }
}
