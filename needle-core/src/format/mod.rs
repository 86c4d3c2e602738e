//! The container format of a `.needle` file: a fixed header, a section table and checksummed,
//! 64-byte aligned sections. What goes *in* the sections (catalog, vectors, graph, records) is
//! decided by the layer above; this module only guarantees that what is read back is exactly what
//! was written, or a typed error.
//!
//! ```text
//! 0      header (128 bytes, see header.rs)
//! 128    sections, each starting on a 64-byte boundary
//! ...    section table: one 32-byte entry per section (kind, owner, offset, len, crc32)
//! ```
//! A file is written whole to a temporary path, synced, and renamed over the old one (see
//! [`write_file`]), so a crash leaves either the old or the new file, never a mix.

mod cursor;
mod header;
mod mapped;
mod sections;
mod shared;
pub mod wal;

pub use cursor::ByteCursor;
pub use header::{Header, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use mapped::{open_sections, LoadedSection};
pub use sections::{read_file, write_file, Section, SectionKind, FLAG_ENCRYPTED};
pub use shared::{ByteOwner, SharedBytes};
