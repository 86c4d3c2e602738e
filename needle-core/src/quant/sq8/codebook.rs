//! The trained state of SQ8: per-dimension ranges, and encoding/decoding with them.
//!
//! Dimension `d` maps `[lo_d, lo_d + 255·scale_d]` onto codes `0..=255`:
//! `code = round((x − lo_d) / scale_d)`, clamped, and `x̂ = lo_d + scale_d · code`. So in range the
//! error is at most `scale_d / 2`; values outside the trained range clamp to its ends.
//!
//! A code row is `dim` code bytes followed by [`AUX_LEN`] bytes of per-vector data the distance
//! formulas need and cannot get from the codes cheaply (see `query.rs`): `‖x̂‖` (cosine) and
//! `‖x̂ − μ‖²` (euclidean), both `f32` little-endian, where `μ` is the training sample's mean in
//! decoded space.

use crate::{Error, Result, Rows};

/// Per-vector bytes after the codes: `‖x̂‖` and `‖x̂ − μ‖²` as little-endian `f32`.
pub const AUX_LEN: usize = 8;

/// Highest code value.
const MAX_CODE: f32 = 255.0;

/// What training learns, plus values derived from it once so queries need not recompute them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Codebook {
    /// Lower end of each dimension's range.
    pub lo: Vec<f32>,
    /// Width of one code step; 0 for a dimension that was constant in the sample.
    pub scale: Vec<f32>,
    /// Mean code of each dimension over the training sample (`0..=255`).
    pub mean: Vec<f32>,
    /// `1 / scale` (0 where `scale` is 0).
    inv_scale: Vec<f32>,
    /// `μ_d = lo_d + scale_d · mean_d`: the sample mean in decoded space.
    pub center: Vec<f32>,
    /// The scales quantized to `0..=127` in units of [`Codebook::l1_unit`] (manhattan weights).
    pub l1_weights: Vec<i8>,
    /// The value of one manhattan weight step.
    pub l1_unit: f32,
}

impl Codebook {
    /// Learns ranges (min/max per dimension) and mean codes from `sample`.
    pub fn train(dim: usize, sample: &Rows<'_>) -> Result<Self> {
        if sample.dim != dim {
            return Err(Error::DimensionMismatch { expected: dim, got: sample.dim });
        }
        if sample.is_empty() {
            return Err(Error::InvalidArgument("sq8 training needs at least one vector".into()));
        }
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for i in 0..sample.len() {
            for (d, &x) in sample.row(i).iter().enumerate() {
                if !x.is_finite() {
                    return Err(Error::NonFiniteVector { index: d, value: x });
                }
                lo[d] = lo[d].min(x);
                hi[d] = hi[d].max(x);
            }
        }
        let scale: Vec<f32> = lo.iter().zip(&hi).map(|(&l, &h)| step_width(l, h)).collect();
        let mut book = Codebook::from_parts(lo, scale, vec![0.0; dim]);

        let mut sums = vec![0f64; dim];
        for i in 0..sample.len() {
            for (d, &x) in sample.row(i).iter().enumerate() {
                sums[d] += f64::from(book.code(d, x));
            }
        }
        let mean = sums.iter().map(|s| (s / sample.len() as f64) as f32).collect();
        book = Codebook::from_parts(book.lo, book.scale, mean);
        Ok(book)
    }

    /// Builds a codebook from its stored parts (validated by the caller) and derives the rest.
    pub fn from_parts(lo: Vec<f32>, scale: Vec<f32>, mean: Vec<f32>) -> Self {
        let inv_scale = scale.iter().map(|&s| if s > 0.0 { 1.0 / s } else { 0.0 }).collect();
        let center = lo.iter().zip(&scale).zip(&mean).map(|((&l, &s), &m)| l + s * m).collect();
        let max_scale = scale.iter().copied().fold(0.0f32, f32::max);
        let l1_unit = max_scale / 127.0;
        let l1_weights = scale
            .iter()
            .map(|&s| if l1_unit > 0.0 { (s / l1_unit).round().clamp(0.0, 127.0) as i8 } else { 0 })
            .collect();
        Codebook { lo, scale, mean, inv_scale, center, l1_weights, l1_unit }
    }

    /// Dimensions.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// The code of value `x` in dimension `d` (clamped into the trained range; NaN → 0).
    #[inline]
    pub fn code(&self, d: usize, x: f32) -> u8 {
        // NaN survives the clamp, and the saturating `as` cast maps it to 0.
        ((x - self.lo[d]) * self.inv_scale[d]).clamp(0.0, MAX_CODE).round() as u8
    }

    /// Upper end of dimension `d`'s range.
    #[inline]
    pub fn hi(&self, d: usize) -> f32 {
        self.lo[d] + self.scale[d] * MAX_CODE
    }

    /// Encodes `v` into `out` (`dim` codes, then the auxiliary values).
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        let dim = self.dim();
        let (codes, aux) = out.split_at_mut(dim);
        let mut norm_sq = 0f64;
        let mut dev_sq = 0f64;
        for (d, (c, &x)) in codes.iter_mut().zip(v).enumerate() {
            *c = self.code(d, x);
            let decoded = f64::from(self.lo[d] + self.scale[d] * f32::from(*c));
            let dev = f64::from(self.scale[d]) * (f64::from(*c) - f64::from(self.mean[d]));
            norm_sq += decoded * decoded;
            dev_sq += dev * dev;
        }
        aux[..4].copy_from_slice(&(norm_sq.sqrt() as f32).to_le_bytes());
        aux[4..AUX_LEN].copy_from_slice(&(dev_sq as f32).to_le_bytes());
    }

    /// Decodes the first `dim` bytes of `code` into `out`.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (d, (o, &c)) in out.iter_mut().zip(code).enumerate() {
            *o = self.lo[d] + self.scale[d] * f32::from(c);
        }
    }
}

/// The auxiliary values of a code row: `(‖x̂‖, ‖x̂ − μ‖²)`.
#[inline(always)]
pub(super) fn aux(row: &[u8], dim: usize) -> (f32, f32) {
    let a = &row[dim..dim + AUX_LEN];
    (f32::from_le_bytes([a[0], a[1], a[2], a[3]]), f32::from_le_bytes([a[4], a[5], a[6], a[7]]))
}

/// `(hi − lo) / 255`, or 0 when the range is empty or too small to divide by safely.
fn step_width(lo: f32, hi: f32) -> f32 {
    // In f64 so that ranges like [-3e38, 3e38] do not overflow.
    let step = ((f64::from(hi) - f64::from(lo)) / f64::from(MAX_CODE)) as f32;
    if step.is_normal() && step > 0.0 {
        step
    } else {
        0.0
    }
}
