//! [`Records`]: a collection's ids and metadata by slot, the id → slot map and the metadata
//! indexes — decoded from the file only when first needed.
//!
//! Opening a large file must not cost time in proportion to its size, yet the records section of a
//! million vectors takes a few hundred milliseconds to decode and index. So a collection opened
//! from a mapped file keeps the section's bytes ([`Lazy`]) and:
//! * answers "which record is in slot s" (search results) from the section's offsets table, one
//!   record at a time, without decoding the rest;
//! * decodes everything — records, the id map, the filter and text indexes — the first time an id
//!   is looked up, a filter runs or anything is written ([`Records::table`]). That is also when the
//!   records section's checksum is verified; a damaged section is then a `corrupted` error from
//!   that call (and every later one), never a panic.
//!
//! The records section of format 2 (see `docs/format.md`): `u64` slot count `n`, `(n + 1)` `u64`
//! offsets of each slot's entry relative to the first entry, then the entries (format 1's
//! encoding: `u8` flags, id, metadata).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use needle_core::format::LoadedSection;
use needle_core::{Error, Result};

use super::state::Record;
use crate::filter::MetaIndexes;

const REC_LIVE: u8 = 1;
const REC_HAS_META: u8 = 2;
const WHAT: &str = "records section";

/// Everything decoded: records by slot, ids, metadata indexes.
#[derive(Debug)]
pub(crate) struct Table {
    pub slots: Vec<Option<Record>>,
    pub ids: HashMap<String, u32>,
    pub meta: MetaIndexes,
}

impl Table {
    /// A table from decoded records; checks ids are unique. `text_field` as in [`MetaIndexes`].
    pub fn build(slots: Vec<Option<Record>>, text_field: Option<&str>) -> Result<Table> {
        let mut ids = HashMap::with_capacity(slots.len());
        for (slot, r) in slots.iter().enumerate() {
            if let Some(r) = r {
                if ids.insert(r.id.clone(), slot as u32).is_some() {
                    return Err(Error::corrupted(WHAT, 0, format!("id of slot {slot} appears twice")));
                }
            }
        }
        let meta = MetaIndexes::rebuilt(text_field, &slots);
        Ok(Table { slots, ids, meta })
    }

    pub fn empty(text_field: Option<&str>) -> Table {
        Table { slots: Vec::new(), ids: HashMap::new(), meta: MetaIndexes::new(text_field) }
    }
}

/// A format-2 records section not decoded yet.
#[derive(Debug)]
pub(crate) struct Lazy {
    section: LoadedSection,
    slots: usize,
    live: usize,
    text_field: Option<String>,
}

/// The records of a collection, decoded or lazily decodable.
#[derive(Debug)]
pub(crate) struct Records {
    lazy: Option<Lazy>,
    table: OnceLock<std::result::Result<Table, (u64, String)>>,
}

impl Records {
    pub fn decoded(table: Table) -> Records {
        Records { lazy: None, table: OnceLock::from(Ok(table)) }
    }

    /// Records to decode from `section` (format 2) when first needed. Checks the header (slot
    /// count and offsets table fit) now; `live` is the catalog's live count, used until decoding.
    pub fn lazy(section: LoadedSection, slots: usize, live: usize, text_field: Option<&str>) -> Result<Records> {
        let b = &section.data;
        let n = b.get(..8).map(|h| u64::from_le_bytes(h.try_into().expect("8 bytes")));
        if n != Some(slots as u64) {
            return Err(Error::corrupted(WHAT, 0, "slot count does not match the catalog"));
        }
        if entries_start(slots).is_none_or(|s| s > b.len()) {
            return Err(Error::corrupted(WHAT, 8, "offsets table truncated"));
        }
        if live > slots {
            return Err(Error::corrupted(WHAT, 0, "more live records than slots"));
        }
        let text_field = text_field.map(str::to_string);
        Ok(Records { lazy: Some(Lazy { section, slots, live, text_field }), table: OnceLock::new() })
    }

    /// Everything decoded (decoding now if not yet; see the module docs).
    pub fn table(&self) -> Result<&Table> {
        let r = self.table.get_or_init(|| {
            let lazy = self.lazy.as_ref().expect("an undecoded table has a section");
            decode_all(lazy).map_err(|e| (lazy.section.offset, e.to_string()))
        });
        r.as_ref().map_err(|(at, msg)| Error::corrupted(WHAT, *at, msg.clone()))
    }

    /// The table if it is decoded already (never decodes).
    pub fn if_decoded(&self) -> Option<&Table> {
        self.table.get().and_then(|r| r.as_ref().ok())
    }

    /// Everything decoded, for writing.
    pub fn table_mut(&mut self) -> Result<&mut Table> {
        self.table()?;
        self.lazy = None;
        Ok(self.table.get_mut().and_then(|r| r.as_mut().ok()).expect("decoded just above"))
    }

    /// The records section's bytes while nothing was decoded or changed (a checkpoint copies them
    /// as they are).
    pub fn undecoded_section(&self) -> Option<&[u8]> {
        match (self.table.get(), &self.lazy) {
            (None, Some(l)) => Some(l.section.data.as_slice()),
            _ => None,
        }
    }

    /// Live records (the catalog's count until decoded).
    pub fn live(&self) -> usize {
        match (self.table.get(), &self.lazy) {
            (Some(Ok(t)), _) => t.ids.len(),
            (_, Some(l)) => l.live,
            _ => 0,
        }
    }

    /// The record in `slot` (None: tombstone or no such slot), decoding only that entry when the
    /// table is not decoded yet.
    pub fn get(&self, slot: u32) -> Result<Option<Cow<'_, Record>>> {
        match (self.table.get(), &self.lazy) {
            (Some(Ok(t)), _) => Ok(t.slots.get(slot as usize).and_then(Option::as_ref).map(Cow::Borrowed)),
            (None, Some(l)) => decode_one(l, slot as usize).map(|r| r.map(Cow::Owned)),
            _ => self.table().map(|_| None),
        }
    }

    /// Approximate heap bytes of decoded records, ids and indexes (0 while undecoded: the section
    /// is in the file's map).
    pub fn memory_bytes(&self) -> usize {
        let Some(Ok(t)) = self.table.get() else { return 0 };
        let records: usize = t
            .slots
            .iter()
            .flatten()
            .map(|r| r.id.len() + 48 + r.metadata.as_ref().map_or(0, |m| m.to_string().len()))
            .sum();
        records + t.ids.capacity() * 40 + t.meta.memory_bytes()
    }
}

fn entries_start(slots: usize) -> Option<usize> {
    slots.checked_add(1)?.checked_mul(8)?.checked_add(8)
}

/// Encodes records in the format-2 layout (see the module docs).
pub(crate) fn encode(records: &[Option<Record>]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut offsets = Vec::with_capacity(records.len() + 1);
    for r in records {
        offsets.push(body.len() as u64);
        encode_entry(r.as_ref(), &mut body)?;
    }
    offsets.push(body.len() as u64);
    let mut b = Vec::with_capacity(8 + offsets.len() * 8 + body.len());
    b.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for o in offsets {
        b.extend_from_slice(&o.to_le_bytes());
    }
    b.extend_from_slice(&body);
    Ok(b)
}

/// One entry: `u8` flags, then for a live record the id and optional metadata JSON.
pub(crate) fn encode_entry(r: Option<&Record>, b: &mut Vec<u8>) -> Result<()> {
    match r {
        None => b.push(0),
        Some(r) => {
            let meta = r.metadata.as_ref().map(serde_json::to_vec).transpose()?;
            b.push(REC_LIVE | if meta.is_some() { REC_HAS_META } else { 0 });
            b.extend_from_slice(&(r.id.len() as u32).to_le_bytes());
            b.extend_from_slice(r.id.as_bytes());
            if let Some(m) = meta {
                b.extend_from_slice(&(m.len() as u32).to_le_bytes());
                b.extend_from_slice(&m);
            }
        }
    }
    Ok(())
}

/// A cursor over entries; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    /// Added to positions in error messages.
    pub base: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::corrupted(WHAT, (self.base + self.pos) as u64, "truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    /// One entry.
    pub fn entry(&mut self) -> Result<Option<Record>> {
        let flags = self.take(1)?[0];
        if flags & REC_LIVE == 0 {
            return Ok(None);
        }
        let at = (self.base + self.pos) as u64;
        let len = self.u32()? as usize;
        let id = std::str::from_utf8(self.take(len)?)
            .map_err(|_| Error::corrupted(WHAT, at, "id is not UTF-8"))?
            .to_string();
        let metadata = if flags & REC_HAS_META != 0 {
            let at = (self.base + self.pos) as u64;
            let len = self.u32()? as usize;
            Some(
                serde_json::from_slice(self.take(len)?)
                    .map_err(|e| Error::corrupted(WHAT, at, format!("metadata: {e}")))?,
            )
        } else {
            None
        };
        Ok(Some(Record { id, metadata }))
    }
}

fn decode_one(l: &Lazy, slot: usize) -> Result<Option<Record>> {
    if slot >= l.slots {
        return Ok(None);
    }
    let b = l.section.data.as_slice();
    // `lazy` checked that the header and offsets table fit.
    let start = entries_start(l.slots).expect("checked in lazy");
    let body = &b[start..];
    let (from, to) = (offset_of(b, slot), offset_of(b, slot + 1));
    if from > to || to > body.len() as u64 {
        return Err(Error::corrupted(WHAT, (16 + slot * 8) as u64, "offset out of range"));
    }
    let mut r = Reader { b: &body[from as usize..to as usize], pos: 0, base: start + from as usize };
    let rec = r.entry()?;
    if r.pos != r.b.len() {
        return Err(Error::corrupted(WHAT, (start + from as usize + r.pos) as u64, "entry longer than its offsets"));
    }
    Ok(rec)
}

/// Offset `i` of the offsets table (which starts at byte 8).
fn offset_of(b: &[u8], i: usize) -> u64 {
    let at = 8 + i * 8;
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn decode_all(l: &Lazy) -> Result<Table> {
    l.section.verify()?;
    let b = l.section.data.as_slice();
    let start = entries_start(l.slots).expect("checked in lazy");
    let mut r = Reader { b: &b[start..], pos: 0, base: start };
    let mut slots = Vec::with_capacity(l.slots);
    for slot in 0..l.slots {
        if offset_of(b, slot) != r.pos as u64 {
            return Err(Error::corrupted(WHAT, (8 + slot * 8) as u64, "offset does not match the entries"));
        }
        slots.push(r.entry()?);
    }
    if offset_of(b, l.slots) != r.pos as u64 || r.pos != r.b.len() {
        return Err(Error::corrupted(WHAT, (start + r.pos) as u64, "trailing bytes"));
    }
    let table = Table::build(slots, l.text_field.as_deref())?;
    if table.ids.len() != l.live {
        return Err(Error::corrupted(WHAT, 0, "live count does not match the catalog"));
    }
    Ok(table)
}
