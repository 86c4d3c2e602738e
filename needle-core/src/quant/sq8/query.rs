//! Prepared queries and how the integer kernels' sums become distances on the exact metric's scale.
//!
//! Notation: stored codes `c`, decoded `x̂ = lo + s⊙c`; `m` the mean code and `μ = lo + s⊙m` the
//! sample mean (both from training); the query `q` stays in `f32` until prepared.
//!
//! **Cosine, dot, euclidean** all need an inner product of the query with `x̂ − μ`:
//! `Σ w_d (c_d − m_d)` with per-dimension weights `w_d = s_d q_d` (cosine/dot, `q` normalised for
//! cosine) or `w_d = s_d (q_d − μ_d)` (euclidean). The weights are quantized once per query to
//! `b_d ∈ [-127, 127]` with step `α = max|w| / 127`, so the sum becomes `α (Σ b_d c_d − Σ b_d m_d)`:
//! one u8 × i8 integer dot product per row (the VNNI kernel) and a per-query constant. Centring on
//! the mean code makes the weight rounding error multiply `c − m` (small) instead of `c` (up to 255),
//! which keeps it comparable to the codes' own rounding. Then
//!
//! * dot: `−(q·μ + Σ w (c − m))`
//! * cosine: `1 − (q̂·μ + Σ w (c − m)) / ‖x̂‖` with `q̂ = q/‖q‖` and `‖x̂‖` stored with the code
//! * euclidean: `sqrt(‖q − μ‖² − 2 Σ w (c − m) + ‖x̂ − μ‖²)`, `‖x̂ − μ‖²` stored with the code
//!
//! **Manhattan**: the query is encoded with the same grid (`a_d`); inside the range
//! `|q_d − x̂_d| ≈ s_d |a_d − c_d|`, and the part of `q_d` beyond the range adds exactly its
//! excess, summed once per query. The scales become integer weights in `Codebook::l1_weights`, so
//! the kernel computes `Σ |a_d − c_d| · v_d` and the distance is `excess + l1_unit · that`.
//!
//! The prepared bytes: `f32 alpha | f32 offset | f32 extra` (little-endian) then `dim` bytes of
//! query weights (i8) or, for manhattan, query codes (u8).

use super::codebook::{aux, Codebook, AUX_LEN};
use super::kernels::Sq8Kernel;
use crate::traits::distance::l2_norm;
use crate::{Codes, Metric};

/// Bytes before the per-dimension part of a prepared query.
pub(super) const HEADER_LEN: usize = 12;

/// The prepared form of `query` under `metric`; all zeros (a valid, inert form) when untrained.
pub(super) fn prepare(book: Option<&Codebook>, dim: usize, query: &[f32], metric: Metric) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + dim);
    out.resize(HEADER_LEN, 0);
    let Some(book) = book else {
        out.resize(HEADER_LEN + dim, 0);
        return out;
    };
    let (alpha, offset, extra) = match metric {
        Metric::Dot | Metric::Cosine => {
            let norm = if metric == Metric::Cosine { l2_norm(query) } else { 1.0 };
            let inv_norm = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            let weights: Vec<f32> = query.iter().zip(&book.scale).map(|(&q, &s)| q * inv_norm * s).collect();
            let (alpha, correction) = push_weights(&weights, &book.mean, &mut out);
            let q_dot_mu: f64 = query.iter().zip(&book.center).map(|(&q, &c)| f64::from(q) * f64::from(c)).sum();
            (alpha, q_dot_mu * f64::from(inv_norm) - correction, 0.0)
        }
        Metric::Euclidean => {
            let centred: Vec<f32> = query.iter().zip(&book.center).map(|(&q, &c)| q - c).collect();
            let weights: Vec<f32> = centred.iter().zip(&book.scale).map(|(&q, &s)| q * s).collect();
            let (alpha, correction) = push_weights(&weights, &book.mean, &mut out);
            let dist_sq: f64 = centred.iter().map(|&q| f64::from(q) * f64::from(q)).sum();
            (alpha, -correction, dist_sq)
        }
        Metric::Manhattan => {
            let mut excess = 0f64;
            for (d, &q) in query.iter().enumerate() {
                out.push(book.code(d, q));
                excess += f64::from((book.lo[d] - q).max(0.0) + (q - book.hi(d)).max(0.0));
            }
            (book.l1_unit, excess, 0.0)
        }
    };
    out[0..4].copy_from_slice(&alpha.to_le_bytes());
    out[4..8].copy_from_slice(&(offset as f32).to_le_bytes());
    out[8..12].copy_from_slice(&(extra as f32).to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN + dim);
    out
}

/// Quantizes `weights` to i8 (appended to `out`); returns the step `α` and `α Σ b_d m_d`.
fn push_weights(weights: &[f32], mean: &[f32], out: &mut Vec<u8>) -> (f32, f64) {
    let max = weights.iter().fold(0f32, |m, w| m.max(w.abs()));
    let alpha = if max.is_finite() && max > 0.0 { max / 127.0 } else { 0.0 };
    let inv_alpha = if alpha > 0.0 { 1.0 / alpha } else { 0.0 };
    let mut b_dot_m = 0f64;
    for (&w, &m) in weights.iter().zip(mean) {
        let b = (w * inv_alpha).round().clamp(-127.0, 127.0) as i8;
        b_dot_m += f64::from(b) * f64::from(m);
        out.push(b as u8);
    }
    (alpha, f64::from(alpha) * b_dot_m)
}

/// Approximate distances from a prepared query to the rows named by `ids`.
///
/// Untrained (`book` is `None`): every distance is `+∞`. Panics when `prepared` was not made for
/// this dimension count, when `codes` rows are not `dim + AUX_LEN` bytes, or when
/// `out.len() != ids.len()` — all caller bugs.
pub(super) fn distances(
    book: Option<&Codebook>,
    kernel: &Sq8Kernel,
    prepared: &[u8],
    metric: Metric,
    codes: &Codes<'_>,
    ids: &[u32],
    out: &mut [f32],
) {
    assert_eq!(out.len(), ids.len(), "one output per id");
    let Some(book) = book else {
        out.fill(f32::INFINITY);
        return;
    };
    let dim = book.dim();
    assert_eq!(prepared.len(), HEADER_LEN + dim, "prepared query is for another quantizer");
    assert_eq!(codes.code_len, dim + AUX_LEN, "codes are for another quantizer");
    let header = |at: usize| f32::from_le_bytes([prepared[at], prepared[at + 1], prepared[at + 2], prepared[at + 3]]);
    let (alpha, offset, extra) = (header(0), header(4), header(8));
    let payload = &prepared[HEADER_LEN..];

    if metric == Metric::Manhattan {
        kernel.l1_batch(codes, payload, &book.l1_weights, ids, out);
        out.iter_mut().for_each(|o| *o = offset + alpha * *o);
        return;
    }
    kernel.dot_batch(codes, as_i8(payload), ids, out);
    let rows = ids.iter().map(|&id| aux(codes.row(id as usize), dim));
    match metric {
        Metric::Dot => out.iter_mut().for_each(|o| *o = -(offset + alpha * *o)),
        Metric::Cosine => out.iter_mut().zip(rows).for_each(|(o, (norm, _))| {
            *o = if norm > 0.0 { 1.0 - (offset + alpha * *o) / norm } else { 1.0 };
        }),
        Metric::Euclidean => out.iter_mut().zip(rows).for_each(|(o, (_, dev_sq))| {
            *o = (extra - 2.0 * (offset + alpha * *o) + dev_sq).max(0.0).sqrt();
        }),
        Metric::Manhattan => unreachable!("handled above"),
    }
}

/// The query weights, stored as bytes in the prepared query, seen as the i8 values they are.
#[allow(unsafe_code)] // u8 -> i8 reinterpretation, same layout
fn as_i8(bytes: &[u8]) -> &[i8] {
    // SAFETY: `u8` and `i8` have the same size and alignment and every bit pattern is valid for
    // both; the new slice covers the same memory for the same lifetime, read-only.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}
