//! [`VectorStore`]: the arena of a collection's vectors, their norms and their codes, by slot.
//!
//! Each of the three buffers is either in memory or borrowed from a file's memory map
//! ([`VectorStore::from_mapped`]); a mapped buffer is copied into memory by the first write that
//! changes it, so a read-only or read-mostly store of a large file costs no heap for its rows.

use super::mapped::{MappedSlice, Segment};
use super::AlignedF32;
use crate::format::SharedBytes;
use crate::traits::distance::l2_norm;
use crate::{Codes, Quantizer, Rows};

/// Rows are padded to a multiple of this many floats so every row starts 64-byte aligned.
const ROW_ALIGN_FLOATS: usize = 16;

/// The rows: an aligned arena in memory, or 64-byte aligned rows in a map.
#[derive(Debug, Clone)]
enum Arena {
    Owned(AlignedF32),
    Mapped(MappedSlice<f32>),
}

impl Arena {
    #[inline]
    fn as_slice(&self) -> &[f32] {
        match self {
            Arena::Owned(a) => a.as_slice(),
            Arena::Mapped(m) => m.as_slice(),
        }
    }

    fn to_mut(&mut self) -> &mut AlignedF32 {
        if let Arena::Mapped(m) = self {
            let mut a = AlignedF32::new();
            a.extend_from_slice(m.as_slice());
            *self = Arena::Owned(a);
        }
        match self {
            Arena::Owned(a) => a,
            Arena::Mapped(_) => unreachable!("just made owned"),
        }
    }

    fn memory_bytes(&self) -> usize {
        match self {
            Arena::Owned(a) => a.memory_bytes(),
            Arena::Mapped(m) if m.is_mapped() => 0,
            Arena::Mapped(m) => m.as_slice().len() * 4,
        }
    }
}

/// Vectors by slot: `f32` rows in an aligned arena, optional norms, optional quantized codes.
#[derive(Debug, Clone)]
pub struct VectorStore {
    dim: usize,
    stride: usize,
    rows: usize,
    data: Arena,
    keep_norms: bool,
    norms: Segment<f32>,
    code_len: usize,
    codes: Segment<u8>,
}

impl VectorStore {
    /// An empty store for `dim`-dimensional vectors; `keep_norms` when the distance needs them.
    pub fn new(dim: usize, keep_norms: bool) -> Self {
        VectorStore {
            dim,
            stride: Self::stride_for(dim),
            rows: 0,
            data: Arena::Owned(AlignedF32::new()),
            keep_norms,
            norms: Segment::default(),
            code_len: 0,
            codes: Segment::default(),
        }
    }

    /// Floats per row for `dim` dimensions: `dim` rounded up to a multiple of 16 (at least 16).
    pub fn stride_for(dim: usize) -> usize {
        dim.div_ceil(ROW_ALIGN_FLOATS).max(1) * ROW_ALIGN_FLOATS
    }

    /// A store of `rows` rows whose `f32` data (`rows × stride_for(dim)` floats, padding zero) and
    /// norms (`rows` floats, when `keep_norms`) are used in place from `data` and `norms`. `None`
    /// when a length is wrong or the bytes are not 64-byte aligned (the caller then copies).
    pub fn from_mapped(
        dim: usize,
        keep_norms: bool,
        rows: usize,
        data: SharedBytes,
        norms: Option<SharedBytes>,
    ) -> Option<Self> {
        let stride = Self::stride_for(dim);
        if data.len() != rows.checked_mul(stride * 4)? {
            return None;
        }
        let data = MappedSlice::new(data, 64)?;
        let norms = match (keep_norms, norms) {
            (true, Some(n)) if n.len() == rows.checked_mul(4)? => Segment::Mapped(MappedSlice::new(n, 4)?),
            (false, None) => Segment::default(),
            _ => return None,
        };
        Some(VectorStore {
            dim,
            stride,
            rows,
            data: Arena::Mapped(data),
            keep_norms,
            norms,
            code_len: 0,
            codes: Segment::default(),
        })
    }

    /// Floats per row (the padded stride).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Every row at the padded stride (`len() × stride()` floats, padding zero).
    pub fn padded_rows(&self) -> &[f32] {
        self.data.as_slice()
    }

    /// The per-row norms (empty unless the distance needs them).
    pub fn norms(&self) -> &[f32] {
        self.norms.as_slice()
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
        self.data.to_mut().reserve(additional * self.stride);
        if self.keep_norms {
            self.norms.to_mut().reserve(additional);
        }
        self.codes.to_mut().reserve(additional * self.code_len);
    }

    /// Appends a vector (already validated: right length, finite) and returns its slot.
    /// Encodes it too when `quantizer` is given and trained.
    pub fn push(&mut self, v: &[f32], quantizer: Option<&dyn Quantizer>) -> u32 {
        debug_assert_eq!(v.len(), self.dim);
        let slot = self.rows;
        let data = self.data.to_mut();
        data.resize((slot + 1) * self.stride);
        data.as_mut_slice()[slot * self.stride..slot * self.stride + self.dim].copy_from_slice(v);
        if self.keep_norms {
            self.norms.to_mut().push(l2_norm(v));
        }
        if self.code_len > 0 {
            let codes = self.codes.to_mut();
            let start = codes.len();
            codes.resize(start + self.code_len, 0);
            if let Some(q) = quantizer {
                q.encode(v, &mut codes[start..]);
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
        Rows { data: self.data.as_slice(), stride: self.stride, dim: self.dim, norms: self.norms.as_slice() }
    }

    /// Bytes per code (0 when not quantized or not yet encoded).
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    /// All codes as a [`Codes`] view.
    pub fn codes(&self) -> Codes<'_> {
        Codes { data: self.codes.as_slice(), code_len: self.code_len }
    }

    /// (Re-)encodes every row with a trained `quantizer` and keeps codes for future pushes.
    pub fn encode_all(&mut self, quantizer: &dyn Quantizer) {
        self.code_len = quantizer.code_len();
        let mut codes = vec![0u8; self.rows * self.code_len];
        if self.code_len > 0 {
            for slot in 0..self.rows {
                let s = slot * self.stride;
                let v = &self.data.as_slice()[s..s + self.dim];
                quantizer.encode(v, &mut codes[slot * self.code_len..(slot + 1) * self.code_len]);
            }
        }
        self.codes = Segment::Owned(codes);
    }

    /// Replaces the codes wholesale (when loading a file).
    pub fn set_codes(&mut self, code_len: usize, codes: Vec<u8>) {
        debug_assert_eq!(codes.len(), code_len * self.rows);
        self.code_len = code_len;
        self.codes = Segment::Owned(codes);
    }

    /// Uses `codes` (`len() × code_len` bytes) in place; false (nothing changed) when the length
    /// is wrong.
    pub fn set_codes_mapped(&mut self, code_len: usize, codes: SharedBytes) -> bool {
        match MappedSlice::new(codes, 1) {
            Some(m) if Some(m.as_slice().len()) == code_len.checked_mul(self.rows) => {
                self.code_len = code_len;
                self.codes = Segment::Mapped(m);
                true
            }
            _ => false,
        }
    }

    /// Heap bytes used by vectors, norms and codes (rows, norms or codes borrowed from a file's
    /// memory map count 0: they are file-backed pages the kernel can drop and re-read).
    pub fn memory_bytes(&self) -> usize {
        self.data.memory_bytes() + self.norms.memory_bytes() + self.codes.memory_bytes()
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
