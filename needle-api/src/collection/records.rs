//! [`Records`]: a collection's ids and metadata by slot, the id → slot index and the metadata
//! indexes — kept compact, and decoded from the file in stages, each only when first needed.
//!
//! Memory: ids live in an [`IdTable`] (one byte arena, an end offset per slot, a live bitset, a
//! table of slots; see `ids.rs`), and each slot's metadata is an `Option<Box<Value>>` (8 bytes
//! when absent). Nothing stores an id twice.
//!
//! Opening a large file must not cost time in proportion to its size, so a collection opened from
//! a mapped file (format 2) keeps the records section's bytes ([`Lazy`]) and decodes:
//! * nothing, to say which record is in slot `s` (search results): that one entry is read through
//!   the section's offsets table;
//! * the ids alone ([`Records::ids`]) the first time an id is looked up, inserted or deleted:
//!   entries are walked reading flags and ids, metadata JSON is skipped unparsed. This is when the
//!   section's checksum is verified;
//! * the metadata of every slot and the filter and text indexes ([`Records::meta`]) the first
//!   time a filter, a text or hybrid query or a rebuild needs them. Writes made before that keep
//!   their metadata in memory (`tail`) and only tombstone ids, so the indexes, when built, are
//!   exactly those of the live records.
//!
//! A damaged section is a `corrupted` error from the call that finds it and from every later call
//! (the failed stage is remembered), never a panic.
//!
//! The records section of format 2 (see `docs/format.md`): `u64` slot count `n`, `(n + 1)` `u64`
//! offsets of each slot's entry relative to the first entry, then the entries (format 1's
//! encoding: `u8` flags, for a live record `u32` id length and the id, and with metadata `u32`
//! length and the metadata's JSON).

use std::borrow::Cow;
use std::sync::OnceLock;

use needle_core::format::LoadedSection;
use needle_core::{Error, Result};
use serde_json::Value;

use super::ids::IdTable;
use super::meta_index::MetaIndexes;

/// A live vector's id and metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub id: String,
    pub metadata: Option<serde_json::Value>,
}

const REC_LIVE: u8 = 1;
const REC_HAS_META: u8 = 2;
const WHAT: &str = "records section";

/// Metadata by position, `Option<Box<Value>>` each (8 bytes when absent); trailing absent
/// entries are not stored, so a collection without metadata pays nothing.
#[derive(Debug, Default)]
struct Docs(Vec<Option<Box<Value>>>);

impl Docs {
    fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i)?.as_deref()
    }

    fn set(&mut self, i: usize, doc: Option<Box<Value>>) {
        if let Some(d) = doc {
            if i >= self.0.len() {
                self.0.resize_with(i + 1, || None);
            }
            self.0[i] = Some(d);
        } else if let Some(old) = self.0.get_mut(i) {
            *old = None;
        }
    }

    fn take(&mut self, i: usize) -> Option<Box<Value>> {
        self.0.get_mut(i)?.take()
    }

    fn memory_bytes(&self) -> usize {
        self.0.capacity() * 8 + self.0.iter().flatten().map(|v| value_bytes(v)).sum::<usize>()
    }
}

/// The outcome of a decoding stage; a failure keeps the error's file offset and detail.
type Stage<T> = std::result::Result<T, (u64, String)>;

/// A format-2 records section, the source of slots `0..slots` (see the module docs).
#[derive(Debug)]
struct Lazy {
    section: LoadedSection,
    slots: usize,
    /// The catalog's live count (what `live()` says before the ids are decoded).
    live: usize,
}

/// The metadata stage: documents of the section's slots and the indexes over every live slot.
#[derive(Debug)]
struct Meta {
    /// Metadata of slots `0..base` (empty when there is no section).
    docs: Docs,
    indexes: MetaIndexes,
}

/// The records of a collection (see the module docs).
#[derive(Debug)]
pub(crate) struct Records {
    lazy: Option<Lazy>,
    ids: OnceLock<Stage<IdTable>>,
    meta: OnceLock<Stage<Meta>>,
    /// Metadata of slots `base..` (every slot when there is no section), by `slot - base`.
    tail: Docs,
    /// A write happened since the section was loaded (it no longer describes the records).
    changed: bool,
    text_field: Option<String>,
}

/// The decoded metadata stage, read-only.
pub(crate) struct MetaView<'a> {
    pub indexes: &'a MetaIndexes,
    base: usize,
    docs: &'a Docs,
    tail: &'a Docs,
}

impl<'a> MetaView<'a> {
    /// The metadata of `slot` (None: none, or not live).
    pub fn doc(&self, slot: u32) -> Option<&'a Value> {
        let s = slot as usize;
        match s.checked_sub(self.base) {
            None => self.docs.get(s),
            Some(t) => self.tail.get(t),
        }
    }
}

impl Records {
    /// The records of a new, empty collection; `text_field` as in [`MetaIndexes::new`].
    pub fn empty(text_field: Option<&str>) -> Records {
        Records {
            lazy: None,
            ids: OnceLock::from(Ok(IdTable::new())),
            meta: OnceLock::from(Ok(Meta { docs: Docs::default(), indexes: MetaIndexes::new(text_field) })),
            tail: Docs::default(),
            changed: true,
            text_field: text_field.map(str::to_string),
        }
    }

    /// Records decoded from a list by slot (format 1); ids must be unique.
    pub fn from_records(records: Vec<Option<Record>>, text_field: Option<&str>) -> Result<Records> {
        let bytes = records.iter().flatten().map(|r| r.id.len()).sum();
        let live = records.iter().flatten().count();
        let mut ids = IdTable::with_capacity(records.len(), live, bytes);
        let mut tail = Docs::default();
        for (slot, r) in records.into_iter().enumerate() {
            ids.push_unindexed(r.as_ref().map(|r| r.id.as_str()));
            tail.set(slot, r.and_then(|r| r.metadata).map(Box::new));
        }
        ids.index_all().map_err(|slot| duplicate(slot as usize))?;
        let indexes = MetaIndexes::rebuilt(text_field, ids.live_slots().map(|s| (s, tail.get(s as usize))));
        Ok(Records {
            lazy: None,
            ids: OnceLock::from(Ok(ids)),
            meta: OnceLock::from(Ok(Meta { docs: Docs::default(), indexes })),
            tail,
            changed: true,
            text_field: text_field.map(str::to_string),
        })
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
        if u32::try_from(slots).is_err() {
            return Err(Error::corrupted(WHAT, 0, "more slots than slot numbers"));
        }
        Ok(Records {
            lazy: Some(Lazy { section, slots, live }),
            ids: OnceLock::new(),
            meta: OnceLock::new(),
            tail: Docs::default(),
            changed: false,
            text_field: text_field.map(str::to_string),
        })
    }

    /// Everything decoded now into memory, the section dropped (a file read into memory).
    pub fn into_decoded(self) -> Result<Records> {
        let Some(l) = &self.lazy else { return Ok(self) };
        let ids = decode_ids(l).map_err(|e| at(l, e)).map_err(damage)?;
        let docs = decode_docs(l, &ids).map_err(|e| at(l, e)).map_err(damage)?;
        let indexes =
            MetaIndexes::rebuilt(self.text_field.as_deref(), ids.live_slots().map(|s| (s, docs.get(s as usize))));
        Ok(Records {
            lazy: None,
            ids: OnceLock::from(Ok(ids)),
            meta: OnceLock::from(Ok(Meta { docs: Docs::default(), indexes })),
            tail: docs,
            changed: true,
            text_field: self.text_field,
        })
    }

    /// The metadata field the text index covers.
    pub fn text_field(&self) -> Option<&str> {
        self.text_field.as_deref()
    }

    fn base(&self) -> usize {
        self.lazy.as_ref().map_or(0, |l| l.slots)
    }

    /// The error of a stage that failed earlier.
    fn check(&self) -> Result<()> {
        match (self.ids.get(), self.meta.get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Err(damage(e.clone())),
            _ => Ok(()),
        }
    }

    /// The ids (decoding them now if not yet; see the module docs).
    pub fn ids(&self) -> Result<&IdTable> {
        self.check()?;
        let r = self.ids.get_or_init(|| {
            let l = self.lazy.as_ref().expect("records without ids have a section");
            decode_ids(l).map_err(|e| at(l, e))
        });
        r.as_ref().map_err(|e| damage(e.clone()))
    }

    /// The metadata of every slot and the filter and text indexes (decoding now if not yet).
    pub fn meta(&self) -> Result<MetaView<'_>> {
        let ids = self.ids()?;
        let r = self.meta.get_or_init(|| {
            let l = self.lazy.as_ref().expect("records without metadata have a section");
            let docs = decode_docs(l, ids).map_err(|e| at(l, e))?;
            let doc = |s: u32| match (s as usize).checked_sub(l.slots) {
                None => docs.get(s as usize),
                Some(t) => self.tail.get(t),
            };
            let indexes = MetaIndexes::rebuilt(self.text_field.as_deref(), ids.live_slots().map(|s| (s, doc(s))));
            Ok(Meta { docs, indexes })
        });
        let m = r.as_ref().map_err(|e| damage(e.clone()))?;
        Ok(MetaView { indexes: &m.indexes, base: self.base(), docs: &m.docs, tail: &self.tail })
    }

    /// Whether the metadata stage is decoded (or failed).
    #[cfg(test)]
    pub fn meta_decoded(&self) -> bool {
        self.meta.get().is_some()
    }

    /// The ids for a write: decoded, and the section no longer the records as they are.
    fn ids_mut(&mut self) -> Result<&mut IdTable> {
        self.ids()?;
        self.changed = true;
        Ok(self.ids.get_mut().and_then(|r| r.as_mut().ok()).expect("decoded just above"))
    }

    /// Slots, tombstones included (decodes the ids).
    pub fn slots(&self) -> Result<usize> {
        Ok(self.ids()?.slots())
    }

    /// Appends a live record in the next slot (which it returns). A live id is a `DuplicateId`
    /// error and changes nothing.
    pub fn push(&mut self, record: Record) -> Result<u32> {
        self.push_parts(&record.id, record.metadata)
    }

    /// [`Records::push`] of an id the caller keeps (no `String` per record in a bulk insert).
    pub fn push_parts(&mut self, id: &str, metadata: Option<Value>) -> Result<u32> {
        let slot = self.ids_mut()?.push(Some(id)).map_err(|_| Error::DuplicateId(id.to_string()))?;
        let doc = metadata.map(Box::new);
        if let Some(Ok(m)) = self.meta.get_mut() {
            m.indexes.insert(slot, doc.as_deref());
        }
        self.tail.set(slot as usize - self.base(), doc);
        Ok(slot)
    }

    /// Makes room for `slots` more records whose ids take `id_bytes` bytes in all.
    pub fn reserve(&mut self, slots: usize, id_bytes: usize) -> Result<()> {
        self.ids_mut()?.reserve(slots, id_bytes);
        Ok(())
    }

    /// Tombstones `slot` (nothing when it is not live).
    pub fn remove_slot(&mut self, slot: u32) -> Result<()> {
        if !self.ids_mut()?.kill(slot) {
            return Ok(());
        }
        let (s, base) = (slot as usize, self.base());
        let meta = self.meta.get_mut().and_then(|r| r.as_mut().ok());
        let doc = match (s.checked_sub(base), meta) {
            (Some(t), _) => self.tail.take(t),
            (None, Some(m)) => m.docs.take(s),
            // Undecoded metadata of the section: the decode skips slots that are not live.
            (None, None) => None,
        };
        if let Some(Ok(m)) = self.meta.get_mut() {
            m.indexes.remove(slot, doc.as_deref());
        }
        Ok(())
    }

    /// Live records (the catalog's count until the ids are decoded).
    pub fn live(&self) -> usize {
        match (self.ids.get(), &self.lazy) {
            (Some(Ok(t)), _) => t.live_count(),
            (_, Some(l)) => l.live,
            _ => 0,
        }
    }

    /// Live slots in increasing order, if the ids are decoded (never decodes).
    pub fn live_slots_if_decoded(&self) -> Option<impl Iterator<Item = u32> + '_> {
        self.ids.get().and_then(|r| r.as_ref().ok()).map(IdTable::live_slots)
    }

    /// The record in `slot` (None: tombstone or no such slot), its metadata only `with_metadata`.
    /// Reads only that entry when nothing is decoded yet.
    pub fn get(&self, slot: u32, with_metadata: bool) -> Result<Option<Record>> {
        self.check()?;
        let s = slot as usize;
        let id = match (self.ids.get(), &self.lazy) {
            (Some(Ok(ids)), _) => match ids.id(slot) {
                Some(id) => id.to_string(),
                None => return Ok(None),
            },
            // Ids not decoded: nothing was written, the section is the truth.
            (_, Some(l)) => match entry_at(l, s)? {
                Some(e) => e.id.to_string(),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let metadata = if with_metadata { self.doc(s)? } else { None };
        Ok(Some(Record { id, metadata }))
    }

    /// The metadata of a live slot, from wherever it is.
    fn doc(&self, s: usize) -> Result<Option<Value>> {
        let Some(l) = self.lazy.as_ref().filter(|l| s < l.slots) else {
            return Ok(self.tail.get(s - self.base()).cloned());
        };
        if let Some(Ok(m)) = self.meta.get() {
            return Ok(m.docs.get(s).cloned());
        }
        entry_at(l, s)?.and_then(|e| e.meta).map(|(at, m)| parse_doc(at, m)).transpose()
    }

    /// The records section: the loaded one as it is while nothing was written, else encoded.
    pub fn encode(&self) -> Result<Cow<'_, [u8]>> {
        if let (Some(l), false) = (&self.lazy, self.changed) {
            return Ok(Cow::Borrowed(l.section.data.as_slice()));
        }
        let ids = self.ids()?;
        let n = ids.slots();
        let mut body = Vec::new();
        let mut offsets = Vec::with_capacity(n + 1);
        for slot in 0..n {
            offsets.push(body.len() as u64);
            let Some(id) = ids.id(slot as u32) else {
                body.push(0);
                continue;
            };
            let meta: Option<Cow<'_, [u8]>> = match &self.lazy {
                // Undecoded metadata of the section is copied as it is.
                Some(l) if slot < l.slots && self.meta.get().is_none() => {
                    entry_at(l, slot)?.and_then(|e| e.meta).map(|(_, m)| Cow::Borrowed(m))
                }
                _ => self.doc(slot)?.map(|m| serde_json::to_vec(&m)).transpose()?.map(Cow::Owned),
            };
            put_entry(&mut body, Some(id), meta.as_deref());
        }
        offsets.push(body.len() as u64);
        let mut b = Vec::with_capacity(8 + offsets.len() * 8 + body.len());
        b.extend_from_slice(&(n as u64).to_le_bytes());
        for o in offsets {
            b.extend_from_slice(&o.to_le_bytes());
        }
        b.extend_from_slice(&body);
        Ok(Cow::Owned(b))
    }

    /// Approximate heap bytes of what is decoded (the undecoded section is in the file's map).
    pub fn memory_bytes(&self) -> usize {
        let ids = self.ids.get().and_then(|r| r.as_ref().ok()).map_or(0, IdTable::memory_bytes);
        let meta = self.meta.get().and_then(|r| r.as_ref().ok());
        ids + self.tail.memory_bytes() + meta.map_or(0, |m| m.docs.memory_bytes() + m.indexes.memory_bytes())
    }
}

/// Heap bytes of a boxed JSON value (approximate: allocator overhead not counted).
fn value_bytes(v: &Value) -> usize {
    fn inner(v: &Value) -> usize {
        match v {
            Value::String(s) => s.capacity(),
            Value::Array(a) => a.capacity() * std::mem::size_of::<Value>() + a.iter().map(inner).sum::<usize>(),
            // Entries of the (insertion-ordered) map: key, value, hash and an index slot.
            Value::Object(m) => m.iter().map(|(k, v)| 80 + k.capacity() + inner(v)).sum(),
            _ => 0,
        }
    }
    std::mem::size_of::<Value>() + inner(v)
}

fn duplicate(slot: usize) -> Error {
    Error::corrupted(WHAT, 0, format!("id of slot {slot} appears twice"))
}

/// A decoding error, placed in the file (`l`'s offset plus the offset within the section).
fn at(l: &Lazy, e: Error) -> (u64, String) {
    match e {
        Error::Corrupted { offset, detail, .. } => (l.section.offset + offset, detail),
        other => (l.section.offset, other.to_string()),
    }
}

fn damage((offset, detail): (u64, String)) -> Error {
    Error::corrupted(WHAT, offset, detail)
}

fn entries_start(slots: usize) -> Option<usize> {
    slots.checked_add(1)?.checked_mul(8)?.checked_add(8)
}

/// One entry: `u8` flags, then for a live record the id and optional metadata JSON.
fn put_entry(b: &mut Vec<u8>, id: Option<&str>, meta: Option<&[u8]>) {
    let Some(id) = id else {
        b.push(0);
        return;
    };
    b.push(REC_LIVE | if meta.is_some() { REC_HAS_META } else { 0 });
    b.extend_from_slice(&(id.len() as u32).to_le_bytes());
    b.extend_from_slice(id.as_bytes());
    if let Some(m) = meta {
        b.extend_from_slice(&(m.len() as u32).to_le_bytes());
        b.extend_from_slice(m);
    }
}

/// Encodes one record as an entry (format 1's records are these back to back).
#[cfg(test)]
pub(crate) fn encode_entry(r: Option<&Record>, b: &mut Vec<u8>) -> Result<()> {
    let meta = r.and_then(|r| r.metadata.as_ref()).map(serde_json::to_vec).transpose()?;
    put_entry(b, r.map(|r| r.id.as_str()), meta.as_deref());
    Ok(())
}

/// A live entry as stored: its id and (file-relative position, bytes) of its metadata JSON.
struct RawEntry<'a> {
    id: &'a str,
    meta: Option<(u64, &'a [u8])>,
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

    /// One entry, its metadata left unparsed.
    fn raw_entry(&mut self) -> Result<Option<RawEntry<'a>>> {
        let flags = self.take(1)?[0];
        if flags & REC_LIVE == 0 {
            return Ok(None);
        }
        let at = (self.base + self.pos) as u64;
        let len = self.u32()? as usize;
        let id = std::str::from_utf8(self.take(len)?).map_err(|_| Error::corrupted(WHAT, at, "id is not UTF-8"))?;
        let meta = if flags & REC_HAS_META != 0 {
            let at = (self.base + self.pos) as u64;
            let len = self.u32()? as usize;
            Some((at, self.take(len)?))
        } else {
            None
        };
        Ok(Some(RawEntry { id, meta }))
    }

    /// One entry.
    pub fn entry(&mut self) -> Result<Option<Record>> {
        let Some(e) = self.raw_entry()? else { return Ok(None) };
        let metadata = e.meta.map(|(at, m)| parse_doc(at, m)).transpose()?;
        Ok(Some(Record { id: e.id.to_string(), metadata }))
    }
}

fn parse_doc(at: u64, json: &[u8]) -> Result<Value> {
    serde_json::from_slice(json).map_err(|e| Error::corrupted(WHAT, at, format!("metadata: {e}")))
}

/// The entry of `slot`, read through the offsets table (None: a tombstone or no such slot).
fn entry_at(l: &Lazy, slot: usize) -> Result<Option<RawEntry<'_>>> {
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
    let e = r.raw_entry()?;
    if r.pos != r.b.len() {
        return Err(Error::corrupted(WHAT, (start + from as usize + r.pos) as u64, "entry longer than its offsets"));
    }
    Ok(e)
}

/// Offset `i` of the offsets table (which starts at byte 8).
fn offset_of(b: &[u8], i: usize) -> u64 {
    let at = 8 + i * 8;
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The ids stage: verifies the section's checksum and every offset, reads flags and ids, skips
/// metadata.
fn decode_ids(l: &Lazy) -> Result<IdTable> {
    if !l.section.verified && l.section.verify().is_err() {
        return Err(Error::corrupted(WHAT, 0, "checksum mismatch"));
    }
    let b = l.section.data.as_slice();
    let start = entries_start(l.slots).expect("checked in lazy");
    let mut r = Reader { b: &b[start..], pos: 0, base: start };
    let mut ids = IdTable::with_capacity(l.slots, l.live, 0);
    for slot in 0..l.slots {
        if offset_of(b, slot) != r.pos as u64 {
            return Err(Error::corrupted(WHAT, (8 + slot * 8) as u64, "offset does not match the entries"));
        }
        ids.push_unindexed(r.raw_entry()?.map(|e| e.id));
    }
    if offset_of(b, l.slots) != r.pos as u64 || r.pos != r.b.len() {
        return Err(Error::corrupted(WHAT, (start + r.pos) as u64, "trailing bytes"));
    }
    if ids.live_count() != l.live {
        return Err(Error::corrupted(WHAT, 0, "live count does not match the catalog"));
    }
    ids.shrink_to_fit();
    ids.index_all().map_err(|slot| duplicate(slot as usize))?;
    Ok(ids)
}

/// The metadata of the section's slots that are live in `ids` (entries were checked by
/// [`decode_ids`]; only the JSON is parsed here).
fn decode_docs(l: &Lazy, ids: &IdTable) -> Result<Docs> {
    let mut docs = Docs::default();
    for slot in 0..l.slots {
        let doc = match ids.is_live(slot as u32) {
            true => {
                entry_at(l, slot)?.and_then(|e| e.meta).map(|(at, m)| parse_doc(at, m).map(Box::new)).transpose()?
            }
            false => None,
        };
        docs.set(slot, doc);
    }
    docs.0.shrink_to_fit();
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Collection, CollectionConfig, Database, DatabaseConfig, Filter};

    const N: usize = 300;

    fn vector(i: usize) -> Vec<f32> {
        vec![i as f32, 1.0 + (i % 7) as f32, (i % 3) as f32]
    }

    fn meta(i: usize) -> Option<serde_json::Value> {
        (!i.is_multiple_of(4))
            .then(|| json!({"n": i, "even": i.is_multiple_of(2), "text": format!("word{} common", i % 5)}))
    }

    /// A saved file of `N` records (some without metadata, "v7" deleted).
    fn build(path: &std::path::Path) {
        let db = Database::open(path).unwrap();
        let c = db
            .create_collection_with_config(CollectionConfig::new("c", 3).with_index("flat").with_text_field("text"))
            .unwrap();
        let items: Vec<_> = (0..N).map(|i| (format!("v{i}"), vector(i), meta(i))).collect();
        c.insert_batch(&items).unwrap();
        c.delete("v7").unwrap();
        db.save().unwrap();
    }

    fn mapped(path: &std::path::Path, read_only: bool) -> Database {
        Database::open_with_config(path, DatabaseConfig::new().with_mmap_threshold(0).with_read_only(read_only))
            .unwrap()
    }

    /// The file of [`build`], opened mapped and read-only.
    fn built_read_only() -> (tempfile::TempDir, Database, Collection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.needle");
        build(&path);
        let db = mapped(&path, true);
        let c = db.collection("c").unwrap();
        (dir, db, c)
    }

    fn stages(c: &Collection) -> (bool, bool) {
        let st = c.shared.state.read();
        (st.records.ids.get().is_some(), st.records.meta_decoded())
    }

    fn even(c: &Collection) -> Vec<String> {
        let f = Filter::parse(&json!({"even": true})).unwrap();
        let mut ids: Vec<String> =
            c.search_with_filter(&vector(0), 1000, &f).unwrap().into_iter().map(|r| r.id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn an_id_lookup_of_a_mapped_file_decodes_ids_only() {
        let (_dir, _db, c) = built_read_only();
        assert_eq!(stages(&c), (false, false));
        // Search results read single entries.
        let hit = &c.search(&vector(10), 1).unwrap()[0];
        assert_eq!((hit.id.as_str(), &hit.metadata), ("v10", &meta(10)));
        assert_eq!(stages(&c), (false, false));
        let before = c.info().unwrap().memory_bytes;
        let got = c.get("v42").unwrap().unwrap();
        assert_eq!((got.vector, got.metadata), (vector(42), meta(42)));
        assert!(c.get("v7").unwrap().is_none() && c.contains("v8").unwrap() && !c.contains("nope").unwrap());
        assert_eq!(c.count().unwrap(), N - 1);
        assert_eq!(stages(&c), (true, false), "an id lookup must not build the metadata indexes");
        let with_ids = c.info().unwrap().memory_bytes;
        // Filters decode the rest.
        let want: Vec<String> = {
            let mut v: Vec<String> = (0..N)
                .filter(|&i| i != 7 && meta(i).is_some() && i.is_multiple_of(2))
                .map(|i| format!("v{i}"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(even(&c), want);
        assert_eq!(stages(&c), (true, true));
        let with_meta = c.info().unwrap().memory_bytes;
        assert!(before < with_ids && with_ids < with_meta, "{before} {with_ids} {with_meta}");
    }

    #[test]
    fn writes_before_the_metadata_is_decoded_are_in_its_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.needle");
        build(&path);
        let expected = |c: &Collection| {
            // 300 built, v7 deleted; new in, v2 and v8 out, v7 back.
            assert_eq!(c.count().unwrap(), N - 1);
            assert!(c.get("v2").unwrap().is_none() && c.get("v8").unwrap().is_none());
            assert_eq!(c.get("v7").unwrap().unwrap().metadata, None);
            assert_eq!(c.get("v4").unwrap().unwrap().metadata, Some(json!({"even": false})));
            assert_eq!(c.get("new").unwrap().unwrap().metadata, Some(json!({"even": true, "text": "fresh"})));
            let evens = even(c);
            assert!(evens.contains(&"new".to_string()) && evens.contains(&"v6".to_string()));
            assert!(!evens.iter().any(|id| id == "v2" || id == "v4" || id == "v8" || id == "gone"));
            #[cfg(feature = "hybrid")]
            {
                let text = c.text_search("fresh", 5, None).unwrap();
                assert_eq!(text.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec!["new"]);
                assert!(c.text_search("word2", 500, None).unwrap().iter().all(|h| h.id != "v2"));
            }
        };
        {
            let db = mapped(&path, false);
            let c = db.collection("c").unwrap();
            c.insert("new", &vector(1000), Some(json!({"even": true, "text": "fresh"}))).unwrap();
            c.insert("gone", &vector(1001), Some(json!({"even": true}))).unwrap();
            c.delete("gone").unwrap();
            c.delete("v2").unwrap();
            c.delete("v8").unwrap();
            c.upsert("v4", &vector(4), Some(json!({"even": false}))).unwrap();
            c.upsert("v7", &vector(7), None).unwrap();
            assert_eq!(stages(&c), (true, false));
            db.save().unwrap();
            expected(&c);
        }
        for m in [true, false] {
            let db = if m { mapped(&path, true) } else { Database::open(&path).unwrap() };
            expected(&db.collection("c").unwrap());
        }
        // Compaction keeps every live record.
        let db = mapped(&path, false);
        let c = db.collection("c").unwrap();
        let ids = c.ids().unwrap();
        c.compact().unwrap();
        assert_eq!(c.ids().unwrap(), ids);
        expected(&c);
    }

    #[test]
    fn damaged_metadata_fails_the_metadata_stage_and_every_later_call() {
        let (_dir, _db, c) = built_read_only();
        {
            // Corrupt one document in place, as if it had passed the checksum.
            let mut st = c.shared.state.write();
            let l = st.records.lazy.as_mut().unwrap();
            let mut b = l.section.data.to_vec();
            let at = b.windows(5).position(|w| w == b"\"n\":9").unwrap();
            b[at] = b'{';
            l.section.data = needle_core::format::SharedBytes::owned(b);
            l.section.verified = true;
        }
        assert!(c.get("v1").unwrap().is_some());
        let f = Filter::parse(&json!({"even": true})).unwrap();
        let corrupted = |e: needle_core::Error| assert!(matches!(e, needle_core::Error::Corrupted { .. }), "{e}");
        corrupted(c.search_with_filter(&vector(0), 5, &f).unwrap_err());
        corrupted(c.get("v1").unwrap_err());
        corrupted(c.search(&vector(0), 3).unwrap_err());
    }
}
