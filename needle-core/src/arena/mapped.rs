//! Buffers that are either owned or borrowed in place from a file's memory map.
//!
//! A large file opened read from its map keeps its vectors, norms and codes where they are: the
//! store's buffers borrow ranges of the map ([`SharedBytes`]) and cost no heap memory. The first
//! write that changes or grows one copies it into memory ([`Segment::to_mut`]), so writers never
//! touch the map (which is read-only and may be shared with other processes).

use std::marker::PhantomData;

use crate::format::SharedBytes;

/// Element types that may be viewed straight from little-endian file bytes: every bit pattern is
/// a valid value and there is no padding.
pub trait Plain: Copy + Default + Send + Sync + 'static {}
impl Plain for f32 {}
impl Plain for u8 {}
impl Plain for u32 {}

/// A `[T]` borrowed from shared (usually mapped) bytes, checked at construction for length,
/// alignment and byte order.
#[derive(Clone)]
pub struct MappedSlice<T> {
    bytes: SharedBytes,
    len: usize,
    _t: PhantomData<T>,
}

impl<T> std::fmt::Debug for MappedSlice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedSlice").field("len", &self.len).finish()
    }
}

impl<T: Plain> MappedSlice<T> {
    /// Views `bytes` as `[T]` when its length is a multiple of `T`'s size, its start is aligned
    /// to `align` (at least `T`'s alignment) and this machine is little-endian; else `None`.
    pub fn new(bytes: SharedBytes, align: usize) -> Option<Self> {
        let size = std::mem::size_of::<T>();
        let align = align.max(std::mem::align_of::<T>());
        let ok = cfg!(target_endian = "little")
            && bytes.len().is_multiple_of(size)
            && (bytes.as_slice().as_ptr() as usize).is_multiple_of(align);
        ok.then(|| MappedSlice { len: bytes.len() / size, bytes, _t: PhantomData })
    }

    /// The elements.
    #[allow(unsafe_code)] // mapped bytes reinterpreted as the plain values `new` checked
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `new` checked that the bytes are aligned for `T` and hold exactly `len` values of
        // `T`, a `Plain` type (any bit pattern valid, no padding); the bytes are immutable and kept
        // alive by `self.bytes` (an `Arc` of the map or vector) for as long as the borrow of `self`.
        unsafe { std::slice::from_raw_parts(self.bytes.as_slice().as_ptr().cast::<T>(), self.len) }
    }

    /// True when the bytes are a memory map (not heap memory).
    pub fn is_mapped(&self) -> bool {
        self.bytes.is_mapped()
    }
}

/// A `Vec<T>` or a [`MappedSlice<T>`], copied into a vector on first mutation.
#[derive(Debug, Clone)]
pub enum Segment<T> {
    /// In memory.
    Owned(Vec<T>),
    /// Borrowed from shared bytes.
    Mapped(MappedSlice<T>),
}

impl<T: Plain> Default for Segment<T> {
    fn default() -> Self {
        Segment::Owned(Vec::new())
    }
}

impl<T: Plain> Segment<T> {
    /// The elements.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match self {
            Segment::Owned(v) => v,
            Segment::Mapped(m) => m.as_slice(),
        }
    }

    /// The elements as a vector, copying them out of the map first if needed.
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if let Segment::Mapped(m) = self {
            *self = Segment::Owned(m.as_slice().to_vec());
        }
        match self {
            Segment::Owned(v) => v,
            Segment::Mapped(_) => unreachable!("just made owned"),
        }
    }

    /// Heap bytes (0 for mapped elements).
    pub fn memory_bytes(&self) -> usize {
        match self {
            Segment::Owned(v) => v.capacity() * std::mem::size_of::<T>(),
            Segment::Mapped(m) if m.is_mapped() => 0,
            Segment::Mapped(m) => std::mem::size_of_val(m.as_slice()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_check_length_and_alignment_and_copy_on_write() {
        let floats: Vec<u8> = [1.5f32, -2.0, 3.25].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut padded = vec![0u8; 4];
        padded.extend_from_slice(&floats);
        let bytes = SharedBytes::owned(padded);
        let aligned = bytes.slice(4..16).unwrap();
        // The owned buffer comes from the allocator, at least 4-byte aligned.
        let view = MappedSlice::<f32>::new(aligned.clone(), 4).expect("aligned");
        assert_eq!(view.as_slice(), &[1.5, -2.0, 3.25]);
        assert!(MappedSlice::<f32>::new(bytes.slice(1..13).unwrap(), 4).is_none(), "misaligned");
        assert!(MappedSlice::<f32>::new(bytes.slice(4..15).unwrap(), 4).is_none(), "ragged length");
        let mut seg = Segment::Mapped(view);
        assert_eq!(seg.memory_bytes(), 12, "bytes read into memory count as owned");
        seg.to_mut().push(9.0);
        assert_eq!(seg.as_slice(), &[1.5, -2.0, 3.25, 9.0]);
        assert!(matches!(seg, Segment::Owned(_)));
        assert_eq!(aligned.len(), 12, "the shared bytes are untouched");
    }
}
