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
//! * the filter and text indexes ([`Records::meta`]) the first time a filter, a text or hybrid
//!   query or a rebuild needs them, parsing every live slot's metadata once. Writes made before
//!   that keep their metadata in memory (`tail`) and only tombstone ids, so the indexes, when
//!   built, are exactly those of the live records.
//!
//! The section's metadata documents are never kept beyond that: a document is parsed from the
//! section when a call needs it and held in the database's [`DocCache`] (`cache.rs`), which
//! evicts to stay within `DatabaseConfig::cache_size`. The section never changes while mapped,
//! so an evicted document is parsed again from the same bytes.
//!
//! A damaged section is a `corrupted` error from the call that finds it and from every later call
//! (the failed stage is remembered), never a panic.

mod cache;
#[cfg(test)]
mod cache_tests;
mod codec;
mod docs;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use needle_core::format::LoadedSection;
use needle_core::{Error, Result};
use serde_json::Value;

pub(crate) use cache::DocCache;
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
    /// The database's cache of parsed documents, and this section's key in it.
    cache: Arc<DocCache>,
    owner: u64,
}

impl Drop for Lazy {
    fn drop(&mut self) {
        self.cache.forget(self.owner);
    }
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

    /// Every document of the section's slots live in `ids` (a file read into memory).
    fn decode_docs(&self, ids: &IdTable) -> Result<Docs> {
        codec::decode_docs(self.bytes(), self.slots, ids)
    }

    /// The document stored for `slot` (a slot of the section; liveness is the caller's check),
    /// parsed as it is stored.
    fn parse_doc(&self, slot: usize) -> Result<Option<Value>> {
        self.entry(slot)?.and_then(|e| e.meta).map(|(at, m)| codec::parse_doc(at, m)).transpose()
    }

    /// [`Lazy::parse_doc`] through the cache: a cached copy, or parsed now and cached.
    fn doc(&self, slot: usize) -> Result<Option<Arc<Value>>> {
        if let Some(d) = self.cache.get(self.owner, slot as u32) {
            return Ok(Some(d));
        }
        let Some(d) = self.parse_doc(slot).map_err(|e| damage(at(self, e)))? else { return Ok(None) };
        let d = Arc::new(d);
        self.cache.insert(self.owner, slot as u32, d.clone());
        Ok(Some(d))
    }
}

/// A document as a reader holds it: borrowed from the records (written since load), or a shared
/// copy the cache may evict meanwhile without freeing it.
#[derive(Debug)]
pub(crate) enum DocRef<'a> {
    Borrowed(&'a Value),
    Shared(Arc<Value>),
}

impl Deref for DocRef<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            DocRef::Borrowed(v) => v,
            DocRef::Shared(v) => v,
        }
    }
}

impl DocRef<'_> {
    /// The document as an owned value.
    pub fn to_value(&self) -> Value {
        Value::clone(self)
    }
}

/// The metadata stage: the indexes over every live slot.
#[derive(Debug)]
struct Meta {
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
    records: &'a Records,
}

impl<'a> MetaView<'a> {
    /// The metadata of `slot` (None: none, or not live). A `corrupted` error only if the
    /// section's bytes changed since they were parsed for the indexes.
    pub fn doc(&self, slot: u32) -> Result<Option<DocRef<'a>>> {
        self.records.doc_ref(slot)
    }
}

impl Records {
    /// The records of a new, empty collection; `text_field` as in [`MetaIndexes::new`].
    pub fn empty(text_field: Option<&str>) -> Records {
        Records {
            lazy: None,
            ids: OnceLock::from(Ok(IdTable::new())),
            meta: OnceLock::from(Ok(Meta { indexes: MetaIndexes::new(text_field) })),
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
            meta: OnceLock::from(Ok(Meta { indexes })),
            tail,
            changed: true,
            text_field: text_field.map(str::to_string),
        })
    }

    /// Records to decode from `section` (format 2) when first needed. Checks the header (slot
    /// count and offsets table fit) now; `live` is the catalog's live count, used until decoding.
    /// Parsed documents are kept in `cache`.
    pub fn lazy(
        section: LoadedSection,
        slots: usize,
        live: usize,
        text_field: Option<&str>,
        cache: Arc<DocCache>,
    ) -> Result<Records> {
        codec::check_header(&section.data, slots, live)?;
        Ok(Records {
            lazy: Some(Lazy { section, slots, live, cache, owner: DocCache::new_owner() }),
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
            meta: OnceLock::from(Ok(Meta { indexes })),
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

    /// The filter and text indexes, and the metadata of every slot (building the indexes now if
    /// not yet: every live document is parsed once, and kept while the cache has room).
    pub fn meta(&self) -> Result<MetaView<'_>> {
        let ids = self.ids()?;
        let r = self.meta.get_or_init(|| {
            let l = self.lazy.as_ref().expect("records without metadata have a section");
            let mut indexes = MetaIndexes::new(self.text_field.as_deref());
            for s in ids.live_slots() {
                match (s as usize).checked_sub(l.slots) {
                    Some(t) => indexes.insert(s, self.tail.get(t)),
                    None => {
                        let doc = l.parse_doc(s as usize).map_err(|e| at(l, e))?.map(Arc::new);
                        if let Some(d) = &doc {
                            l.cache.offer(l.owner, s, d);
                        }
                        indexes.insert(s, doc.as_deref());
                    }
                }
            }
            Ok(Meta { indexes })
        });
        let m = r.as_ref().map_err(|e| damage(e.clone()))?;
        Ok(MetaView { indexes: &m.indexes, records: self })
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
        if !self.ids()?.is_live(slot) {
            return Ok(());
        }
        let (s, base) = (slot as usize, self.base());
        let indexed = matches!(self.meta.get(), Some(Ok(_)));
        // A section slot's document, read before anything changes (the indexes must forget it;
        // undecoded metadata needs nothing: the decode skips slots that are not live).
        let section_doc = match &self.lazy {
            Some(l) if s < base && indexed => l.doc(s)?,
            _ => None,
        };
        self.ids_mut()?.kill(slot);
        let tail_doc = s.checked_sub(base).and_then(|t| self.tail.take(t));
        if let Some(l) = self.lazy.as_ref().filter(|_| s < base) {
            l.cache.remove(l.owner, slot);
        }
        if let Some(Ok(m)) = self.meta.get_mut() {
            m.indexes.remove(slot, tail_doc.as_deref().or(section_doc.as_deref()));
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
        Ok(self.doc_ref(s as u32)?.map(|d| d.to_value()))
    }

    /// The metadata of `slot` (None: none, or known not to be live): written since load, or the
    /// section's, through the cache.
    fn doc_ref(&self, slot: u32) -> Result<Option<DocRef<'_>>> {
        let s = slot as usize;
        let Some(l) = self.lazy.as_ref().filter(|l| s < l.slots) else {
            return Ok(s.checked_sub(self.base()).and_then(|t| self.tail.get(t)).map(DocRef::Borrowed));
        };
        if self.ids.get().and_then(|r| r.as_ref().ok()).is_some_and(|ids| !ids.is_live(slot)) {
            return Ok(None);
        }
        Ok(l.doc(s)?.map(DocRef::Shared))
    }

    /// The records section: the loaded one as it is while nothing was written, else encoded.
    pub fn encode(&self) -> Result<Cow<'_, [u8]>> {
        if let (Some(l), false) = (&self.lazy, self.changed) {
            return Ok(Cow::Borrowed(l.bytes()));
        }
        let section = codec::encode_section(self.ids()?, |slot| {
            Ok(match &self.lazy {
                // The section's metadata never changes while it is loaded: copied as it is.
                Some(l) if slot < l.slots => l.entry(slot)?.and_then(|e| e.meta).map(|(_, m)| Cow::Borrowed(m)),
                _ => self.doc(slot)?.map(|m| serde_json::to_vec(&m)).transpose()?.map(Cow::Owned),
            })
        })?;
        Ok(Cow::Owned(section))
    }

    /// Approximate heap bytes of what is decoded (the undecoded section is in the file's map),
    /// this section's share of the document cache included.
    pub fn memory_bytes(&self) -> usize {
        let ids = self.ids.get().and_then(|r| r.as_ref().ok()).map_or(0, IdTable::memory_bytes);
        let meta = self.meta.get().and_then(|r| r.as_ref().ok());
        let cached = self.lazy.as_ref().map_or(0, |l| l.cache.owner_bytes(l.owner));
        ids + self.tail.memory_bytes() + meta.map_or(0, |m| m.indexes.memory_bytes()) + cached
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
