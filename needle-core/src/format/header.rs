//! The fixed 128-byte file header.
//!
//! ```text
//! off len field
//!   0   8 magic  "NEEDLEDB"
//!   8   4 format_version (u32 LE)
//!  12   4 flags (u32 LE; bit 0 = encrypted, reserved for the encryption issue)
//!  16   4 page_size (u32 LE; sections are 64-byte aligned, page size recorded for tooling)
//!  20   4 section_count (u32 LE)
//!  24   8 section_table_offset (u64 LE)
//!  32   4 section_table_crc (crc32 of the table bytes)
//!  36  16 file_id (random, stable across checkpoints of one database)
//!  52   8 generation (u64 LE; +1 on every save)
//!  60  64 reserved, zero
//! 124   4 header_crc (crc32 of bytes 0..124)
//! ```

use crate::{Error, Result};

/// The first 8 bytes of every Needle file.
pub const MAGIC: &[u8; 8] = b"NEEDLEDB";
/// The format version this build writes (and the highest it reads).
pub const FORMAT_VERSION: u32 = 2;
/// Header length in bytes.
pub const HEADER_LEN: usize = 128;

/// The decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version of the file.
    pub format_version: u32,
    /// Flag bits.
    pub flags: u32,
    /// Page size recorded for tooling.
    pub page_size: u32,
    /// Number of sections.
    pub section_count: u32,
    /// Where the section table starts.
    pub section_table_offset: u64,
    /// crc32 of the section table.
    pub section_table_crc: u32,
    /// Random id of this database.
    pub file_id: [u8; 16],
    /// Checkpoint counter.
    pub generation: u64,
}

impl Header {
    /// Encodes to exactly [`HEADER_LEN`] bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&self.format_version.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..20].copy_from_slice(&self.page_size.to_le_bytes());
        b[20..24].copy_from_slice(&self.section_count.to_le_bytes());
        b[24..32].copy_from_slice(&self.section_table_offset.to_le_bytes());
        b[32..36].copy_from_slice(&self.section_table_crc.to_le_bytes());
        b[36..52].copy_from_slice(&self.file_id);
        b[52..60].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32fast::hash(&b[0..124]);
        b[124..128].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks magic, version and checksum. `name` is used in error messages.
    pub fn decode(b: &[u8], name: &str) -> Result<Header> {
        if b.len() < HEADER_LEN || &b[0..8] != MAGIC {
            return Err(Error::NotANeedleFile(format!("{name}: missing the NEEDLEDB header")));
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let crc = u32_at(124);
        if crc32fast::hash(&b[0..124]) != crc {
            return Err(Error::corrupted("header", 0, "header checksum mismatch"));
        }
        let format_version = u32_at(8);
        if format_version == 0 || format_version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { found: format_version, supported: FORMAT_VERSION });
        }
        let mut file_id = [0u8; 16];
        file_id.copy_from_slice(&b[36..52]);
        Ok(Header {
            format_version,
            flags: u32_at(12),
            page_size: u32_at(16),
            section_count: u32_at(20),
            section_table_offset: u64_at(24),
            section_table_crc: u32_at(32),
            file_id,
            generation: u64_at(52),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format_version: FORMAT_VERSION,
            flags: 0,
            page_size: 4096,
            section_count: 3,
            section_table_offset: 4096,
            section_table_crc: 7,
            file_id: [9; 16],
            generation: 5,
        }
    }

    #[test]
    fn roundtrip() {
        let h = sample();
        assert_eq!(Header::decode(&h.encode(), "t").unwrap(), h);
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let good = sample().encode();
        for i in 0..HEADER_LEN {
            let mut b = good;
            b[i] ^= 0x40;
            assert!(Header::decode(&b, "t").is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn newer_version_is_refused_clearly() {
        let mut h = sample();
        h.format_version = FORMAT_VERSION + 1;
        let e = Header::decode(&h.encode(), "t").unwrap_err();
        assert!(matches!(e, Error::UnsupportedVersion { found, .. } if found == FORMAT_VERSION + 1));
        assert!(matches!(Header::decode(b"hello world", "t"), Err(Error::NotANeedleFile(_))));
    }
}
