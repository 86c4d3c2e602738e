//! [`ProductQuantizer`] and its factory.

use needle_core::{Codes, Error, Metric, Quantizer, QuantizerFactory, Result, Rows};

use crate::kmeans::{kmeans, nearest};

/// Registry id.
pub const PQ_ID: &str = "pq";
/// Version of the saved form.
pub const PQ_VERSION: u32 = 1;
/// Centroids per sub-space (one code byte).
const KS: usize = 256;
const MAGIC: &[u8; 4] = b"NPQ1";
/// Training uses at most this many sample rows.
const MAX_TRAIN: usize = 20_000;
const ITERS: usize = 12;

/// Makes [`ProductQuantizer`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct PqFactory;

/// Product quantization of `dim`-dimensional vectors into `m` bytes.
#[derive(Debug, Clone)]
pub struct ProductQuantizer {
    dim: usize,
    m: usize,
    /// Sub-space j covers dimensions `bounds[j]..bounds[j + 1]`.
    bounds: Vec<usize>,
    /// Sub-space j's KS centroids, row-major, start at `KS * bounds[j]`.
    centroids: Vec<f32>,
    /// `‖centroid‖²` for sub-space j, centroid c at `j * KS + c`.
    norms2: Vec<f32>,
    trained: bool,
}

fn bounds(dim: usize, m: usize) -> Vec<usize> {
    (0..=m).map(|j| j * dim / m).collect()
}

impl ProductQuantizer {
    /// An untrained quantizer with `m` sub-spaces.
    pub fn new(dim: usize, m: usize) -> Result<Self> {
        if dim == 0 || m == 0 || m > dim || m > 1024 {
            return Err(Error::InvalidConfig(format!(
                "pq: m must be 1..={} for {dim} dimensions, got {m}",
                dim.min(1024)
            )));
        }
        Ok(ProductQuantizer {
            dim,
            m,
            bounds: bounds(dim, m),
            centroids: Vec::new(),
            norms2: Vec::new(),
            trained: false,
        })
    }

    /// Sub-spaces (= code bytes).
    pub fn m(&self) -> usize {
        self.m
    }

    fn sub(&self, j: usize) -> (usize, usize) {
        (self.bounds[j], self.bounds[j + 1])
    }

    fn centroids_of(&self, j: usize) -> &[f32] {
        let (a, b) = self.sub(j);
        &self.centroids[KS * a..KS * b]
    }

    fn compute_norms(&mut self) {
        self.norms2 = (0..self.m)
            .flat_map(|j| {
                let d = self.bounds[j + 1] - self.bounds[j];
                self.centroids_of(j).chunks_exact(d).map(|c| c.iter().map(|x| x * x).sum::<f32>()).collect::<Vec<_>>()
            })
            .collect();
    }

    /// Sum of table entries for one code (`table` holds m × KS little-endian f32 after `skip` bytes).
    #[inline]
    fn lookup(table: &[u8], code: &[u8]) -> f32 {
        let mut s = 0.0f32;
        for (j, &c) in code.iter().enumerate() {
            let o = 4 * (j * KS + c as usize);
            s += f32::from_le_bytes([table[o], table[o + 1], table[o + 2], table[o + 3]]);
        }
        s
    }
}

impl QuantizerFactory for PqFactory {
    fn id(&self) -> &str {
        PQ_ID
    }
    fn version(&self) -> u32 {
        PQ_VERSION
    }
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>> {
        let mut m = dim.div_ceil(4).clamp(1, 1024);
        if let Some(obj) = params.as_object() {
            for (k, v) in obj {
                match (k.as_str(), v.as_u64()) {
                    ("m", Some(v)) => m = v as usize,
                    _ => return Err(Error::InvalidConfig(format!("pq: unknown or invalid parameter '{k}': {v}"))),
                }
            }
        } else if !params.is_null() {
            return Err(Error::InvalidConfig("pq: parameters must be a JSON object".into()));
        }
        Ok(Box::new(ProductQuantizer::new(dim, m)?))
    }
    fn load(&self, dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>> {
        let bad = |d: &str| Error::corrupted("pq quantizer", 0, d);
        if bytes.len() < 13 || &bytes[..4] != MAGIC {
            return Err(bad("missing header"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes")) as usize;
        let (d, m, trained) = (u32_at(4), u32_at(8), bytes[12]);
        if d != dim {
            return Err(bad(&format!("saved for {d} dimensions, collection has {dim}")));
        }
        let mut q = ProductQuantizer::new(dim, m).map_err(|e| bad(&e.to_string()))?;
        let body = &bytes[13..];
        match trained {
            0 if body.is_empty() => {}
            1 if body.len() == KS * dim * 4 => {
                q.centroids =
                    body.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
                if q.centroids.iter().any(|x| !x.is_finite()) {
                    return Err(bad("non-finite centroid"));
                }
                q.compute_norms();
                q.trained = true;
            }
            _ => return Err(bad("body length does not match the header")),
        }
        Ok(Box::new(q))
    }
}

impl Quantizer for ProductQuantizer {
    fn id(&self) -> &str {
        PQ_ID
    }
    fn code_len(&self) -> usize {
        self.m
    }
    fn supports(&self, _metric: Metric) -> bool {
        true
    }
    fn is_trained(&self) -> bool {
        self.trained
    }
    fn train(&mut self, sample: &Rows<'_>) -> Result<()> {
        let n = sample.len().min(MAX_TRAIN);
        if n == 0 || sample.dim != self.dim {
            return Err(Error::InvalidArgument(format!("pq: training needs rows of {} dimensions", self.dim)));
        }
        // Spread the sample over the whole input when it is larger than MAX_TRAIN.
        let pick: Vec<usize> = (0..n).map(|i| i * sample.len() / n).collect();
        let mut centroids = vec![0f32; KS * self.dim];
        for j in 0..self.m {
            let (a, b) = self.sub(j);
            let d = b - a;
            let sub: Vec<f32> = pick.iter().flat_map(|&i| sample.row(i)[a..b].iter().copied()).collect();
            let c = kmeans(&sub, n, d, KS, ITERS, 0x5eed ^ j as u64);
            centroids[KS * a..KS * b].copy_from_slice(&c);
        }
        self.centroids = centroids;
        self.compute_norms();
        self.trained = true;
        Ok(())
    }
    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        for (j, o) in out.iter_mut().enumerate().take(self.m) {
            let (a, b) = self.sub(j);
            *o = nearest(self.centroids_of(j), b - a, &vector[a..b]) as u8;
        }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (j, &c) in code.iter().enumerate().take(self.m) {
            let (a, b) = self.sub(j);
            let d = b - a;
            out[a..b].copy_from_slice(&self.centroids_of(j)[c as usize * d..(c as usize + 1) * d]);
        }
    }
    /// Layout: `‖q‖` (f32), then `m × KS` partial distances (f32), little-endian.
    fn prepare_query(&self, query: &[f32], metric: Metric) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.m * KS);
        out.extend_from_slice(&query.iter().map(|x| x * x).sum::<f32>().sqrt().to_le_bytes());
        for j in 0..self.m {
            let (a, b) = self.sub(j);
            let q = &query[a..b];
            for c in self.centroids_of(j).chunks_exact(b - a) {
                let v: f32 = match metric {
                    Metric::Euclidean => c.iter().zip(q).map(|(x, y)| (x - y) * (x - y)).sum(),
                    Metric::Manhattan => c.iter().zip(q).map(|(x, y)| (x - y).abs()).sum(),
                    Metric::Dot | Metric::Cosine => c.iter().zip(q).map(|(x, y)| x * y).sum(),
                };
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }
    fn distances_to_ids(&self, prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]) {
        if prepared.len() != 4 + 4 * self.m * KS || codes.code_len != self.m {
            out.fill(f32::INFINITY);
            return;
        }
        let qnorm = f32::from_le_bytes(prepared[..4].try_into().expect("4 bytes"));
        let table = &prepared[4..];
        for (o, &id) in out.iter_mut().zip(ids) {
            let code = codes.row(id as usize);
            let s = Self::lookup(table, code);
            *o = match metric {
                Metric::Euclidean => s.max(0.0).sqrt(),
                Metric::Manhattan => s,
                Metric::Dot => -s,
                Metric::Cosine => {
                    let n2: f32 = code.iter().enumerate().map(|(j, &c)| self.norms2[j * KS + c as usize]).sum();
                    let denom = qnorm * n2.sqrt();
                    if denom > 0.0 {
                        1.0 - s / denom
                    } else {
                        1.0
                    }
                }
            };
        }
    }
    fn save(&self) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&(self.dim as u32).to_le_bytes());
        b.extend_from_slice(&(self.m as u32).to_le_bytes());
        b.push(u8::from(self.trained));
        if self.trained {
            for x in &self.centroids {
                b.extend_from_slice(&x.to_le_bytes());
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize) -> Vec<f32> {
        let mut s = 42u64;
        (0..n * dim)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn table_distances_match_distances_to_the_decoded_vector() {
        let (n, dim) = (600, 10);
        let data = rows(n, dim);
        let r = Rows { data: &data, stride: dim, dim, norms: &[] };
        let mut q = PqFactory.create(dim, &serde_json::json!({"m": 3})).unwrap();
        q.train(&r).unwrap();
        let mut codes = vec![0u8; n * 3];
        for i in 0..n {
            q.encode(r.row(i), &mut codes[i * 3..i * 3 + 3]);
        }
        let codes = Codes { data: &codes, code_len: 3 };
        let query = r.row(5);
        let qn = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        for metric in [Metric::Euclidean, Metric::Dot, Metric::Manhattan, Metric::Cosine] {
            let p = q.prepare_query(query, metric);
            let mut out = vec![0.0; 4];
            q.distances_to_ids(&p, metric, &codes, &[0, 5, 9, 599], &mut out);
            for (k, &id) in [0usize, 5, 9, 599].iter().enumerate() {
                let mut v = vec![0.0; dim];
                q.decode(codes.row(id), &mut v);
                let dot: f32 = v.iter().zip(query).map(|(a, b)| a * b).sum();
                let want = match metric {
                    Metric::Euclidean => v.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt(),
                    Metric::Manhattan => v.iter().zip(query).map(|(a, b)| (a - b).abs()).sum(),
                    Metric::Dot => -dot,
                    Metric::Cosine => 1.0 - dot / (qn * v.iter().map(|x| x * x).sum::<f32>().sqrt()),
                };
                assert!((out[k] - want).abs() < 1e-4, "{metric:?} id {id}: {} vs {want}", out[k]);
            }
        }
        let back = PqFactory.load(dim, &q.save()).unwrap();
        assert_eq!(back.save(), q.save());
        assert!(PqFactory.load(dim + 1, &q.save()).is_err());
        assert!(PqFactory.load(dim, &q.save()[..100]).is_err());
        assert!(PqFactory.create(dim, &serde_json::json!({"m": 11})).is_err());
        assert!(PqFactory.create(dim, &serde_json::json!({"k": 1})).is_err());
    }
}
