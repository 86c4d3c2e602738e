//! SQ8's serialised form, little-endian:
//!
//! ```text
//! u32 version (1) | u32 dim | u8 trained (0 or 1)
//! if trained: f32 lo[dim] | f32 scale[dim] | f32 mean_code[dim]
//! ```
//!
//! Everything is checked on load — exact length, finite values, non-negative scales, mean codes
//! inside `0..=255` — so a damaged blob is [`Error::Corrupted`], never a panic or a quantizer that
//! produces NaN distances later.

use super::codebook::Codebook;
use crate::{Error, Result};

/// The version [`save`] writes and [`load`] reads.
pub(super) const VERSION: u32 = 1;

const HEADER_LEN: usize = 9;

/// Serialises the (optional) codebook of a `dim`-dimensional quantizer.
pub(super) fn save(dim: usize, book: Option<&Codebook>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + book.map_or(0, |_| 12 * dim));
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.push(u8::from(book.is_some()));
    if let Some(b) = book {
        for values in [&b.lo, &b.scale, &b.mean] {
            for v in values.iter() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

fn corrupted(offset: usize, detail: impl Into<String>) -> Error {
    Error::corrupted("sq8 quantizer", offset as u64, detail)
}

/// Reads what [`save`] wrote for a `dim`-dimensional quantizer.
pub(super) fn load(dim: usize, bytes: &[u8]) -> Result<Option<Codebook>> {
    if bytes.len() < HEADER_LEN {
        return Err(corrupted(0, format!("{} bytes is shorter than the {HEADER_LEN}-byte header", bytes.len())));
    }
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = u32_at(0);
    if version != VERSION {
        return Err(Error::UnsupportedVersion { found: version, supported: VERSION });
    }
    if u32_at(4) as usize != dim {
        return Err(corrupted(4, format!("saved for {} dimensions, expected {dim}", u32_at(4))));
    }
    let body = &bytes[HEADER_LEN..];
    match bytes[8] {
        0 if body.is_empty() => return Ok(None),
        0 => return Err(corrupted(HEADER_LEN, "untrained quantizer followed by data")),
        1 => {}
        other => return Err(corrupted(8, format!("trained flag is {other}, expected 0 or 1"))),
    }
    let expected = dim.checked_mul(12).ok_or_else(|| corrupted(4, "dimension count overflows"))?;
    if body.len() != expected {
        return Err(corrupted(HEADER_LEN, format!("{} bytes of ranges, expected {expected}", body.len())));
    }
    let array = |index: usize| -> Vec<f32> {
        body[index * 4 * dim..(index + 1) * 4 * dim]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let (lo, scale, mean) = (array(0), array(1), array(2));
    for d in 0..dim {
        let at = HEADER_LEN + 4 * d;
        if !lo[d].is_finite() {
            return Err(corrupted(at, format!("lower bound of dimension {d} is {}", lo[d])));
        }
        if !(scale[d] == 0.0 || scale[d].is_normal() && scale[d] > 0.0) || !(lo[d] + 255.0 * scale[d]).is_finite() {
            return Err(corrupted(at + 4 * dim, format!("scale of dimension {d} is {}", scale[d])));
        }
        if !(0.0..=255.0).contains(&mean[d]) {
            return Err(corrupted(at + 8 * dim, format!("mean code of dimension {d} is {}", mean[d])));
        }
    }
    Ok(Some(Codebook::from_parts(lo, scale, mean)))
}
