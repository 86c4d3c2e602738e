//! Sections and the section table; whole-file write (temp + sync + rename) and read.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::header::{Header, FORMAT_VERSION, HEADER_LEN};
use crate::{Error, Registry, Result, StorageBackend, StorageOptions};

/// What a section holds. Numbers are part of the format and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum SectionKind {
    /// The catalog: collection configs and component ids/versions (JSON).
    Catalog = 1,
    /// A collection's vectors: `f32` LE rows.
    Vectors = 2,
    /// A collection's quantized codes.
    Codes = 3,
    /// A collection's trained quantizer state.
    Quantizer = 4,
    /// A collection's index structure.
    Index = 5,
    /// A collection's ids, tombstones and metadata.
    Records = 6,
    /// How the file is encrypted (plaintext JSON: cipher id, key derivation, key check).
    Encryption = 7,
    /// A collection's per-row `f32` norms (format 2, distances that need them).
    Norms = 8,
}

impl SectionKind {
    fn from_u16(v: u16) -> Option<SectionKind> {
        Some(match v {
            1 => SectionKind::Catalog,
            2 => SectionKind::Vectors,
            3 => SectionKind::Codes,
            4 => SectionKind::Quantizer,
            5 => SectionKind::Index,
            6 => SectionKind::Records,
            7 => SectionKind::Encryption,
            8 => SectionKind::Norms,
            _ => return None,
        })
    }
}

/// One section: its kind, the collection it belongs to (its position in the catalog; 0 for the
/// catalog itself) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Kind.
    pub kind: SectionKind,
    /// Owning collection's position in the catalog.
    pub owner: u32,
    /// Content.
    pub data: Vec<u8>,
}

const ENTRY_LEN: usize = 32;
const ALIGN: u64 = 64;

fn align_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// Header flag: sections (but the encryption section) and WAL records are sealed by a cipher.
pub const FLAG_ENCRYPTED: u32 = 1;

/// Writes a whole database file crash-safely: to `<path>.tmp` through the `storage` backend,
/// sync, rename over `path`, sync the directory.
pub fn write_file(
    registry: &Registry,
    storage: &str,
    path: &Path,
    file_id: [u8; 16],
    generation: u64,
    flags: u32,
    sections: &[Section],
) -> Result<()> {
    let tmp = tmp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let backend = registry.storage(storage)?.open(Some(&tmp), &StorageOptions { read_only: false, create: true })?;
    let mut table = Vec::with_capacity(sections.len() * ENTRY_LEN);
    let mut offset = HEADER_LEN as u64;
    for s in sections {
        offset = align_up(offset);
        backend.write_at(offset, &s.data)?;
        table.extend_from_slice(&(s.kind as u16).to_le_bytes());
        table.extend_from_slice(&0u16.to_le_bytes());
        table.extend_from_slice(&s.owner.to_le_bytes());
        table.extend_from_slice(&offset.to_le_bytes());
        table.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
        table.extend_from_slice(&crc32fast::hash(&s.data).to_le_bytes());
        table.extend_from_slice(&0u32.to_le_bytes());
        offset += s.data.len() as u64;
    }
    let table_offset = align_up(offset);
    backend.write_at(table_offset, &table)?;
    let header = Header {
        format_version: FORMAT_VERSION,
        flags,
        page_size: 4096,
        section_count: sections.len() as u32,
        section_table_offset: table_offset,
        section_table_crc: crc32fast::hash(&table),
        file_id,
        generation,
    };
    backend.write_at(0, &header.encode())?;
    backend.set_len(table_offset + table.len() as u64)?;
    backend.sync()?;
    drop(backend);
    keep_mode_and_owner(path, &tmp)?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Gives the file a checkpoint is about to rename over `old` the old file's permission bits, owner
/// and group, so a replaced database stays as shared (or as private) as its operator made it; with
/// no old file the new one keeps the 0600 it was created with.
///
/// The owner and group go first (`chown` clears set-id bits). Only root may give a file to another
/// user; anyone may give it to one of their own groups. When the group cannot be kept, the group
/// permission bits are dropped rather than granted to the writer's group.
fn keep_mode_and_owner(old: &Path, new: &Path) -> Result<()> {
    use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
    let was = match std::fs::metadata(old) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let now = match std::fs::metadata(new) {
        Ok(m) => m,
        // A storage backend that keeps no file at this path has nothing to adjust.
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut mode = was.mode() & 0o777;
    if now.uid() != was.uid() || now.gid() != was.gid() {
        let permitted = |r: std::io::Result<()>| match r {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(false),
            Err(e) => Err(e),
        };
        let kept_owner = permitted(chown(new, Some(was.uid()), Some(was.gid())))?;
        let kept_group = kept_owner || now.gid() == was.gid() || permitted(chown(new, None, Some(was.gid())))?;
        if !kept_group {
            mode &= !0o070;
        }
    }
    std::fs::set_permissions(new, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// One entry of the section table, bounds-checked against the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub kind: SectionKind,
    pub owner: u32,
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
}

/// Reads and checks the header and the section table (CRC, kinds, every section's bounds).
pub(crate) fn read_table(backend: &dyn StorageBackend, name: &str) -> Result<(Header, Vec<Entry>)> {
    let len = backend.len()?;
    if len < HEADER_LEN as u64 {
        return Err(Error::NotANeedleFile(format!("{name}: {len} bytes is too short for a header")));
    }
    let header = Header::decode(&backend.read_vec(0, HEADER_LEN)?, name)?;
    let count = header.section_count as u64;
    let table_len = count.checked_mul(ENTRY_LEN as u64).filter(|&l| l <= len).ok_or_else(|| {
        Error::corrupted("section table", header.section_table_offset, format!("implausible count {count}"))
    })?;
    let table_end = header.section_table_offset.checked_add(table_len).filter(|&e| e <= len);
    if table_end.is_none() {
        return Err(Error::corrupted("section table", header.section_table_offset, "extends past end of file"));
    }
    let table = backend.read_vec(header.section_table_offset, table_len as usize)?;
    if crc32fast::hash(&table) != header.section_table_crc {
        return Err(Error::corrupted("section table", header.section_table_offset, "checksum mismatch"));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for e in table.chunks_exact(ENTRY_LEN) {
        let at = header.section_table_offset;
        let kind_raw = u16::from_le_bytes([e[0], e[1]]);
        let kind = SectionKind::from_u16(kind_raw)
            .ok_or_else(|| Error::corrupted("section table", at, format!("unknown section kind {kind_raw}")))?;
        let owner = u32::from_le_bytes(e[4..8].try_into().expect("4 bytes"));
        let offset = u64::from_le_bytes(e[8..16].try_into().expect("8 bytes"));
        let slen = u64::from_le_bytes(e[16..24].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(e[24..28].try_into().expect("4 bytes"));
        if offset < HEADER_LEN as u64 || offset.checked_add(slen).is_none_or(|end| end > header.section_table_offset) {
            return Err(Error::corrupted(format!("{kind:?} section"), offset, "out of bounds"));
        }
        entries.push(Entry { kind, owner, offset, len: slen, crc });
    }
    Ok((header, entries))
}

/// Reads and checks a whole file: header, table and every section's checksum.
pub fn read_file(backend: &dyn StorageBackend, name: &str) -> Result<(Header, Vec<Section>)> {
    let (header, entries) = read_table(backend, name)?;
    let mut sections = Vec::with_capacity(entries.len());
    for e in entries {
        let data = backend.read_vec(e.offset, e.len as usize)?;
        if crc32fast::hash(&data) != e.crc {
            return Err(Error::corrupted(format!("{:?} section", e.kind), e.offset, "checksum mismatch"));
        }
        sections.push(Section { kind: e.kind, owner: e.owner, data });
    }
    Ok((header, sections))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
