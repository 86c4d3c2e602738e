//! [`Records`]: the store of a collection's ids and metadata by slot, the id → slot index and the
//! metadata indexes — kept compact, and decoded from the file in stages, each only when first
//! needed. The bytes of the section are `codec.rs`'s job; this file decides when to decode and
//! keeps what was decoded in step with every write.
//!
//! Memory: ids live in an [`IdTable`] (one byte arena, an end offset per slot, a live bitset, a
//! table of slots; see `ids.rs`), and each slot's metadata is an `Option<Box<Value>>` (8 bytes
//! when absent, see `docs.rs`). Nothing stores an id twice.
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

mod codec;
mod docs;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::OnceLock;

use needle_core::format::LoadedSection;
use needle_core::{Error, Result};
use serde_json::Value;

pub(crate) use codec::{decode_list, Record};
use codec::{RawEntry, WHAT};
use docs::Docs;

use super::ids::IdTable;
use super::meta_index::MetaIndexes;

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

impl Lazy {
    fn bytes(&self) -> &[u8] {
        self.section.data.as_slice()
    }

    /// The entry of `slot`, read through the offsets table.
    fn entry(&self, slot: usize) -> Result<Option<RawEntry<'_>>> {
        codec::entry_at(self.bytes(), self.slots, slot)
    }

    /// The ids stage: verifies the section's checksum, then decodes the ids.
    fn decode_ids(&self) -> Result<IdTable> {
        if !self.section.verified && self.section.verify().is_err() {
            return Err(Error::corrupted(WHAT, 0, "checksum mismatch"));
        }
        codec::decode_ids(self.bytes(), self.slots, self.live)
    }

    /// The metadata stage's documents of the section's slots live in `ids`.
    fn decode_docs(&self, ids: &IdTable) -> Result<Docs> {
        codec::decode_docs(self.bytes(), self.slots, ids)
    }
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
        ids.index_all().map_err(|slot| codec::duplicate(slot as usize))?;
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
        codec::check_header(&section.data, slots, live)?;
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
        let ids = l.decode_ids().map_err(|e| at(l, e)).map_err(damage)?;
        let docs = l.decode_docs(&ids).map_err(|e| at(l, e)).map_err(damage)?;
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
            l.decode_ids().map_err(|e| at(l, e))
        });
        r.as_ref().map_err(|e| damage(e.clone()))
    }

    /// The metadata of every slot and the filter and text indexes (decoding now if not yet).
    pub fn meta(&self) -> Result<MetaView<'_>> {
        let ids = self.ids()?;
        let r = self.meta.get_or_init(|| {
            let l = self.lazy.as_ref().expect("records without metadata have a section");
            let docs = l.decode_docs(ids).map_err(|e| at(l, e))?;
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
            (_, Some(l)) => match l.entry(s)? {
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
        l.entry(s)?.and_then(|e| e.meta).map(|(at, m)| codec::parse_doc(at, m)).transpose()
    }

    /// The records section: the loaded one as it is while nothing was written, else encoded.
    pub fn encode(&self) -> Result<Cow<'_, [u8]>> {
        if let (Some(l), false) = (&self.lazy, self.changed) {
            return Ok(Cow::Borrowed(l.bytes()));
        }
        let section = codec::encode_section(self.ids()?, |slot| {
            Ok(match &self.lazy {
                // Undecoded metadata of the section is copied as it is.
                Some(l) if slot < l.slots && self.meta.get().is_none() => {
                    l.entry(slot)?.and_then(|e| e.meta).map(|(_, m)| Cow::Borrowed(m))
                }
                _ => self.doc(slot)?.map(|m| serde_json::to_vec(&m)).transpose()?.map(Cow::Owned),
            })
        })?;
        Ok(Cow::Owned(section))
    }

    /// Approximate heap bytes of what is decoded (the undecoded section is in the file's map).
    pub fn memory_bytes(&self) -> usize {
        let ids = self.ids.get().and_then(|r| r.as_ref().ok()).map_or(0, IdTable::memory_bytes);
        let meta = self.meta.get().and_then(|r| r.as_ref().ok());
        ids + self.tail.memory_bytes() + meta.map_or(0, |m| m.docs.memory_bytes() + m.indexes.memory_bytes())
    }
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
