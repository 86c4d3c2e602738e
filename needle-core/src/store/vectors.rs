//! [`VectorStore`]: the arena of a collection's vectors, their norms and their codes, by slot.

use super::AlignedF32;
use crate::traits::distance::l2_norm;
use crate::{Codes, Quantizer, Rows};

/// Rows are padded to a multiple of this many floats so every row starts 64-byte aligned.
const ROW_ALIGN_FLOATS: usize = 16;

/// Vectors by slot: `f32` rows in an aligned arena, optional norms, optional quantized codes.
#[derive(Debug, Clone)]
pub struct VectorStore {
    dim: usize,
    stride: usize,
    rows: usize,
    data: AlignedF32,
    keep_norms: bool,
    norms: Vec<f32>,
    code_len: usize,
    codes: Vec<u8>,
}

impl VectorStore {
    /// An empty store for `dim`-dimensional vectors; `keep_norms` when the distance needs them.
    pub fn new(dim: usize, keep_norms: bool) -> Self {
        let stride = dim.div_ceil(ROW_ALIGN_FLOATS).max(1) * ROW_ALIGN_FLOATS;
        VectorStore {
            dim,
            stride,
            rows: 0,
            data: AlignedF32::new(),
            keep_norms,
            norms: Vec::new(),
            code_len: 0,
            codes: Vec::new(),
        }
    }

    /// Dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of slots (live or not).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no slot exists.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Reserves room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        self.data.reserve(additional * self.stride);
        if self.keep_norms {
            self.norms.reserve(additional);
        }
        self.codes.reserve(additional * self.code_len);
    }

    /// Appends a vector (already validated: right length, finite) and returns its slot.
    /// Encodes it too when `quantizer` is given and trained.
    pub fn push(&mut self, v: &[f32], quantizer: Option<&dyn Quantizer>) -> u32 {
        debug_assert_eq!(v.len(), self.dim);
        let slot = self.rows;
        self.data.resize((slot + 1) * self.stride);
        self.data.as_mut_slice()[slot * self.stride..slot * self.stride + self.dim].copy_from_slice(v);
        if self.keep_norms {
            self.norms.push(l2_norm(v));
        }
        if self.code_len > 0 {
            let start = self.codes.len();
            self.codes.resize(start + self.code_len, 0);
            if let Some(q) = quantizer {
                q.encode(v, &mut self.codes[start..]);
            }
        }
        self.rows += 1;
        slot as u32
    }

    /// The vector in `slot`.
    pub fn vector(&self, slot: u32) -> &[f32] {
        let s = slot as usize * self.stride;
        &self.data.as_slice()[s..s + self.dim]
    }

    /// All rows as a [`Rows`] view.
    pub fn rows(&self) -> Rows<'_> {
        Rows { data: self.data.as_slice(), stride: self.stride, dim: self.dim, norms: &self.norms }
    }

    /// Bytes per code (0 when not quantized or not yet encoded).
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    /// All codes as a [`Codes`] view.
    pub fn codes(&self) -> Codes<'_> {
        Codes { data: &self.codes, code_len: self.code_len }
    }

    /// (Re-)encodes every row with a trained `quantizer` and keeps codes for future pushes.
    pub fn encode_all(&mut self, quantizer: &dyn Quantizer) {
        self.code_len = quantizer.code_len();
        self.codes = vec![0u8; self.rows * self.code_len];
        if self.code_len == 0 {
            return;
        }
        for slot in 0..self.rows {
            let s = slot * self.stride;
            let v = &self.data.as_slice()[s..s + self.dim];
            quantizer.encode(v, &mut self.codes[slot * self.code_len..(slot + 1) * self.code_len]);
        }
    }

    /// Replaces the codes wholesale (when loading a file).
    pub fn set_codes(&mut self, code_len: usize, codes: Vec<u8>) {
        debug_assert_eq!(codes.len(), code_len * self.rows);
        self.code_len = code_len;
        self.codes = codes;
    }

    /// Heap bytes used by vectors, norms and codes.
    pub fn memory_bytes(&self) -> usize {
        self.data.memory_bytes() + self.norms.capacity() * 4 + self.codes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_read_back() {
        let mut s = VectorStore::new(3, true);
        let a = s.push(&[3.0, 4.0, 0.0], None);
        let b = s.push(&[1.0, 0.0, 0.0], None);
        assert_eq!((a, b), (0, 1));
        assert_eq!(s.vector(0), &[3.0, 4.0, 0.0]);
        assert_eq!(s.vector(1), &[1.0, 0.0, 0.0]);
        let rows = s.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.norm(0), 5.0);
        assert_eq!(rows.stride, 16);
        assert_eq!(rows.row(1).as_ptr() as usize % 64, 0);
    }
}
