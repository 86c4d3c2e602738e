//! [`SharedBytes`]: a section's bytes as a range of a shared buffer — either the read-only memory
//! map of the file (zero copy) or a vector read into memory. Decoders take what they need from it;
//! a vector store can keep it and use its rows in place, which is what makes opening a large file
//! independent of its size.

use std::ops::Range;
use std::sync::Arc;

/// A shared, immutable owner of bytes: a memory map (`Arc<Mmap>`) or a `Vec<u8>`.
pub type ByteOwner = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// An immutable byte range of a shared buffer. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct SharedBytes {
    owner: ByteOwner,
    range: Range<usize>,
    mapped: bool,
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBytes").field("range", &self.range).field("mapped", &self.mapped).finish()
    }
}

impl SharedBytes {
    /// Bytes read into memory.
    pub fn owned(data: Vec<u8>) -> SharedBytes {
        let len = data.len();
        SharedBytes { owner: Arc::new(data), range: 0..len, mapped: false }
    }

    /// `range` of a memory map. `None` when the range is outside the map.
    pub fn mapped(map: ByteOwner, range: Range<usize>) -> Option<SharedBytes> {
        let len = (*map).as_ref().len();
        (range.start <= range.end && range.end <= len).then_some(SharedBytes { owner: map, range, mapped: true })
    }

    /// True when the bytes are a file's memory map (file-backed pages, not heap memory).
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.range.clone()]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// A sub-range (relative to this one); `None` when out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Option<SharedBytes> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        let start = self.range.start + range.start;
        Some(SharedBytes { owner: self.owner.clone(), range: start..start + range.len(), mapped: self.mapped })
    }

    /// Heap bytes this range keeps alive that belong to it (0 when mapped).
    pub fn memory_bytes(&self) -> usize {
        if self.mapped {
            0
        } else {
            self.len()
        }
    }
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}
