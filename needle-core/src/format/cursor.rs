//! [`ByteCursor`]: the one bounds-checked reader of saved bytes, shared by every decoder of a
//! saved form (the HNSW index, the records section, WAL record payloads, index plugins).
//!
//! Every read checks the bytes that remain before it slices, so a short or damaged input is an
//! [`Error::Corrupted`] naming the component, the offset (the cursor's position plus the `base`
//! where its bytes start) and what was being read — never a panic and never an allocation sized
//! by an unchecked length. Integers are little-endian, as everywhere in the file format.

use crate::{Error, Result};

/// A bounds-checked little-endian reader over a byte slice (see the module docs).
#[derive(Debug, Clone)]
pub struct ByteCursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
    base: u64,
}

impl<'a> ByteCursor<'a> {
    /// A cursor at the start of `bytes`; `what` names the component in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        ByteCursor { bytes, pos: 0, what, base: 0 }
    }

    /// The same cursor reporting offsets from `base` (where `bytes` start in a larger whole).
    pub fn with_base(mut self, base: u64) -> Self {
        self.base = base;
        self
    }

    /// Bytes read so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The position as an offset for errors (`base + pos`).
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// A corruption error at the current position.
    pub fn error(&self, detail: impl Into<String>) -> Error {
        self.error_at(self.offset(), detail)
    }

    /// A corruption error at `offset` (an earlier [`offset`](Self::offset)).
    pub fn error_at(&self, offset: u64, detail: impl Into<String>) -> Error {
        Error::corrupted(self.what, offset, detail)
    }

    /// The next `n` bytes; `field` names them in the error when fewer remain.
    pub fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.error(format!("truncated: {field} needs {n} bytes, {} remain", self.remaining())));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    /// An `u8`.
    pub fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// A `u32` length, then that many bytes.
    pub fn bytes_u32(&mut self, field: &str) -> Result<&'a [u8]> {
        let n = self.u32(field)? as usize;
        self.take(n, field)
    }

    /// A `u32` length, then that many bytes of UTF-8; the error of bad UTF-8 points at the length.
    pub fn str_u32(&mut self, field: &str) -> Result<&'a str> {
        let at = self.offset();
        let b = self.bytes_u32(field)?;
        std::str::from_utf8(b).map_err(|_| self.error_at(at, format!("{field} is not UTF-8")))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(format!("{n} trailing bytes"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupted(e: Error) -> (String, u64, String) {
        match e {
            Error::Corrupted { what, offset, detail } => (what, offset, detail),
            other => panic!("not corrupted: {other}"),
        }
    }

    #[test]
    fn reads_little_endian_integers_and_strings_in_order() {
        let mut b = vec![7u8];
        b.extend_from_slice(&0x0102u16.to_le_bytes());
        b.extend_from_slice(&0x0304_0506u32.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(b"abc");
        let mut c = ByteCursor::new(&b, "test");
        assert_eq!(c.u8("a").unwrap(), 7);
        assert_eq!(c.u16("b").unwrap(), 0x0102);
        assert_eq!(c.u32("c").unwrap(), 0x0304_0506);
        assert_eq!(c.u64("d").unwrap(), u64::MAX);
        assert_eq!(c.str_u32("e").unwrap(), "abc");
        assert_eq!((c.pos(), c.remaining()), (b.len(), 0));
        c.finish().unwrap();
    }

    #[test]
    fn every_short_read_is_a_corruption_at_the_right_offset_and_moves_nothing() {
        let b = [1u8, 2, 3];
        let mut c = ByteCursor::new(&b, "thing").with_base(100);
        c.u8("first").unwrap();
        let (what, offset, detail) = corrupted(c.u32("count").unwrap_err());
        assert_eq!((what.as_str(), offset), ("thing", 101));
        assert_eq!(detail, "truncated: count needs 4 bytes, 2 remain");
        assert_eq!(c.pos(), 1, "a failed read consumes nothing");
        assert!(c.take(usize::MAX, "huge").is_err());
        let (_, offset, detail) = corrupted(c.finish().unwrap_err());
        assert_eq!((offset, detail.as_str()), (101, "2 trailing bytes"));
    }

    #[test]
    fn bad_utf8_and_overlong_lengths_are_errors() {
        let mut b = 2u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[0xff, 0xfe]);
        let (_, offset, detail) = corrupted(ByteCursor::new(&b, "s").with_base(8).str_u32("id").unwrap_err());
        assert_eq!((offset, detail.as_str()), (8, "id is not UTF-8"));
        let long = u32::MAX.to_le_bytes();
        assert!(ByteCursor::new(&long, "s").bytes_u32("blob").is_err());
    }
}
