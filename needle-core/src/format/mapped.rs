//! Opening a file without reading it: sections as ranges of the file's read-only memory map.
//!
//! [`open_sections`] checks the header and the section table (both small) and, for a mapped file,
//! the checksums of every section except the kinds the caller defers — the bulk sections (vectors,
//! norms, codes, records, index) whose checksums would mean reading the whole file. A deferred section is
//! returned unverified ([`LoadedSection::verified`] false); the caller checks it later with
//! [`LoadedSection::verify`] (the database does so in the background, and records when it decodes
//! them). Structure is still checked at open by the decoders (lengths, counts, cross references),
//! so a damaged file gives a typed error, never a panic: a checksum only adds detection of flipped
//! payload bytes, which are otherwise plain (wrong) numbers.
//!
//! Files that are not mapped (below the caller's size threshold, encrypted, or a backend without a
//! map) are read into memory and every checksum is verified at once, as before.

use super::sections::{read_file, read_table, SectionKind, FLAG_ENCRYPTED};
use super::shared::SharedBytes;
use super::Header;
use crate::{Error, Result, StorageBackend};

/// A section as opened: its bytes (mapped or read) and whether its checksum was verified.
#[derive(Debug, Clone)]
pub struct LoadedSection {
    /// Kind.
    pub kind: SectionKind,
    /// Owning collection's position in the catalog (0 for the catalog).
    pub owner: u32,
    /// Offset of the section in the file (for error messages).
    pub offset: u64,
    /// Content.
    pub data: SharedBytes,
    /// Stored CRC-32 of the content.
    pub crc: u32,
    /// True when the CRC was checked at open.
    pub verified: bool,
}

impl LoadedSection {
    /// Checks the content against its stored CRC-32.
    pub fn verify(&self) -> Result<()> {
        if crc32fast::hash(&self.data) != self.crc {
            return Err(Error::corrupted(format!("{:?} section", self.kind), self.offset, "checksum mismatch"));
        }
        Ok(())
    }
}

/// Opens a file's sections. With `map` (and an unencrypted file whose backend hands out its map),
/// sections borrow the map and those of a kind in `defer` skip their checksum (see module docs);
/// otherwise everything is read and verified.
pub fn open_sections(
    backend: &dyn StorageBackend,
    name: &str,
    map: bool,
    defer: &[SectionKind],
) -> Result<(Header, Vec<LoadedSection>, bool)> {
    let mapped = if map { backend.mapped() } else { None };
    let Some(map) = mapped else { return read_all(backend, name) };
    let (header, entries) = read_table(backend, name)?;
    if header.flags & FLAG_ENCRYPTED != 0 {
        drop(map);
        return read_all(backend, name);
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        // The table check bounded every section by the file length; the map covers the file.
        let range = usize::try_from(e.offset).ok().zip(usize::try_from(e.offset + e.len).ok());
        let data = range
            .and_then(|(s, end)| SharedBytes::mapped(map.clone(), s..end))
            .ok_or_else(|| Error::corrupted(format!("{:?} section", e.kind), e.offset, "outside the mapped file"))?;
        let s = LoadedSection { kind: e.kind, owner: e.owner, offset: e.offset, data, crc: e.crc, verified: false };
        let verified = if defer.contains(&e.kind) {
            false
        } else {
            s.verify()?;
            true
        };
        out.push(LoadedSection { verified, ..s });
    }
    Ok((header, out, true))
}

fn read_all(backend: &dyn StorageBackend, name: &str) -> Result<(Header, Vec<LoadedSection>, bool)> {
    let (header, sections) = read_file(backend, name)?;
    let out = sections
        .into_iter()
        .map(|s| LoadedSection {
            kind: s.kind,
            owner: s.owner,
            offset: 0,
            crc: crc32fast::hash(&s.data),
            data: SharedBytes::owned(s.data),
            verified: true,
        })
        .collect();
    Ok((header, out, false))
}
