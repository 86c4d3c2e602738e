//! A growable `f32` buffer whose start is 64-byte aligned (one cache line, one AVX-512 register).

/// One cache line of floats; the unit of allocation.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A growable `f32` buffer, 64-byte aligned, zero-filled on growth.
#[derive(Clone, Default)]
pub struct AlignedF32 {
    lines: Vec<Line>,
    len: usize,
}

impl std::fmt::Debug for AlignedF32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedF32").field("len", &self.len).finish()
    }
}

impl AlignedF32 {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of floats.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reserves room for `additional` more floats.
    pub fn reserve(&mut self, additional: usize) {
        let need = (self.len + additional).div_ceil(16);
        self.lines.reserve(need.saturating_sub(self.lines.len()));
    }

    /// Resizes to `len` floats; new floats are zero.
    pub fn resize(&mut self, len: usize) {
        self.lines.resize(len.div_ceil(16), Line::default());
        if len < self.len {
            // Keep the invariant that floats past `len` are zero.
            let s = self.as_full_mut();
            s[len..].fill(0.0);
        }
        self.len = len;
    }

    /// Appends floats.
    pub fn extend_from_slice(&mut self, v: &[f32]) {
        let start = self.len;
        self.resize(start + v.len());
        self.as_mut_slice()[start..].copy_from_slice(v);
    }

    /// The floats.
    pub fn as_slice(&self) -> &[f32] {
        &self.as_full()[..self.len]
    }

    /// The floats, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        let len = self.len;
        &mut self.as_full_mut()[..len]
    }

    /// Heap bytes in use.
    pub fn memory_bytes(&self) -> usize {
        self.lines.capacity() * 64
    }

    #[allow(unsafe_code)] // lines reinterpreted as the f32s they hold
    fn as_full(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; 16]` with no padding (64 bytes, align 64), so a
        // slice of `n` lines is exactly `16 n` initialised, properly aligned `f32`s.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.lines.len() * 16) }
    }

    #[allow(unsafe_code)] // as in `as_full`
    fn as_full_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_full`; the exclusive borrow of `self.lines` makes the view unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.lines.len() * 16) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_growth_and_zero_fill() {
        let mut a = AlignedF32::new();
        assert!(a.is_empty());
        a.extend_from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(a.as_slice(), &[1.0, 2.0, 3.0]);
        assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        for i in 0..1000 {
            a.extend_from_slice(&[i as f32]);
        }
        assert_eq!(a.len(), 1003);
        assert_eq!(a.as_slice()[1002], 999.0);
        assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        a.resize(2);
        a.resize(5);
        assert_eq!(a.as_slice(), &[1.0, 2.0, 0.0, 0.0, 0.0]);
    }
}
